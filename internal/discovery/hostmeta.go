package discovery

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The link relations of XEP-0156 §3 and the paths of RFC 6415.
const (
	RelWebSocket     = "urn:xmpp:alt-connections:websocket"
	RelBOSH          = "urn:xmpp:alt-connections:xbosh"
	HostMetaPath     = "/.well-known/host-meta"
	HostMetaJSONPath = "/.well-known/host-meta.json"
)

// Config says what host-meta advertises.
type Config struct {
	// PublicURL is where browsers reach the bridge: an http or https URL
	// with a host and, if the bridge is mounted below one, a path prefix.
	// The WebSocket URL takes its scheme from it (https → wss). Nil means
	// each request's own: https when it came over TLS (r.TLS set), else
	// http, and its Host header.
	PublicURL *url.URL
	// WebSocketPath and BOSHPath are the endpoints' paths below the public
	// URL. Empty leaves that endpoint out.
	WebSocketPath, BOSHPath string
}

// link is one endpoint, as both documents write it.
type link struct {
	Rel  string `xml:"rel,attr" json:"rel"`
	Href string `xml:"href,attr" json:"href"`
}

// xrd is the XML document (RFC 6415 §3, XRD 1.0).
type xrd struct {
	XMLName xml.Name `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
	Links   []link   `xml:"Link"`
}

// jrd is the JSON document (RFC 6415 appendix A).
type jrd struct {
	Links []link `json:"links"`
}

// Handler serves host-meta at HostMetaPath and HostMetaJSONPath: mount it
// at both. Other methods than GET, HEAD and OPTIONS are 405; a request
// whose Host cannot be used, when no PublicURL is configured, is 400.
func Handler(cfg Config) http.Handler {
	var fixed []link
	if cfg.PublicURL != nil {
		fixed = links(cfg, cfg.PublicURL)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions:
			// A preflight, for a page that sends a non-simple header.
			h.Set("Access-Control-Allow-Methods", "GET, HEAD")
			h.Set("Access-Control-Allow-Headers", "Accept")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			h.Set("Allow", "GET, HEAD, OPTIONS")
			http.Error(w, "discovery: only GET, HEAD and OPTIONS", http.StatusMethodNotAllowed)
			return
		}
		ls := fixed
		if ls == nil {
			base, ok := requestBase(r)
			if !ok {
				http.Error(w, "discovery: no usable Host header", http.StatusBadRequest)
				return
			}
			ls = links(cfg, base)
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Cache-Control", "max-age=3600")
		}
		var body []byte
		if strings.HasSuffix(r.URL.Path, ".json") {
			h.Set("Content-Type", "application/json")
			body, _ = json.Marshal(jrd{Links: ls})
		} else {
			h.Set("Content-Type", "application/xrd+xml; charset=utf-8")
			doc, _ := xml.Marshal(xrd{Links: ls})
			body = append([]byte(xml.Header), doc...)
		}
		body = append(body, '\n')
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

// links are the endpoints below base.
func links(cfg Config, base *url.URL) []link {
	ls := []link{}
	prefix := strings.TrimSuffix(base.Path, "/")
	if cfg.WebSocketPath != "" {
		u := *base
		u.Scheme = map[string]string{"https": "wss", "http": "ws"}[base.Scheme]
		u.Path = prefix + cfg.WebSocketPath
		ls = append(ls, link{Rel: RelWebSocket, Href: u.String()})
	}
	if cfg.BOSHPath != "" {
		u := *base
		u.Path = prefix + cfg.BOSHPath
		ls = append(ls, link{Rel: RelBOSH, Href: u.String()})
	}
	return ls
}

// requestBase is the URL the request was sent to, without its path: its
// scheme and its Host, if that is a host name or IP address with an
// optional port.
func requestBase(r *http.Request) (*url.URL, bool) {
	if !validHost(r.Host) {
		return nil, false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}, true
}

// validHost says whether s is host[:port] with a DNS name, an IPv4 address
// or a bracketed IPv6 address, and nothing else a URL would take from it.
func validHost(s string) bool {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(s, "[") {
		if port == "" { // SplitHostPort took the brackets off with the port
			if !strings.HasSuffix(s, "]") {
				return false
			}
			host = s[1 : len(s)-1]
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.To4() == nil
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
