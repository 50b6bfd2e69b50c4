package bench

// CheckLimits tells, without opening anything, whether a run with these
// options would fit the open-file limits: nil, or a *LimitError (which
// wraps ErrLimit). Run checks the same first.
func CheckLimits(o Options) error {
	o = o.withDefaults()
	return checkLimits(o.Subscribers, o.mode())
}
