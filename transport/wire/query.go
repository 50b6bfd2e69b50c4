package wire

import (
	"net/url"
	"strings"
)

// A request's query is read from URL.RawQuery, never through url.Values:
// url.ParseQuery drops a pair whose escapes are bad, so `cursor=%%%` would
// read as no cursor at all, and it splits the whole query before anything
// can be refused. Here each parser scans the raw query for the one
// parameter it reads and decodes only that value, so a mangled value is
// refused with its parameter's code, and parameters the protocol does not
// name are never decoded (whatever they hold). A key with a bad escape is
// bad_request wherever it is, since it might have been a key we read.

// QueryParam returns the first value of key in a raw query (URL.RawQuery),
// unescaped; "" when absent. A bad percent-escape in that value, or in any
// key, is bad_request.
func QueryParam(rawQuery, key string) (string, error) {
	raw, err := param(rawQuery, key)
	if err != nil {
		return "", err
	}
	v, ok := unescape(raw)
	if !ok {
		return "", badEscape(ErrBadRequest, key, raw)
	}
	return v, nil
}

// param returns the first value of key in rawQuery, still escaped. It
// reads every key, in one pass.
func param(rawQuery, key string) (string, error) {
	var val string
	found := false
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		rawKey, v, _ := strings.Cut(pair, "=")
		k, ok := unescape(rawKey)
		if !ok {
			return "", ErrBadRequest.With("bad percent-escape in a query parameter's name: " + quote(rawKey))
		}
		if !found && k == key {
			val, found = v, true
		}
	}
	return val, nil
}

// unescape decodes a query value or key ('+' is a space); ok is false for
// a bad percent-escape.
func unescape(s string) (_ string, ok bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	d, err := url.QueryUnescape(s)
	return d, err == nil
}

// badEscape is row's error for a bad percent-escape in parameter key.
func badEscape(row *Error, key, raw string) error {
	return row.With("bad percent-escape in " + quote(key) + ": " + quote(raw))
}
