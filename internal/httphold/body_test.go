package httphold

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadBodyCutsHalfSent: a body declared longer than what is sent is
// cut off at the deadline and the connection closed, never left open.
func TestReadBodyCutsHalfSent(t *testing.T) {
	errc := make(chan error, 1)
	addr, _ := server(t, false, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		_, err := ReadBody(w, r, nil, 4096, 512, 200*time.Millisecond)
		errc <- err
		w.WriteHeader(http.StatusBadRequest)
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nx"))
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a half-sent body was read whole")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBody did not give up")
	}
	// net/http gives up on the connection (the read failed): closed at
	// once, answered or not.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(c); err != nil {
		t.Fatalf("the connection stayed open: %v (read %q)", err, b)
	}
}

func TestReadBodyLimit(t *testing.T) {
	type result struct {
		b   []byte
		err error
	}
	got := make(chan result, 1)
	addr, _ := server(t, true, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		b, err := ReadBody(w, r, nil, 10, 4, time.Second)
		got <- result{b, err}
	})
	for _, tt := range []struct {
		name, body string
		chunked    bool
		want       string
		err        error
	}{
		{"within", "0123456789", false, "0123456789", nil},
		{"declared over", "0123456789ab", false, "0123", ErrTooLarge},
		{"chunked over", "0123456789ab", true, "0123456789", ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // no length known: chunked
			}
			req, _ := http.NewRequest("POST", "http://"+addr+"/x", body)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
			r := <-got
			if string(r.b) != tt.want || !errors.Is(r.err, tt.err) && r.err != tt.err {
				t.Fatalf("ReadBody = %q, %v; want %q, %v", r.b, r.err, tt.want, tt.err)
			}
		})
	}
}
