package feed

import (
	"strconv"
	"unicode/utf8"
)

// The stock feed encodes ~100 quotes a second, so a quote is written with
// strconv into one exactly-sized buffer rather than through reflection.
// Money is kept in integer cents from the moment it is rounded, so the
// decimals on the wire are exact: no 189.32000000000002.

// quoteJSON is one quote as it goes on the wire; money is in cents and
// changePct in hundredths of a percent.
type quoteJSON struct {
	symbol, name                      string
	price, prevClose, change          int64
	changePct                         int64
	bid, ask, high, low, open, volume int64
}

// appendQuote appends q as a JSON object.
func appendQuote(b []byte, q *quoteJSON) []byte {
	b = append(b, `{"symbol":`...)
	b = appendString(b, q.symbol)
	b = append(b, `,"name":`...)
	b = appendString(b, q.name)
	b = append(b, `,"price":`...)
	b = appendCents(b, q.price)
	b = append(b, `,"prev_close":`...)
	b = appendCents(b, q.prevClose)
	b = append(b, `,"change":`...)
	b = appendCents(b, q.change)
	b = append(b, `,"change_pct":`...)
	b = appendCents(b, q.changePct)
	b = append(b, `,"bid":`...)
	b = appendCents(b, q.bid)
	b = append(b, `,"ask":`...)
	b = appendCents(b, q.ask)
	b = append(b, `,"volume":`...)
	b = strconv.AppendInt(b, q.volume, 10)
	b = append(b, `,"high":`...)
	b = appendCents(b, q.high)
	b = append(b, `,"low":`...)
	b = appendCents(b, q.low)
	b = append(b, `,"open":`...)
	b = appendCents(b, q.open)
	return append(b, '}')
}

// appendCents appends c hundredths as a decimal with two places: 18932 is
// "189.32", -41 is "-0.41", 5 is "0.05".
func appendCents(b []byte, c int64) []byte {
	u := uint64(c)
	if c < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	frac := u % 100
	return append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// appendString appends s as a JSON string. Quotes, backslashes and control
// characters are escaped; invalid UTF-8 becomes U+FFFD, as encoding/json
// does, so the output is always valid JSON.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
