package main

import (
	"context"
	"fmt"
	"net"
)

// A Path is one way for a client session to reach the XMPP server: the
// bridge's WebSocket, BOSH or JSON endpoints (WebSocket, Server-Sent Events,
// long-poll), or Prosody's own. The load test runs
// several at once, interleaved, and reports each apart.
type Path interface {
	// Name names the path in the results, e.g. "bridge-ws".
	Name() string
	// Dial connects from the source address src and returns a stream on
	// which no XMPP stream is open yet.
	Dial(ctx context.Context, src net.IP) (Stream, error)
}

// A Stream carries top-level XMPP elements in both directions, however the
// transport frames them, or on the JSON API their JSON frames (see
// spellingOf and serverLogin). It has one reader and one writer at a time: Recv
// may run concurrently with Send, but not with itself, and likewise Send.
type Stream interface {
	// Open opens the XMPP stream to domain, or restarts it after SASL, and
	// returns the stream features the server sends.
	Open(ctx context.Context, domain string) (features []byte, err error)
	// Send sends one element, e.g. a stanza or <auth/>.
	Send(el []byte) error
	// Recv returns the next element; it is valid until the next call.
	Recv() ([]byte, error)
	// Close closes the XMPP stream politely if it can and then the
	// connection.
	Close() error
}

// newPath makes a Path from a kind and an endpoint, as given on the
// command line as NAME=KIND:URL.
func newPath(name, kind, url string) (Path, error) {
	switch kind {
	case "ws":
		return &wsPath{name: name, url: url}, nil
	case "bosh":
		return &boshPath{name: name, url: url}, nil
	case "json":
		return &jsonPath{name: name, url: url}, nil
	case "sse":
		return &jsonSSEPath{name: name, url: url}, nil
	case "poll":
		return &jsonPollPath{name: name, url: url}, nil
	default:
		return nil, fmt.Errorf("path %s: unknown kind %q (want ws, bosh, json, sse or poll)", name, kind)
	}
}
