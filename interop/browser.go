package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is Debian's Chromium (packages chromium and
// chromium-driver); the environment variable CHROMIUM names another.
const DefaultChromium = "/usr/bin/chromium"

// browserStartTimeout bounds starting Chromium and opening its first tab.
const browserStartTimeout = 30 * time.Second

// ChromiumPath returns the Chromium the browser tests drive: $CHROMIUM if
// set, else DefaultChromium. It never downloads a browser.
func ChromiumPath() (string, error) {
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = DefaultChromium
	}
	full, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("interop: Chromium %s: %w (install Debian's chromium and chromium-driver; scripts/test.sh does it)", path, err)
	}
	return full, nil
}

// PageHandler serves the test page of interop/browser/ at / and the files
// of the converse.js npm package's dist/ under /dist/, all from disk: the
// page needs nothing from outside the machine. Responses are not cached, so
// a browser always runs the files as they are now.
func PageHandler() (http.Handler, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	dist := filepath.Join(dir, "node_modules", "converse.js", "dist")
	if _, err := os.Stat(filepath.Join(dist, "converse.min.js")); err != nil {
		return nil, fmt.Errorf("interop: converse.js is not installed in interop/node_modules: run \"npm ci --prefix interop\" in the repository root (scripts/test.sh does it)")
	}
	mux := http.NewServeMux()
	mux.Handle("/dist/", http.StripPrefix("/dist/", http.FileServer(http.Dir(dist))))
	// libomemo (Converse's OMEMO plugin) fetches its WebAssembly relative to
	// the page, not to the script, so it is served beside the page too.
	mux.HandleFunc("/curve25519_compiled.wasm", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dist, "curve25519_compiled.wasm"))
	})
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join(dir, "browser"))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	}), nil
}

// HostRules is Chromium's --host-resolver-rules: each name of mapped
// resolves to its address on loopback (127.0.0.1:port, the port taking the
// place of the URL's, as a page asking for https://localhost/ reaches
// 127.0.0.1:port), and every other name but 127.0.0.1 does not resolve, so
// a page cannot reach past loopback even where the machine could.
func HostRules(mapped ...[2]string) chromedp.ExecAllocatorOption {
	var rules []string
	for _, m := range mapped {
		host, _, err := net.SplitHostPort(m[1])
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			panic("interop: HostRules maps names only to a loopback ip:port, not " + m[1])
		}
		rules = append(rules, "MAP "+m[0]+" "+m[1])
	}
	rules = append(rules, "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1")
	return chromedp.Flag("host-resolver-rules", strings.Join(rules, ", "))
}

// Browser is one headless Chromium with a fresh profile and one tab,
// driven over the DevTools protocol. It records the tab's console: calls
// of the console API, uncaught exceptions and the browser's own log
// entries (failed requests, CORS refusals, ...).
//
// Concurrency: one goroutine drives the tab through Context; Console and
// Output may be called from any goroutine.
type Browser struct {
	ctx         context.Context // the tab; the browser lives as long as it
	cancel      context.CancelFunc
	allocCancel context.CancelFunc // kills Chromium, waits, removes the profile
	consoleDone chan struct{}

	output syncBuffer // Chromium's stdout and stderr

	mu      sync.Mutex
	console []string
}

// StartBrowser starts Chromium headless with a fresh profile (a new
// temporary --user-data-dir, removed by Close) and a window of width×height
// pixels, and opens its tab. Close must be called. Options in extra come
// after the usual ones and so replace those they name: HostRules, for one.
func StartBrowser(width, height int, extra ...chromedp.ExecAllocatorOption) (*Browser, error) {
	path, err := ChromiumPath()
	if err != nil {
		return nil, err
	}
	b := &Browser{consoleDone: make(chan struct{})}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		// What every browser test here runs with: no sandbox (we are root
		// in a container), no GPU, and nothing that reaches for the network
		// on its own.
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("password-store", "basic"),
		// Names other than 127.0.0.1 do not resolve: a page cannot reach
		// past loopback even where the machine could.
		HostRules(),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(&b.output),
	)
	opts = append(opts, extra...)
	// No UserDataDir option: chromedp then makes a fresh temporary profile
	// and, once Chromium and its helpers are gone, removes it.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b.allocCancel = allocCancel
	b.ctx, b.cancel = chromedp.NewContext(allocCtx)

	// The first action starts Chromium and binds its life to b.ctx, so it
	// must run on b.ctx itself; a timer bounds it instead of a deadline.
	timer := time.AfterFunc(browserStartTimeout, b.cancel)
	err = chromedp.Do(b.ctx)
	stopped := timer.Stop()
	if err != nil || !stopped {
		b.cancel()
		b.allocCancel()
		if err == nil {
			err = context.DeadlineExceeded
		}
		return nil, fmt.Errorf("interop: start %s: %w\n%s", path, err, b.output.String())
	}

	messages := chromedp.Console(b.ctx)
	go func() {
		defer close(b.consoleDone)
		for m, err := range messages {
			if err != nil {
				return // the tab is gone
			}
			line := m.Time.UTC().Format("15:04:05.000") + " " + m.String()
			if m.URL != "" {
				line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			b.mu.Lock()
			b.console = append(b.console, line)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// Context returns the tab's context, for chromedp.Do and chromedp.Run.
// Derive a context with a timeout from it to bound one action.
func (b *Browser) Context() context.Context { return b.ctx }

// Console returns the tab's console so far, one message a line.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// Output returns what Chromium printed on stdout and stderr.
func (b *Browser) Output() string { return b.output.String() }

// Close stops Chromium and waits until it and the console reader are gone
// and its profile is removed.
func (b *Browser) Close() {
	b.cancel()
	b.allocCancel()
	<-b.consoleDone
}

// syncBuffer is a bytes.Buffer that Chromium's output goroutine and the
// test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
