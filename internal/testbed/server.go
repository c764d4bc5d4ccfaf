package testbed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Password is the password of the built-in users alice, bob and carol.
const Password = "secret"

// Users are the users every server of the testbed has, all with Password.
var Users = []string{"alice", "bob", "carol"}

// How long the script may take. Start can include installing the server
// with apt-get on a fresh machine, hence the generous bound.
const (
	startTimeout = 5 * time.Minute
	stopTimeout  = time.Minute
	userTimeout  = time.Minute
)

// Kind names an XMPP server the testbed can start; it is the script's
// TESTBED_SERVER.
type Kind string

const (
	KindProsody  Kind = "prosody"  // Debian's Prosody; the default
	KindEjabberd Kind = "ejabberd" // Debian's ejabberd
)

// Kinds are the servers the testbed can start, for tests that run against
// each of them.
var Kinds = []Kind{KindProsody, KindEjabberd}

// Server is one running server of the testbed.
type Server struct {
	Kind    Kind
	Domain  string // "localhost"
	C2SAddr string // 127.0.0.1:port, plaintext with STARTTLS offered
	WSURL   string // ws://127.0.0.1:port/xmpp-websocket
	BOSHURL string // http://127.0.0.1:port/http-bind
	CAFile  string // PEM certificate of the server, its own CA
	Dir     string // config, data and logs (LogFile)
	PID     int

	script   string
	stopOnce sync.Once
	stopErr  error
}

// Prosody is the name Server had when the testbed started only Prosody;
// tests written against Prosody keep using it.
type Prosody = Server

// Options change how a server of the testbed is set up. The zero value is
// the usual Prosody.
type Options struct {
	// Kind is the server to start; empty means KindProsody.
	Kind Kind

	// RequireTLS makes c2s require STARTTLS, as most production servers
	// do: no SASL mechanism is offered before TLS.
	RequireTLS bool
}

// env returns what the script needs in its environment for opt.
func (opt Options) env() []string {
	kind := opt.Kind
	if kind == "" {
		kind = KindProsody
	}
	env := []string{"TESTBED_SERVER=" + string(kind)}
	if opt.RequireTLS {
		env = append(env, "TESTBED_REQUIRE_TLS=1")
	}
	return env
}

// Start starts a private Prosody for the test and stops it in t.Cleanup. It
// fails the test if Prosody cannot be started (never skips silently). When
// the test has failed, the end of Prosody's log is written to the test log.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options, such as Options{Kind: KindEjabberd} for
// an ejabberd.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := start(ctx, dir, opt.env())
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			p.logTail(t)
		}
		if err := p.Stop(); err != nil {
			t.Errorf("testbed: %v", err)
		}
	})
	return p
}

// StartMain is for TestMain: it starts one Prosody for a whole package and
// returns a stop function, which also removes its directory.
func StartMain() (*Server, func(), error) {
	return StartMainWith(Options{})
}

// StartMainWith is StartMain with options.
func StartMainWith(opt Options) (*Server, func(), error) {
	dir, err := os.MkdirTemp("", "xmppbridge-testbed-")
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := start(ctx, dir, opt.env())
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("testbed: %w", err)
	}
	stop := func() {
		if err := p.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		}
		os.RemoveAll(dir)
	}
	return p, stop, nil
}

// AddUser registers another user, or sets the password of one who exists.
func (p *Server) AddUser(t testing.TB, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), userTimeout)
	defer cancel()
	if _, err := runScript(ctx, p.script, nil, "adduser", p.Dir, user, password); err != nil {
		t.Fatalf("testbed: add user %s: %v", user, err)
	}
}

// Friends makes the users named (all registered, none logged in yet) each
// other's contacts with subscription both, as if they had added each other
// long ago: a user's presence then reaches the others.
func (p *Server) Friends(t testing.TB, users ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), userTimeout)
	defer cancel()
	if _, err := runScript(ctx, p.script, nil, append([]string{"friends", p.Dir}, users...)...); err != nil {
		t.Fatalf("testbed: friends %v: %v", users, err)
	}
}

