//go:build unix

package netwait

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestReadable(t *testing.T) {
	client, server := pair(t)
	rc := For(server)
	if rc == nil {
		t.Fatal("For(*net.TCPConn) = nil")
	}
	if For(nil) != nil {
		t.Fatal("For(nil) != nil")
	}

	// Data sent before the wait is seen: the peek asks the kernel.
	client.Write([]byte("a"))
	if err := Readable(rc); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if n, _ := server.Read(b); n != 1 {
		t.Fatalf("read %d bytes, want the 1 the peek left", n)
	}

	// Data sent during the wait wakes it.
	done := make(chan error, 1)
	go func() { done <- Readable(rc) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("returned %v with nothing to read", err)
	default:
	}
	client.Write([]byte("b"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by data")
	}
	server.Read(b)

	// The read deadline holds.
	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := Readable(rc); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past the deadline: %v", err)
	}
	server.SetReadDeadline(time.Time{})

	// The peer's close is something to read (EOF).
	client.Close()
	if err := Readable(rc); err != nil {
		t.Fatal(err)
	}

	// Our own close ends a wait with an error.
	_, idle := pair(t)
	go func() { done <- Readable(For(idle)) }()
	time.Sleep(20 * time.Millisecond)
	idle.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a wait on a closed connection returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not end the wait")
	}
}

func TestPeerClosed(t *testing.T) {
	client, server := pair(t)
	rc := For(server)
	if PeerClosed(rc) {
		t.Fatal("closed with nothing sent")
	}
	client.Write([]byte("a"))
	if err := Readable(rc); err != nil {
		t.Fatal(err)
	}
	if PeerClosed(rc) {
		t.Fatal("closed with data waiting")
	}
	b := make([]byte, 4)
	server.Read(b)
	client.Close()
	if err := Readable(rc); err != nil {
		t.Fatal(err)
	}
	if !PeerClosed(rc) {
		t.Fatal("not closed after the peer closed")
	}
}
