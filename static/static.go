// Package static holds the browser side of Tickerd, built into the binary:
// the client (ticker.js), the widget (ticker-widget.js), the demo page and
// its CSS, served at the site root.
package static

import (
	"embed"
	"net/http"
)

//go:embed *.html *.css *.js
var files embed.FS

// Handler serves the files, revalidated on every load so a new binary's
// scripts reach browsers at once.
func Handler() http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
