package bosh

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/xmppbridge/xmppbridge/internal/bufpool"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
)

// defaultContentType is the Content-Type of every response unless the
// session creation request asked for another (XEP-0124 §7.1 'content').
const defaultContentType = "text/xml; charset=utf-8"

// gzipMinBytes is the smallest body worth compressing: below it the gzip
// header and trailer eat most of the gain.
const gzipMinBytes = 1024

// write sends an answer given at once, within WriteTimeout.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, resp httphold.Response) {
	httphold.Reply(w, r, resp, h.cfg.WriteTimeout)
}

// response is an answer with BOSH's headers: Content-Type (contentType, ""
// the default), no caching, and the body gzipped when gzip (the client
// accepts it) and it is worth it. CORS headers are set on the
// ResponseWriter before, for every answer of the request.
func (h *Handler) response(status int, body []byte, contentType string, gzip bool) httphold.Response {
	if contentType == "" {
		contentType = defaultContentType
	}
	hd := http.Header{
		"Content-Type":           {contentType},
		"Cache-Control":          {"no-store"},
		"X-Content-Type-Options": {"nosniff"},
	}
	if len(body) >= gzipMinBytes {
		hd["Vary"] = []string{"Origin", "Accept-Encoding"}
		if gzip {
			zb := compress(body)
			body = append([]byte(nil), zb.Bytes()...) // kept, or written later
			putZipBuffer(zb)
			hd["Content-Encoding"] = []string{"gzip"}
		}
	}
	return httphold.Response{Status: status, Header: hd, Body: body}
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
	if zb.Cap() > bufpool.MaxKept {
		return
	}
	zipBuffers.Put(zb)
}
