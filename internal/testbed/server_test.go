//go:build integration

package testbed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	nsStreams = "http://etherx.jabber.org/streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	ioTimeout = 10 * time.Second
)

// features is the part of <stream:features/> these tests look at.
type features struct {
	StartTLS *struct {
		Required *struct{} `xml:"required"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	Mechanisms struct {
		List []string `xml:"mechanism"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms"`
}

// stream is a bare-bones c2s client: just enough XML to check the server.
type stream struct {
	t    *testing.T
	conn net.Conn
	dec  *xml.Decoder
}

func dial(t *testing.T, p *Server) *stream {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.C2SAddr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", p.C2SAddr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &stream{t: t, conn: conn}
}

func (s *stream) send(format string, args ...any) {
	s.t.Helper()
	s.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := fmt.Fprintf(s.conn, format, args...); err != nil {
		s.t.Fatalf("write: %v", err)
	}
}

// next returns the next top-level start element (the stream header counts).
func (s *stream) next() xml.StartElement {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	for {
		tok, err := s.dec.Token()
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se
		}
	}
}

// open sends a stream header and returns the features the server offers.
// A new decoder per stream: after STARTTLS or SASL the server starts a new
// XML document.
func (s *stream) open(domain string) features {
	s.t.Helper()
	s.dec = xml.NewDecoder(s.conn)
	s.send("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='%s'>", domain, nsStreams)
	if se := s.next(); se.Name != (xml.Name{Space: nsStreams, Local: "stream"}) {
		s.t.Fatalf("server answered %v, want a stream header", se.Name)
	}
	se := s.next()
	if se.Name != (xml.Name{Space: nsStreams, Local: "features"}) {
		s.t.Fatalf("server sent %v, want stream features", se.Name)
	}
	var f features
	if err := s.dec.DecodeElement(&f, &se); err != nil {
		s.t.Fatalf("decode features: %v", err)
	}
	return f
}

// starttls negotiates TLS with cfg, as RFC 6120 section 5 describes.
func (s *stream) starttls(cfg *tls.Config) *tls.ConnectionState {
	s.t.Helper()
	s.send("<starttls xmlns='%s'/>", nsTLS)
	if se := s.next(); se.Name != (xml.Name{Space: nsTLS, Local: "proceed"}) {
		s.t.Fatalf("server answered %v to starttls, want proceed", se.Name)
	}
	// The server sends nothing after <proceed/> until the client's TLS hello,
	// so the decoder has no TLS bytes buffered.
	tc := tls.Client(s.conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.t.Fatalf("TLS handshake: %v", err)
	}
	s.conn = tc
	st := tc.ConnectionState()
	return &st
}

// plain tries SASL PLAIN and reports whether the server said success.
func (s *stream) plain(user, password string) bool {
	s.t.Helper()
	s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>", nsSASL, base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)))
	se := s.next()
	switch se.Name {
	case xml.Name{Space: nsSASL, Local: "success"}:
		return true
	case xml.Name{Space: nsSASL, Local: "failure"}:
		return false
	}
	s.t.Fatalf("server answered %v to auth", se.Name)
	return false
}

// text reads the character data of the element se has just started.
func (s *stream) text(se xml.StartElement) string {
	s.t.Helper()
	var v struct {
		Text string `xml:",chardata"`
	}
	if err := s.dec.DecodeElement(&v, &se); err != nil {
		s.t.Fatalf("decode %s: %v", se.Name.Local, err)
	}
	return v.Text
}

// iq reads up to the iq with id, which must be a result, and returns its
// start element for decode. Other stanzas on the way are skipped.
func (s *stream) iq(id string) xml.StartElement {
	s.t.Helper()
	for {
		se := s.next()
		if se.Name.Local != "iq" {
			s.dec.Skip()
			continue
		}
		var gotID, typ string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "id":
				gotID = a.Value
			case "type":
				typ = a.Value
			}
		}
		if gotID != id {
			s.dec.Skip()
			continue
		}
		if typ != "result" {
			s.t.Fatalf("iq %s: type %q", id, typ)
		}
		return se
	}
}

// decode reads the element se has just started into v.
func (s *stream) decode(se xml.StartElement, v any) {
	s.t.Helper()
	if err := s.dec.DecodeElement(v, &se); err != nil {
		s.t.Fatalf("decode %s: %v", se.Name.Local, err)
	}
}

