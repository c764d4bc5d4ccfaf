package httphold

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server serves handler from a Listener of this package (or, with plain, as
// net/http does by itself).
func server(t *testing.T, plain bool, idle time.Duration, handler http.HandlerFunc) (addr string, l *Listener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	if !plain {
		l = Attach(srv.Config, srv.Listener, idle)
		srv.Listener = l
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), l
}

// holder holds every request and answers it when told.
type holder struct {
	mu    sync.Mutex
	held  []*Held
	gone  chan struct{}
	ready chan struct{}
}

func newHolder() *holder {
	return &holder{gone: make(chan struct{}, 16), ready: make(chan struct{}, 16)}
}

func (h *holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Access-Control-Allow-Origin", "https://page.example")
	held := Hold(w, r, Options{OnGone: func() { h.gone <- struct{}{} }})
	h.mu.Lock()
	h.held = append(h.held, held)
	h.mu.Unlock()
	h.ready <- struct{}{}
	held.Wait()
}

func (h *holder) answerAll(body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, held := range h.held {
		held.Answer(Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(body)})
	}
	h.held = nil
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
}

// rawClient sends requests on one connection and reads the answers.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) post(body string) {
	rc.t.Helper()
	req := "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := rc.c.Write([]byte(req)); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawClient) read() *http.Response {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("reading the answer: %v", err)
	}
	return res
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHeldTakenOverAndKeptAlive(t *testing.T) {
	h := newHolder()
	addr, l := server(t, false, time.Minute, h.ServeHTTP)
	c := dial(t, addr)
	for i, want := range []string{"one", "two", "three"} {
		c.post("x")
		waitFor(t, h.ready, "held request")
		time.Sleep(10 * time.Millisecond) // let Wait hand over
		if held, _ := l.Counts(); held != 1 {
			t.Fatalf("request %d: %d held, want the one taken over", i, held)
		}
		h.answerAll(want)
		res := c.read()
		if got := body(t, res); res.StatusCode != 200 || got != want ||
			res.Header.Get("Access-Control-Allow-Origin") != "https://page.example" || res.Header.Get("Content-Type") != "text/plain" || res.Close {
			t.Fatalf("answer %d: %d %q %v close=%v", i, res.StatusCode, got, res.Header, res.Close)
		}
	}
}

// An answer given at once (Reply) is written on the connection taken
// over, which then waits parked for the next request rather than in
// net/http.
func TestReplyParksTheConnection(t *testing.T) {
	addr, l := server(t, false, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		Reply(w, r, Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("now")}, time.Second)
	})
	c := dial(t, addr)
	for i := range 3 {
		c.post("x")
		res := c.read()
		if got := body(t, res); res.StatusCode != 200 || got != "now" || res.Close {
			t.Fatalf("answer %d: %d %q close=%v", i, res.StatusCode, got, res.Close)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if held, parked := l.Counts(); held == 0 && parked == 1 {
				break
			}
			if time.Now().After(deadline) {
				held, parked := l.Counts()
				t.Fatalf("after answer %d: %d held, %d parked; want the connection parked", i, held, parked)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestHeldClientGone(t *testing.T) {
	h := newHolder()
	addr, l := server(t, false, time.Minute, h.ServeHTTP)
	c := dial(t, addr)
	c.post("x")
	waitFor(t, h.ready, "held request")
	c.c.Close()
	waitFor(t, h.gone, "OnGone")
	h.answerAll("late")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if held, parked := l.Counts(); held == 0 && parked == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection was kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHeldFallback(t *testing.T) {
	for _, tt := range []struct {
		name  string
		plain bool
	}{{"server without the Listener", true}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHolder()
			addr, _ := server(t, tt.plain, time.Minute, h.ServeHTTP)
			done := make(chan string, 1)
			go func() {
				res, err := http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("x"))
				if err != nil {
					done <- err.Error()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				done <- res.Header.Get("Access-Control-Allow-Origin") + " " + string(b)
			}()
			waitFor(t, h.ready, "held request")
			h.answerAll("fallback")
			if got := <-done; got != "https://page.example fallback" {
				t.Fatalf("answer %q", got)
			}
		})
	}
}

func TestParkedIdleTimeout(t *testing.T) {
	h := newHolder()
	addr, l := server(t, false, 100*time.Millisecond, h.ServeHTTP)
	c := dial(t, addr)
	c.post("x")
	waitFor(t, h.ready, "held request")
	time.Sleep(10 * time.Millisecond)
	h.answerAll("ok")
	body(t, c.read())
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the idle timeout: %v, want EOF", err)
	}
	if held, parked := l.Counts(); held != 0 || parked != 0 {
		t.Fatalf("counts %d %d after the idle timeout", held, parked)
	}
}

// A Listener closed while a request is held: the answer goes out and the
// connection closes; parked connections close at once.
func TestListenerClose(t *testing.T) {
	h := newHolder()
	addr, l := server(t, false, time.Minute, h.ServeHTTP)
	idle := dial(t, addr)
	idle.post("x")
	waitFor(t, h.ready, "held request")
	time.Sleep(10 * time.Millisecond)
	h.answerAll("first")
	body(t, idle.read())
	busy := dial(t, addr)
	busy.post("y")
	waitFor(t, h.ready, "held request")
	time.Sleep(10 * time.Millisecond)

	l.Close()
	idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Fatalf("parked connection after Close: %v, want EOF", err)
	}
	h.answerAll("last")
	res := busy.read()
	if got := body(t, res); got != "last" || !res.Close {
		t.Fatalf("held answer after Close: %q close=%v", got, res.Close)
	}
}

func TestStream(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "taken over", true: "net/http"}[plain], func(t *testing.T) {
			streams := make(chan *Stream, 1)
			gone := make(chan struct{}, 1)
			addr, l := server(t, plain, time.Minute, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Access-Control-Allow-Origin", "https://page.example")
				st := StartStream(w, r, Response{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(": hello\n\n")},
					Options{OnGone: func() { gone <- struct{}{} }})
				streams <- st
				st.Wait()
			})
			c := dial(t, addr)
			if _, err := c.c.Write([]byte("GET /events HTTP/1.1\r\nHost: h\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			st := <-streams
			res := c.read()
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Access-Control-Allow-Origin") != "https://page.example" {
				t.Fatalf("head %d %v", res.StatusCode, res.Header)
			}
			br := bufio.NewReader(res.Body)
			line := func() string {
				c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				s, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the stream: %v", err)
				}
				return s
			}
			if got := line(); got != ": hello\n" {
				t.Fatalf("first line %q", got)
			}
			line()
			if !plain {
				if held, _ := l.Counts(); held != 1 {
					t.Fatalf("%d held, want the stream taken over", held)
				}
			}
			for _, ev := range []string{"data: 1\n", "data: 2\n"} {
				st.Write([]byte(ev + "\n"))
				if got := line(); got != ev {
					t.Fatalf("event %q, want %q", got, ev)
				}
				line()
			}
			c.c.Close()
			waitFor(t, gone, "OnGone")
			select {
			case <-st.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the stream is not over")
			}
		})
	}
}