// Stop stops the server and waits until it has exited. Later calls return
// the first call's result. Tests from Start need not call it: it runs in
// t.Cleanup. A test calls it to see what the bridge does when its server
// goes.
func (p *Server) Stop() error {
	p.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if _, err := runScript(ctx, p.script, nil, "stop", p.Dir); err != nil {
			p.stopErr = fmt.Errorf("stop %s in %s: %w", p.Kind, p.Dir, err)
		}
	})
	return p.stopErr
}

// TLSConfig returns a client TLS config that verifies this server: its
// certificate as the only root, and ServerName "localhost".
func (p *Server) TLSConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("testbed: no certificate in %s", p.CAFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: p.Domain, MinVersion: tls.VersionTLS12}, nil
}

// LogFile returns the path of the server's log: prosody.log or
// ejabberd.log in Dir.
func (p *Server) LogFile() string {
	return filepath.Join(p.Dir, string(p.Kind)+".log")
}

// LogTail returns the last n lines of the server's log, for failure
// messages.
func (p *Server) LogTail(n int) string {
	b, err := os.ReadFile(p.LogFile())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory that holds go.mod and scripts/testbed.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testbed: %w", err)
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "scripts", "testbed.sh")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testbed: no go.mod with scripts/testbed.sh at or above the working directory")
		}
		dir = parent
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// logTail writes the end of the server's log to the test log.
func (p *Server) logTail(t testing.TB) {
	t.Helper()
	t.Logf("testbed: end of %s:\n%s", p.LogFile(), p.LogTail(40))
}

// start runs "testbed.sh start dir" with extra environment env and reads
// the KEY=VALUE lines it prints. The last TESTBED_SERVER in env is the kind
// started (prosody when there is none).
func start(ctx context.Context, dir string, env []string) (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "scripts", "testbed.sh")
	// The script stops the server when this process is gone, so a test binary
	// killed by -timeout or a signal does not leave a server running.
	env = append([]string{"TESTBED_OWNER_PID=" + strconv.Itoa(os.Getpid())}, env...)
	out, err := runScript(ctx, script, env, "start", dir)
	if err != nil {
		// The script stops what it started when it fails, but not when it
		// was killed for taking too long.
		stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		runScript(stopCtx, script, nil, "stop", dir)
		return nil, err
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	kind := KindProsody
	for _, e := range env {
		if k, ok := strings.CutPrefix(e, "TESTBED_SERVER="); ok {
			kind = Kind(k)
		}
	}
	p := &Server{
		Kind:    kind,
		Domain:  kv["DOMAIN"],
		C2SAddr: kv["C2S_ADDR"],
		WSURL:   kv["WS_URL"],
		BOSHURL: kv["BOSH_URL"],
		CAFile:  kv["CA_FILE"],
		Dir:     dir,
		script:  script,
	}
	p.PID, _ = strconv.Atoi(kv["PID"])
	if p.Domain == "" || p.C2SAddr == "" || p.WSURL == "" || p.BOSHURL == "" || p.CAFile == "" || p.PID == 0 {
		p.Stop()
		return nil, fmt.Errorf("%s start printed no complete set of addresses:\n%s", script, out)
	}
	return p, nil
}

// runScript runs the testbed script and returns its stdout. Its stderr
// becomes part of the error.
func runScript(ctx context.Context, script string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	// Ports are always chosen by the script, so parallel tests never meet;
	// a C2S_PORT or HTTP_PORT from the developer's shell is not passed on,
	// nor a TESTBED_SERVER: the kind is the caller's choice.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "C2S_PORT=") && !strings.HasPrefix(e, "HTTP_PORT=") && !strings.HasPrefix(e, "TESTBED_SERVER=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// The server outlives the script with its output redirected to files; this
	// bounds the wait should anything still hold the pipes.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(script), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
