package main

import (
	"context"
	"flag"
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

// pathURLs is the endpoints given on the command line, one flag a path.
type pathURLs struct {
	bridgeWS, prosodyWS     string
	bridgeBOSH, prosodyBOSH string
	bridgeJSON              string
	bridgeSSE, bridgePoll   string
}

// flags defines a flag for each of the bridge's paths and, with prosody,
// for Prosody's own.
func (u *pathURLs) flags(fs *flag.FlagSet, prosody bool) {
	fs.StringVar(&u.bridgeWS, "bridge-ws", "", "the bridge's WebSocket URL (path bridge-ws); empty: not run")
	fs.StringVar(&u.bridgeBOSH, "bridge-bosh", "", "the bridge's BOSH URL (path bridge-bosh); empty: not run")
	fs.StringVar(&u.bridgeJSON, "bridge-json", "", "the bridge's JSON API WebSocket URL, e.g. ws://HOST:PORT/json/ws (path bridge-json; the bridge logs in upstream itself); empty: not run")
	fs.StringVar(&u.bridgeSSE, "bridge-sse", "", "the bridge's JSON API base URL, e.g. http://HOST:PORT/json, for its Server-Sent Events transport (path bridge-sse); empty: not run")
	fs.StringVar(&u.bridgePoll, "bridge-poll", "", "the bridge's JSON API base URL, e.g. http://HOST:PORT/json, for its long-poll transport (path bridge-poll); empty: not run")
	if prosody {
		fs.StringVar(&u.prosodyWS, "prosody-ws", "", "Prosody's own WebSocket URL (path prosody-ws); empty: not run")
		fs.StringVar(&u.prosodyBOSH, "prosody-bosh", "", "Prosody's own BOSH URL (path prosody-bosh); empty: not run")
	}
}

// pathSpec names a path and says whether its traffic crosses the bridge.
type pathSpec struct {
	name, kind, url string
	viaBridge       bool
}

// specs lists the paths the flags ask for, in the order their sessions
// are dealt out.
func (u *pathURLs) specs() []pathSpec {
	var specs []pathSpec
	for _, p := range []pathSpec{
		{name: "bridge-ws", kind: "ws", url: u.bridgeWS, viaBridge: true},
		{name: "prosody-ws", kind: "ws", url: u.prosodyWS},
		{name: "bridge-bosh", kind: "bosh", url: u.bridgeBOSH, viaBridge: true},
		{name: "prosody-bosh", kind: "bosh", url: u.prosodyBOSH},
		{name: "bridge-json", kind: "json", url: u.bridgeJSON, viaBridge: true},
		{name: "bridge-sse", kind: "sse", url: u.bridgeSSE, viaBridge: true},
		{name: "bridge-poll", kind: "poll", url: u.bridgePoll, viaBridge: true},
	} {
		if p.url != "" {
			specs = append(specs, p)
		}
	}
	return specs
}
