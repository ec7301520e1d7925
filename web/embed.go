// Package web holds the page: static HTML, CSS and JavaScript modules
// embedded in the binary, with no build step.
//
// static/index.html is the grid of every camera and static/camera.html the
// view of one; both load ES modules from /static/ (see README.md).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Static serves the files under static/ (the caller strips its prefix).
// Responses carry Cache-Control: no-cache: embedded files have no
// modification time, so without it a browser could keep running the modules
// of an older build after the gateway is upgraded.
func Static() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	fsrv := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// Page returns one of the HTML pages in static/.
func Page(name string) ([]byte, error) {
	return files.ReadFile("static/" + name)
}
