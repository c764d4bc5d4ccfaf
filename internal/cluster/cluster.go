package cluster

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// ForwardedHeader marks a request forwarded by a node of the cluster; its
// value is the forwarding node's name. A request carrying it is never
// forwarded again.
const ForwardedHeader = "Xmppbridge-Forwarded-By"

// Config configures a Cluster.
type Config struct {
	// Node is this bridge's name: letters, digits and '-'. Required.
	Node string
	// Peers are the other nodes of the cluster: name → base URL
	// (http://host:port or https://host:port, no path) at which that
	// node's bridge listens. Only these are ever sent requests.
	Peers map[string]string
	// DialTimeout bounds connecting to a peer. Zero means 2 seconds.
	DialTimeout time.Duration
	// ProbeInterval is how often a forwarded request whose answer has not
	// begun checks that its owner is still there: a GET of ProbePath on a
	// new connection (shared by the requests waiting on one peer), which
	// must be answered within twice DialTimeout. A held request waits on
	// a connection that may have lost its peer without a sound (a box cut
	// off); this notices within ProbeInterval and the probe's bound
	// instead of the transport's longest hold. Zero means 5 seconds;
	// negative, no probes.
	ProbeInterval time.Duration
	// ProbePath is what a probe asks for; any answer will do. Empty means
	// "/healthz".
	ProbePath string
	// OnForward, if set, hears of every request forwarded, with the
	// owner's name and, if the owner could not be reached, why (then the
	// request was served locally). For logs.
	OnForward func(r *http.Request, node string, err error)
}

// Cluster forwards requests of other nodes' sessions to them.
type Cluster struct {
	cfg       Config
	peers     map[string]*peer
	transport *http.Transport
	probes    *http.Client // new connections only
}

// peer is another node, and what the last probe of it found.
type peer struct {
	url *url.URL

	mu      sync.Mutex
	checked time.Time     // when the last probe ended
	alive   bool          // what it found
	probing chan struct{} // closed when the probe under way ends
}

// New checks cfg and returns a Cluster.
func New(cfg Config) (*Cluster, error) {
	if err := CheckNode(cfg.Node); err != nil {
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 5 * time.Second
	}
	if cfg.ProbePath == "" {
		cfg.ProbePath = "/healthz"
	}
	c := &Cluster{cfg: cfg, peers: make(map[string]*peer, len(cfg.Peers))}
	names := make([]string, 0, len(cfg.Peers))
	for name := range cfg.Peers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := CheckNode(name); err != nil {
			return nil, err
		}
		if name == cfg.Node {
			continue // a shared peer list may name this node too
		}
		u, err := ParsePeerURL(cfg.Peers[name])
		if err != nil {
			return nil, fmt.Errorf("cluster: peer %s: %w", name, err)
		}
		c.peers[name] = &peer{url: u}
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout}
	c.probes = &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, TLSHandshakeTimeout: cfg.DialTimeout},
		Timeout:   2 * cfg.DialTimeout,
	}
	c.transport = &http.Transport{
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: cfg.DialTimeout,
		// Every held request of a forwarded session is a connection:
		// keep many idle ones to each peer.
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return c, nil
}

// CheckNode says what is wrong with a node name, if anything.
func CheckNode(name string) error {
	if name == "" {
		return fmt.Errorf("cluster: empty node name")
	}
	if len(name) > 32 {
		return fmt.Errorf("cluster: node name %q is longer than 32 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("cluster: node name %q has %q: only letters, digits and '-'", name, r)
		}
	}
	return nil
}

// ParsePeerURL parses a peer's base URL: http or https, a host, no path,
// query or fragment.
func ParsePeerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q has more than scheme://host:port", s)
	}
	u.Path = ""
	return u, nil
}

// SIDPrefix is what every session id of this node starts with.
func (c *Cluster) SIDPrefix() string { return c.cfg.Node + "." }

// Node is this node's name.
func (c *Cluster) Node() string { return c.cfg.Node }

// Owner is the node a session id names, or "" if it names none.
func Owner(sid string) string {
	i := strings.IndexByte(sid, '.')
	if i <= 0 {
		return ""
	}
	return sid[:i]
}

// Close lets go of idle connections to the peers.
func (c *Cluster) Close() { c.transport.CloseIdleConnections() }

// reachable says whether p answered a probe lately, probing it when nobody
// did: one probe at a time per peer, whose answer every caller waiting
// on it shares and callers within half a ProbeInterval reuse.
func (c *Cluster) reachable(p *peer) bool {
	p.mu.Lock()
	if time.Since(p.checked) < c.cfg.ProbeInterval/2 {
		defer p.mu.Unlock()
		return p.alive
	}
	if ch := p.probing; ch != nil {
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.alive
	}
	ch := make(chan struct{})
	p.probing = ch
	p.mu.Unlock()

	alive := false
	req, err := http.NewRequest(http.MethodGet, p.url.String()+c.cfg.ProbePath, nil)
	if err == nil {
		req.Header.Set(ForwardedHeader, c.cfg.Node)
		if res, err := c.probes.Do(req); err == nil {
			res.Body.Close()
			alive = true
		}
	}
	p.mu.Lock()
	p.alive, p.checked, p.probing = alive, time.Now(), nil
	p.mu.Unlock()
	close(ch)
	return alive
}
