// Package static holds the browser side of Tickerd, built into the binary:
// the demo page, the client and widget scripts, their CSS.
package static

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed files
var files embed.FS

// FS is the embedded files, rooted at the site root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "files")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Handler serves the files, revalidated on every load so a new binary's
// scripts reach browsers at once.
func Handler() http.Handler {
	fsrv := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
