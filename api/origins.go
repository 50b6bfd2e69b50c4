package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/cors"
)

// origins are the browser origins --allowed-origins lists. None listed (or
// "*" among them) allows any origin, but then without credentials: a page
// on any site could otherwise read, with the visitor's cookie, what the
// visitor may read.
type origins struct {
	any      bool
	exact    []string
	wildcard [][2]string // prefix, suffix
}

func newOrigins(list []string) origins {
	var o origins
	o.any = len(list) == 0 || slices.Contains(list, "*")
	for _, s := range list {
		s = strings.ToLower(s)
		if pre, suf, ok := strings.Cut(s, "*"); ok {
			o.wildcard = append(o.wildcard, [2]string{pre, suf})
		} else {
			o.exact = append(o.exact, s)
		}
	}
	return o
}

// listed reports whether origin is one the list names, as CORS matches
// it: whole, or around the pattern's one "*". With any origin allowed,
// none is listed.
func (o origins) listed(origin string) bool {
	if o.any {
		return false
	}
	origin = strings.ToLower(origin)
	if slices.Contains(o.exact, origin) {
		return true
	}
	for _, w := range o.wildcard {
		if len(origin) >= len(w[0])+len(w[1]) && strings.HasPrefix(origin, w[0]) && strings.HasSuffix(origin, w[1]) {
			return true
		}
	}
	return false
}

// cors answers CORS preflights and marks responses readable: by any
// origin with "*" and no credentials by default; by the listed origins
// only, echoed, with credentials, when some are listed.
func (o origins) cors() func(http.Handler) http.Handler {
	opts := cors.Options{
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodOptions},
		// Authorization: a page's fetch may send its token in a header.
		AllowedHeaders: []string{"Authorization", "Last-Event-ID", "Cache-Control", "Content-Type"},
		MaxAge:         600,
	}
	if o.any {
		opts.AllowedOrigins = []string{"*"}
	} else {
		opts.AllowOriginFunc = func(_ *http.Request, origin string) bool { return o.listed(origin) }
		opts.AllowCredentials = true
	}
	return cors.Handler(opts)
}

// credentials drops the token cookie from a request a page of another,
// unlisted origin makes: a browser sends a site's cookies with requests
// any page makes to it, and a WebSocket, unlike fetch, is not held back by
// CORS. A request without Origin (not from a page), from a page of the
// gateway's own host, or from a listed origin keeps it. Tokens in the
// Authorization header or the query are the page's own and stay.
func (o origins) credentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin, sent := r.Header["Origin"]
		if sent && len(r.Header["Cookie"]) > 0 && !o.listed(origin[0]) && !sameHost(origin[0], r.Host) {
			dropCookie(r, TokenCookie)
		}
		next.ServeHTTP(w, r)
	})
}

// sameHost reports whether origin names host, as the WebSocket origin
// check takes a page of the gateway's own.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// dropCookie removes the cookies named name from r.
func dropCookie(r *http.Request, name string) {
	all := r.Cookies()
	kept := slices.DeleteFunc(slices.Clone(all), func(c *http.Cookie) bool { return c.Name == name })
	if len(kept) == len(all) {
		return
	}
	r.Header.Del("Cookie")
	for _, c := range kept {
		r.AddCookie(c)
	}
}
