package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// Route says how to find the session of one transport's requests.
type Route struct {
	// SID returns the session id a request names, or "" for none
	// (session creation, a WebSocket, a preflight). body is the request
	// body of a POST, nil otherwise. BOSHSID and JSONSID are the
	// transports'.
	SID func(r *http.Request, body []byte) string
	// MaxBodyBytes is the transport's own body limit. A longer body is
	// not looked into: the request goes to the local transport, which
	// refuses it as it always does. Zero means 1 MiB.
	MaxBodyBytes int
	// ReadTimeout bounds reading a body, as the transport's own does.
	// Zero means 10 seconds.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the owner's answer to the client, as
	// the transport's own does (not for event streams). Zero means 10
	// seconds.
	WriteTimeout time.Duration
	// HoldTimeout bounds the wait for the owner's answer to begin: the
	// transport's longest hold plus a margin. An owner that says nothing
	// for longer counts as unreachable. Zero means 2 minutes.
	HoldTimeout time.Duration
}

// Handler returns next behind the cluster: requests of sessions of another
// node are forwarded to it, everything else goes to next, with the body
// read by then still to be read.
func (c *Cluster) Handler(next http.Handler, route Route) http.Handler {
	if route.ReadTimeout <= 0 {
		route.ReadTimeout = 10 * time.Second
	}
	if route.WriteTimeout <= 0 {
		route.WriteTimeout = 10 * time.Second
	}
	if route.HoldTimeout <= 0 {
		route.HoldTimeout = 2 * time.Minute
	}
	if route.MaxBodyBytes <= 0 {
		route.MaxBodyBytes = 1 << 20
	}
	return &handler{c: c, next: next, route: route}
}

type handler struct {
	c     *Cluster
	next  http.Handler
	route Route
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(ForwardedHeader) != "" || (r.Method != http.MethodPost && r.Method != http.MethodGet) {
		h.next.ServeHTTP(w, r)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		var ok bool
		body, ok = h.readBody(w, r)
		if !ok {
			h.next.ServeHTTP(w, r)
			return
		}
	}
	owner := Owner(h.route.SID(r, body))
	peer := h.c.peers[owner]
	if peer == nil {
		// Ours, or a node nobody knows: the transport answers.
		h.next.ServeHTTP(w, r)
		return
	}
	h.forward(w, r, owner, body)
}

// readBody reads a POST body whole, under the transport's limit and
// deadline, and leaves r.Body reading it again. ok is false when the body
// was over the limit or could not be read: r.Body then gives what was read
// followed by the rest, or the error, so that the transport refuses the
// request in its own words.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	max := h.route.MaxBodyBytes
	if r.ContentLength > int64(max) {
		return nil, false
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(h.route.ReadTimeout))
	n := 512
	if r.ContentLength > 0 {
		n = int(r.ContentLength) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(n, max+1)))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, int64(max)+1))
	body = buf.Bytes()
	rest := r.Body
	if err != nil {
		rest = io.NopCloser(errReader{err})
	}
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), r.Body}
	if err != nil || len(body) > max {
		return nil, false
	}
	// A request held later must not trip over this deadline.
	_ = rc.SetReadDeadline(time.Time{})
	return body, true
}

// probe checks every ProbeInterval, until stop is called, that p is
// reachable, and calls cancel when it is not.
func (h *handler) probe(p *peer, cancel func()) (stop func()) {
	every := h.c.cfg.ProbeInterval
	if every < 0 {
		return func() {}
	}
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	t = time.AfterFunc(every, func() {
		if !h.c.reachable(p) {
			cancel()
			return
		}
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	})
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type readCloser struct {
	io.Reader
	io.Closer
}

// forward serves r by the owner's answer; when the owner cannot be reached,
// by next, which holds no such session and says so in its protocol.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, owner string, body []byte) {
	pr := h.c.peers[owner]
	peer := pr.url
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Until the owner's answer begins: a held request waits at most the
	// transport's longest hold there, and only while the owner answers
	// probes.
	silent := time.AfterFunc(h.route.HoldTimeout, cancel)
	defer silent.Stop()
	stopProbes := h.probe(pr, cancel)
	defer stopProbes()
	var failed error
	p := &httputil.ReverseProxy{
		Transport:     h.c.transport,
		BufferPool:    copyBuffers,
		FlushInterval: -1, // event streams go out as they come
		Director: func(out *http.Request) {
			out.URL.Scheme = peer.Scheme
			out.URL.Host = peer.Host
			// out.Host stays the client's, for the owner's Origin rule.
			out.Header.Set(ForwardedHeader, h.c.cfg.Node)
			if body != nil {
				out.Body = io.NopCloser(bytes.NewReader(body))
				out.ContentLength = int64(len(body))
				out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			stopProbes()
			if !silent.Stop() {
				return errors.New("cluster: the owner answered too late")
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.route.WriteTimeout))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			failed = err
		},
	}
	p.ServeHTTP(w, r.WithContext(ctx))
	if h.c.cfg.OnForward != nil {
		h.c.cfg.OnForward(r, owner, failed)
	}
	if failed == nil || r.Context().Err() != nil {
		return
	}
	// Nothing was written: the client hears from its own transport here.
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	h.next.ServeHTTP(w, r)
}

// copyBuffers lends the buffers answers are copied through: without them,
// every forwarded request would allocate 32 KiB.
var copyBuffers = &bufferPool{sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) Get() []byte  { return *bp.p.Get().(*[]byte) }
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }
