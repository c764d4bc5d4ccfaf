package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed index.html app.js style.css xmppbridge.js
var files embed.FS

// contentTypes are the types of the embedded files, by extension. JavaScript
// modules must come as JavaScript, whatever the machine's MIME table says.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// csp keeps the page to its own files, and its connections to its own
// origin, where the API is: the page sends the user's password there, and
// nowhere else (app.js ignores a ?url= on another origin). In current
// browsers 'self' covers ws: and wss: to the same host and port too (CSP
// Level 3).
const csp = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	name        string
	data        []byte
	contentType string
	etag        string
}

// Handler serves the demo page at "/" and its files beside it
// ("/app.js", "/xmppbridge.js", "/style.css"), for GET and HEAD. Every
// answer says Cache-Control: no-cache (revalidated with the ETag), so a
// browser never runs an old copy after an upgrade. Any other path is a
// plain-text 404; there are no directory listings.
func Handler() http.Handler {
	byPath := map[string]*file{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("web: " + err.Error()) // the embedded files are part of the binary
	}
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			panic("web: " + err.Error())
		}
		sum := sha256.Sum256(data)
		f := &file{
			name:        e.Name(),
			data:        data,
			contentType: contentTypes[path.Ext(e.Name())],
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		}
		byPath["/"+e.Name()] = f
	}
	byPath["/"] = byPath["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := byPath[r.URL.Path]
		if !ok {
			plain(w, http.StatusNotFound, "web: not found: "+r.URL.Path)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			plain(w, http.StatusMethodNotAllowed, "web: method not allowed: "+r.Method)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(f.name, ".html") {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
		}
		// ServeContent answers If-None-Match, Range and HEAD.
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.data))
	})
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
