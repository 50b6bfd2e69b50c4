package message

import "strings"

// Covers reports whether the valid pattern cover matches every topic the
// valid pattern p matches: a grant of cover allows a subscription to p.
// It never allows more than the grant: "stocks.*" covers "stocks.AAPL",
// but "stocks.AAPL" does not cover "stocks.>", which is refused rather
// than narrowed.
//
// It is exact over the token limit (a ">" in the last of MaxTopicTokens
// places stands for one token only); the byte limit it ignores, which can
// only make it refuse a cover that would hold because the topics it
// misses are too long to exist. It does not allocate.
func Covers(cover, p string) bool {
	for n := 1; ; n++ {
		ctok, crest, cmore := strings.Cut(cover, ".")
		ptok, prest, pmore := strings.Cut(p, ".")
		if ctok == ">" {
			return true // p has a token left here, and so does each topic it matches
		}
		if ptok == ">" && n < MaxTopicTokens {
			return false // p matches topics of every length from here on; cover of one
		}
		// ptok stands for one token: a literal, "*", or a last-place ">".
		if ctok != "*" && (ctok != ptok || ptok == ">") {
			return false
		}
		if cmore != pmore {
			return false
		}
		if !cmore {
			return true
		}
		cover, p = crest, prest
	}
}

// CoveredBy reports whether one of covers covers p.
func CoveredBy(covers []string, p string) bool {
	for _, c := range covers {
		if Covers(c, p) {
			return true
		}
	}
	return false
}
