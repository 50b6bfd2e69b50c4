package poll

// SessionOnly makes h serve every poll with a session, as before polls
// were answered from the ring, so that tests compare the two.
func SessionOnly(h *Handler) { h.session = true }
