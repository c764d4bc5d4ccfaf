package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xmppbridge/xmppbridge/internal/discovery"
)

// mountDiscovery serves XEP-0156 host-meta on mux, advertising the
// WebSocket and BOSH endpoints below public_url (or each request's own
// scheme and Host when there is none).
func mountDiscovery(mux *http.ServeMux, cfg *Config) {
	public, _ := parsePublicURL(cfg.PublicURL) // validated by Load
	h := discovery.Handler(discovery.Config{
		PublicURL:     public,
		WebSocketPath: cfg.WebSocket.Path,
		BOSHPath:      cfg.BOSH.Path,
	})
	mux.Handle(discovery.HostMetaPath, h)
	mux.Handle(discovery.HostMetaJSONPath, h)
}

// parsePublicURL checks public_url: http or https, a host, maybe a path,
// nothing else. Empty is nil: none configured.
func parsePublicURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", s)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(s, "#"):
		return nil, fmt.Errorf("%q may have a path but no user information, query or fragment", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, p)
		}
	}
	return u, nil
}