// scram tries SASL SCRAM-SHA-1 (RFC 5802) and reports whether the server
// said success; a success whose signature does not verify fails the test.
func (s *stream) scram(user, password string) bool {
	s.t.Helper()
	b64 := base64.StdEncoding
	nonce := rand.Text()
	clientFirstBare := "n=" + user + ",r=" + nonce
	s.send("<auth xmlns='%s' mechanism='SCRAM-SHA-1'>%s</auth>", nsSASL, b64.EncodeToString([]byte("n,,"+clientFirstBare)))

	se := s.next()
	if se.Name != (xml.Name{Space: nsSASL, Local: "challenge"}) {
		s.t.Fatalf("server answered %v to auth, want challenge", se.Name)
	}
	serverFirst, err := b64.DecodeString(s.text(se))
	if err != nil {
		s.t.Fatalf("challenge: %v", err)
	}
	attrs := map[string]string{}
	for _, kv := range strings.Split(string(serverFirst), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			attrs[k] = v
		}
	}
	salt, err := b64.DecodeString(attrs["s"])
	iter, err2 := strconv.Atoi(attrs["i"])
	if err != nil || err2 != nil || !strings.HasPrefix(attrs["r"], nonce) {
		s.t.Fatalf("bad server-first-message %q", serverFirst)
	}
	salted, err := pbkdf2.Key(sha1.New, password, salt, iter, sha1.Size)
	if err != nil {
		s.t.Fatal(err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha1.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha1.Sum(clientKey)
	clientFinalBare := "c=" + b64.EncodeToString([]byte("n,,")) + ",r=" + attrs["r"]
	authMessage := clientFirstBare + "," + string(serverFirst) + "," + clientFinalBare
	proof := mac(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.send("<response xmlns='%s'>%s</response>", nsSASL, b64.EncodeToString([]byte(clientFinalBare+",p="+b64.EncodeToString(proof))))

	se = s.next()
	switch se.Name {
	case xml.Name{Space: nsSASL, Local: "failure"}:
		return false
	case xml.Name{Space: nsSASL, Local: "success"}:
	default:
		s.t.Fatalf("server answered %v to the SCRAM response", se.Name)
	}
	final, err := b64.DecodeString(s.text(se))
	if err != nil {
		s.t.Fatalf("success: %v", err)
	}
	want := "v=" + b64.EncodeToString(mac(mac(salted, "Server Key"), authMessage))
	if !bytes.Equal(final, []byte(want)) {
		s.t.Fatalf("server signature %q, want %q", final, want)
	}
	return true
}

// shared are the servers of the tests that only look at a server; tests of
// starting and stopping start their own.
var shared Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

// eachKind runs f as a subtest for every kind of server.
func eachKind(t *testing.T, f func(t *testing.T, kind Kind)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) { f(t, kind) })
	}
}

// TestSCRAMPlaintext logs in with SCRAM-SHA-1 on the c2s port without TLS,
// as the bridge does towards a server on loopback.
func TestSCRAMPlaintext(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		tests := []struct {
			name, password string
			ok             bool
		}{
			{"right password", Password, true},
			{"wrong password", "wrong", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := dial(t, p)
				s.open(p.Domain)
				if got := s.scram("alice", tt.password); got != tt.ok {
					t.Errorf("SCRAM-SHA-1 login: success = %v, want %v", got, tt.ok)
				}
			})
		}
	})
}

func TestStartTLS(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		if p.Kind != kind {
			t.Errorf("Kind = %q, want %q", p.Kind, kind)
		}
		if p.Domain != "localhost" {
			t.Errorf("Domain = %q, want localhost", p.Domain)
		}
		host, _, err := net.SplitHostPort(p.C2SAddr)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("C2SAddr = %q, want 127.0.0.1:port", p.C2SAddr)
		}

		s := dial(t, p)
		f := s.open(p.Domain)
		if f.StartTLS == nil {
			t.Fatal("STARTTLS not offered")
		}
		if f.StartTLS.Required != nil {
			t.Error("STARTTLS is required; the testbed must allow plaintext on loopback")
		}
		// Both servers store passwords hashed for SCRAM-SHA-1, so both
		// offer it, and PLAIN, without TLS.
		for _, m := range []string{"SCRAM-SHA-1", "PLAIN"} {
			if !slices.Contains(f.Mechanisms.List, m) {
				t.Errorf("mechanisms before TLS = %q, want %s among them", f.Mechanisms.List, m)
			}
		}

		cfg, err := p.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		st := s.starttls(cfg)
		if len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
			t.Fatalf("TLS state: %d peer certificates, %d verified chains", len(st.PeerCertificates), len(st.VerifiedChains))
		}
		if err := st.PeerCertificates[0].VerifyHostname("localhost"); err != nil {
			t.Errorf("certificate: %v", err)
		}

		f = s.open(p.Domain)
		if f.StartTLS != nil {
			t.Error("STARTTLS offered again after TLS")
		}
		if !s.plain("alice", Password) {
			t.Error("alice could not log in over TLS")
		}
	})
}

