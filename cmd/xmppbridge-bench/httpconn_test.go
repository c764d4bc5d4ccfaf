package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoster(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case "hold":
			<-r.Context().Done()
			return
		case "close":
			w.Header().Set("Connection", "close")
		}
		if r.URL.RequestURI() != "/http-bind?x=1" || r.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
			http.Error(w, "bad request line or headers", http.StatusBadRequest)
			return
		}
		w.Write(append([]byte("echo "), b...))
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := newPoster(srv.URL+"/http-bind?x=1", net.IPv4(127, 0, 0, 1), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	post := func(body string) string {
		t.Helper()
		status, data, err := p.post(ctx, []byte(body))
		if err != nil || status != http.StatusOK {
			t.Fatalf("post %q: %d %q %v", body, status, data, err)
		}
		return string(data)
	}

	t.Run("keep-alive", func(t *testing.T) {
		for _, b := range []string{"a", "b", "c"} {
			if got := post(b); got != "echo "+b {
				t.Errorf("got %q", got)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("%d connections for three requests in turn, want 1", n)
		}
	})
	t.Run("connection close", func(t *testing.T) {
		post("close")
		if n := p.conns(); n != 0 {
			t.Errorf("%d connections kept after Connection: close", n)
		}
		post("d")
	})
	t.Run("idle connection closed by the server", func(t *testing.T) {
		before := conns.Load()
		srv.CloseClientConnections()
		time.Sleep(50 * time.Millisecond)
		if got := post("e"); got != "echo e" {
			t.Errorf("got %q", got)
		}
		if n := conns.Load(); n != before+1 {
			t.Errorf("%d new connections, want 1", n-before)
		}
	})
	t.Run("cancelled while held", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, _, err := p.post(cctx, []byte("hold"))
		if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
			t.Errorf("err %v after %v, want context.Canceled at once", err, time.Since(start))
		}
		if got := post("f"); got != "echo f" {
			t.Errorf("after a cancelled request: %q", got)
		}
	})
	t.Run("close idle", func(t *testing.T) {
		p.closeIdle()
		if n := p.conns(); n != 0 {
			t.Errorf("%d connections after closeIdle", n)
		}
	})
	if _, err := newPoster("https://x/", nil, time.Second); err == nil || !strings.Contains(err.Error(), "http://") {
		t.Errorf("https URL: err %v", err)
	}
}
