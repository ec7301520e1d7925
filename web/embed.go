// Package web holds the page: static HTML, CSS and JavaScript modules
// embedded in the binary, with no build step.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Static serves the files under static/ (the caller strips its prefix).
func Static() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return http.FileServer(http.FS(sub))
}

// Page returns one of the HTML pages in static/.
func Page(name string) ([]byte, error) {
	return files.ReadFile("static/" + name)
}