// TestRequireTLS checks Options.RequireTLS: STARTTLS is offered as
// required and no SASL mechanism comes before it.
func TestRequireTLS(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := StartWith(t, Options{Kind: kind, RequireTLS: true})
		s := dial(t, p)
		f := s.open(p.Domain)
		if f.StartTLS == nil || f.StartTLS.Required == nil {
			t.Fatalf("STARTTLS offered: %v, required: %v; want both", f.StartTLS != nil, f.StartTLS != nil && f.StartTLS.Required != nil)
		}
		if len(f.Mechanisms.List) > 0 {
			t.Errorf("mechanisms before TLS = %q, want none", f.Mechanisms.List)
		}
		cfg, err := p.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		s.starttls(cfg)
		s.open(p.Domain)
		if !s.plain("alice", Password) {
			t.Error("alice could not log in over TLS")
		}
	})
}

func TestStartTLSRejectsOtherName(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		s := dial(t, p)
		s.open(p.Domain)
		s.send("<starttls xmlns='%s'/>", nsTLS)
		if se := s.next(); se.Name.Local != "proceed" {
			t.Fatalf("server answered %v to starttls", se.Name)
		}
		cfg, err := p.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServerName = "example.org"
		tc := tls.Client(s.conn, cfg)
		tc.SetDeadline(time.Now().Add(ioTimeout))
		if err := tc.Handshake(); err == nil {
			t.Fatal("handshake with ServerName example.org verified; the certificate must be for localhost only")
		}
	})
}

func TestUsers(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		p.AddUser(t, "dave", "pässword <&>")
		// Adding a user who exists sets the password.
		p.AddUser(t, "erin", "first")
		p.AddUser(t, "erin", `sec"ond\`)
		tests := []struct {
			name, user, password string
			ok                   bool
		}{
			{"alice", "alice", Password, true},
			{"bob", "bob", Password, true},
			{"carol", "carol", Password, true},
			{"added", "dave", "pässword <&>", true},
			{"added again", "erin", `sec"ond\`, true},
			{"old password", "erin", "first", false},
			{"wrong password", "alice", "wrong", false},
			{"no such user", "mallory", Password, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// PLAIN over loopback plaintext is allowed on the testbed.
				s := dial(t, p)
				s.open(p.Domain)
				if got := s.plain(tt.user, tt.password); got != tt.ok {
					t.Errorf("login %s: success = %v, want %v", tt.user, got, tt.ok)
				}
			})
		}
	})
}

// TestFriends checks that friends gives each user the others, subscription
// both, as a roster get shows after login.
func TestFriends(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		users := []string{"frank", "grace", "heidi"}
		for _, u := range users {
			p.AddUser(t, u, Password)
		}
		p.Friends(t, users...)
		for _, u := range users {
			s := dial(t, p)
			s.open(p.Domain)
			if !s.plain(u, Password) {
				t.Fatalf("%s could not log in", u)
			}
			s.open(p.Domain)
			s.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
			s.iq("bind")
			s.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
			var roster struct {
				Items []struct {
					JID          string `xml:"jid,attr"`
					Subscription string `xml:"subscription,attr"`
				} `xml:"query>item"`
			}
			s.decode(s.iq("roster"), &roster)
			var got []string
			for _, it := range roster.Items {
				got = append(got, it.JID+" "+it.Subscription)
			}
			slices.Sort(got)
			var want []string
			for _, c := range users {
				if c != u {
					want = append(want, c+"@"+p.Domain+" both")
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s's roster: %q, want %q", u, got, want)
			}
		}
	})
}

func TestStreamManagementOffered(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		s := dial(t, p)
		s.open(p.Domain)
		if !s.plain("bob", Password) {
			t.Fatal("bob could not log in")
		}
		s.dec = xml.NewDecoder(s.conn)
		s.send("<stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='%s'>", p.Domain, nsStreams)
		s.next() // stream header
		se := s.next()
		var f struct {
			SM *struct{} `xml:"urn:xmpp:sm:3 sm"`
		}
		if err := s.dec.DecodeElement(&f, &se); err != nil {
			t.Fatal(err)
		}
		if f.SM == nil {
			t.Error("stream management (urn:xmpp:sm:3) not offered after login")
		}
	})
}

