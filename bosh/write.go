package bosh

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultContentType is the Content-Type of every response unless the
// session creation request asked for another (XEP-0124 §7.1 'content').
const defaultContentType = "text/xml; charset=utf-8"

// gzipMinBytes is the smallest body worth compressing: below it the gzip
// header and trailer eat most of the gain.
const gzipMinBytes = 1024

// write sends one response within WriteTimeout. contentType "" means the
// default.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, body []byte, contentType string) {
	if contentType == "" {
		contentType = defaultContentType
	}
	hd := w.Header()
	h.cors(hd, r)
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")

	out := body
	var zb *bytes.Buffer
	if len(body) >= gzipMinBytes {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			zb = compress(body)
			out = zb.Bytes()
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Length", strconv.Itoa(len(out)))
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	w.WriteHeader(status)
	_, _ = w.Write(out)
	if zb != nil {
		putZipBuffer(zb)
	}
}

// acceptsGzip reports whether Accept-Encoding allows gzip (RFC 9110
// §12.5.3): listed with a non-zero weight, or "*" with one and gzip not
// refused.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			ok := nonZeroWeight(params)
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				return ok
			case coding == "*":
				star = ok
			}
		}
	}
	return star
}

func nonZeroWeight(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

var (
	gzipWriters = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return zw
	}}
	zipBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// compress gzips body into a pooled buffer.
func compress(body []byte) *bytes.Buffer {
	zb := zipBuffers.Get().(*bytes.Buffer)
	zb.Reset()
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(zb)
	_, _ = zw.Write(body)
	_ = zw.Close()
	zw.Reset(nil)
	gzipWriters.Put(zw)
	return zb
}

func putZipBuffer(zb *bytes.Buffer) {
	if zb.Cap() > maxPooled {
		return
	}
	zipBuffers.Put(zb)
}
