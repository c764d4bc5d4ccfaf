package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		bodyHas            string
	}{
		{"index at root", "GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"index by name", "GET", "/index.html", 200, "text/html; charset=utf-8", `id="login-form"`},
		{"app module", "GET", "/app.js", 200, "text/javascript; charset=utf-8", "from './xmppbridge.js'"},
		{"client module", "GET", "/xmppbridge.js", 200, "text/javascript; charset=utf-8", "export class Client"},
		{"style", "GET", "/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"head", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"unknown file", "GET", "/favicon.ico", 404, "text/plain; charset=utf-8", "not found"},
		{"no directory listing", "GET", "/test/", 404, "text/plain; charset=utf-8", "not found"},
		{"tests not served", "GET", "/test/client.test.mjs", 404, "text/plain; charset=utf-8", "not found"},
		{"go source not served", "GET", "/embed.go", 404, "text/plain; charset=utf-8", "not found"},
		{"post", "POST", "/", 405, "text/plain; charset=utf-8", "method not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Errorf("body does not contain %q:\n%.300s", tc.bodyHas, rec.Body)
			}
			if tc.status == 200 {
				if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
					t.Errorf("Cache-Control %q, want no-cache", got)
				}
				if rec.Header().Get("ETag") == "" {
					t.Error("no ETag")
				}
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/xmppbridge.js", nil))
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/xmppbridge.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("status %d for a current ETag, want 304", rec.Code)
	}
}

func ExampleHandler() {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/xmppbridge.js")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	// Output: 200 text/javascript; charset=utf-8
}