func TestHTTPEndpoints(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := shared.Get(t, Options{Kind: kind})
		client := &http.Client{Timeout: ioTimeout}
		for name, url := range map[string]string{"websocket": p.WSURL, "bosh": p.BOSHURL} {
			t.Run(name, func(t *testing.T) {
				// A plain GET gets an informative page on both endpoints,
				// from both servers.
				httpURL := strings.Replace(url, "ws://", "http://", 1)
				resp, err := client.Get(httpURL)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s", httpURL, resp.Status)
				}
			})
		}
		if kind == KindEjabberd {
			// ejabberd's command API is on a Unix socket only.
			api := strings.Replace(p.BOSHURL, "/http-bind", "/api/status", 1)
			resp, err := client.Post(api, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %s, want 404 Not Found", api, resp.Status)
			}
		}
	})
}

func TestTwoAtOnce(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		addrs := make(chan string, 2)
		t.Run("group", func(t *testing.T) {
			for i := range 2 {
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					t.Parallel()
					p := StartWith(t, Options{Kind: kind})
					s := dial(t, p)
					if f := s.open(p.Domain); f.StartTLS == nil {
						t.Error("STARTTLS not offered")
					}
					addrs <- p.C2SAddr + " " + p.WSURL
				})
			}
		})
		close(addrs)
		var seen []string
		for a := range addrs {
			seen = append(seen, a)
		}
		if len(seen) == 2 && seen[0] == seen[1] {
			t.Errorf("both instances on %s", seen[0])
		}
	})
}

func TestStopTwice(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		p := StartWith(t, Options{Kind: kind})
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if conn, err := net.DialTimeout("tcp", p.C2SAddr, ioTimeout); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Stop", p.C2SAddr)
		}
		if processAlive(p.PID) {
			t.Errorf("%s %d still runs after Stop", kind, p.PID)
		}
	})
}

// TestStartFails checks that a server that cannot listen is an error, with
// the reason, and leaves no server behind.
func TestStartFails(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		dir := t.TempDir()
		p, err := start(ctx, dir, append(Options{Kind: kind}.env(), "C2S_PORT="+port))
		if err == nil {
			p.Stop()
			t.Fatal("start succeeded on a port another process listens on")
		}
		if !strings.Contains(err.Error(), "taken by another process") {
			t.Errorf("error does not say why: %v", err)
		}
		if pid, err := os.ReadFile(filepath.Join(dir, "testbed.pid")); err == nil {
			n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
			if n > 0 && processAlive(n) {
				t.Errorf("%s %d still runs after the failed start", kind, n)
			}
		}
	})
}

// TestOwnerGone checks that the server stops by itself once the process
// named in TESTBED_OWNER_PID is gone, which is what keeps a killed test
// binary from leaving servers behind.
func TestOwnerGone(t *testing.T) {
	eachKind(t, func(t *testing.T, kind Kind) {
		owner := exec.Command("sleep", "600")
		if err := owner.Start(); err != nil {
			t.Fatal(err)
		}
		defer owner.Process.Kill()
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		dir := t.TempDir()
		// The watcher follows the last TESTBED_OWNER_PID in the environment.
		p, err := start(ctx, dir, append(Options{Kind: kind}.env(), "TESTBED_OWNER_PID="+strconv.Itoa(owner.Process.Pid)))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		owner.Process.Kill()
		owner.Wait()
		deadline := time.Now().Add(30 * time.Second)
		for processAlive(p.PID) {
			if time.Now().After(deadline) {
				t.Fatalf("%s %d still running 30s after its owner died", kind, p.PID)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if state, ok := strings.CutPrefix(line, "State:"); ok {
			state = strings.TrimSpace(state)
			return !strings.HasPrefix(state, "Z") && !strings.HasPrefix(state, "X")
		}
	}
	return true
}

// A package whose tests share one Prosody starts it in TestMain, keeps p in
// a package variable, and calls stop after m.Run.
func ExampleStartMain() {
	p, stop, err := StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stop()
	fmt.Println(Users, "on", p.Domain, "at", p.C2SAddr, "and", p.WSURL)
}

// A package whose tests share servers of several kinds, started when a
// test first needs one, keeps a Shared in a package variable:
//
//	var servers testbed.Shared
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		servers.Stop()
//		os.Exit(code)
//	}
//
//	func TestLogin(t *testing.T) {
//		for _, kind := range testbed.Kinds {
//			t.Run(string(kind), func(t *testing.T) {
//				p := servers.Get(t, testbed.Options{Kind: kind})
//				...
//			})
//		}
//	}
func ExampleShared() {
	var servers Shared
	defer servers.Stop()
	fmt.Println("servers start on first use:", Kinds)
}
