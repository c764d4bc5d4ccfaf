package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The failover run (xmppbridge-bench failover) logs n users in over the
// JSON API and over XMPP's own WebSocket and BOSH through a balancer in
// front of a cluster of bridges that share [json] resume_key, has pairs
// of them exchange numbered messages, kills one bridge process with
// SIGKILL, and counts what the pages of the users saw: every JSON page
// whose connection failed resumes through the balancer with its token and
// its counts (failover_page.go), on the survivor, which resumes the
// server's stream with XEP-0198 where the dead one held the session; every
// XML client resumes the server's session with its own XEP-0198 on a new
// stream through the survivor (failover_xml.go). It reports per transport the sessions that had to resume,
// those that resumed and those that could not (and logged in again), the
// time from the kill to each one resumed, and of every message sent
// whether it arrived once, in order, or was lost, duplicated or reordered.
//
// As in the soak, a user's partner is on another transport where there
// are several (users 2k and 2k+1), and every message carries the sender's
// number, a sequence number and the send time.

// failoverConfig is the failover subcommand's flags.
type failoverConfig struct {
	wsURL, httpURL string
	xmlWSURL       string // RFC 7395 WebSocket
	boshURL        string
	transports     []string
	n              int
	userFlags
	rate        float64
	before      time.Duration
	after       time.Duration
	killPID     int
	killNode    string
	jitter      time.Duration
	resumeBound time.Duration
	grace       time.Duration
	timeout     time.Duration
	jsonFile    string
	quiet       bool
}

func failover(args []string) error {
	var c failoverConfig
	fs := flag.NewFlagSet("failover", flag.ExitOnError)
	fs.StringVar(&c.wsURL, "ws", "", "the JSON API's WebSocket URL at the balancer, e.g. ws://HOST:PORT/json/ws")
	fs.StringVar(&c.httpURL, "http", "", "the JSON API's base URL at the balancer, e.g. http://HOST:PORT/json, for events streams and long-poll")
	fs.StringVar(&c.xmlWSURL, "xmlws", "", "the XMPP WebSocket URL (RFC 7395) at the balancer, e.g. ws://HOST:PORT/xmpp-websocket")
	fs.StringVar(&c.boshURL, "bosh", "", "the BOSH URL at the balancer, e.g. http://HOST:PORT/http-bind")
	transports := fs.String("transports", "ws,sse,poll,xmlws,bosh", "the transports the users are dealt out over, in turn: the JSON API's ws, sse and poll, XMPP over WebSocket (xmlws) and BOSH (bosh)")
	fs.IntVar(&c.n, "n", 1000, "users (even: they send in pairs)")
	c.userFlags.flags(fs, 32)
	fs.Float64Var(&c.rate, "rate", 200, "messages per second in all")
	fs.DurationVar(&c.before, "before", 20*time.Second, "messages before the kill")
	fs.DurationVar(&c.after, "after", 30*time.Second, "messages after the kill")
	fs.IntVar(&c.killPID, "kill-pid", 0, "the bridge process to kill with SIGKILL (required)")
	fs.StringVar(&c.killNode, "kill-node", "", "its [cluster] node name, which starts its sids: the HTTP sessions it held are told apart")
	fs.DurationVar(&c.jitter, "jitter", 250*time.Millisecond, "a page whose connection failed waits a random time below this before its first resume")
	fs.DurationVar(&c.resumeBound, "resume-bound", time.Minute, "a page that has not resumed after this long logs in again")
	fs.DurationVar(&c.grace, "grace", 20*time.Second, "bound on the wait, after the last message, for messages under way")
	fs.DurationVar(&c.timeout, "timeout", 0, "bound on the whole run (0: before + after + grace + 3 minutes)")
	fs.StringVar(&c.jsonFile, "json", "", "write the results as JSON to this file")
	fs.Parse(args)
	c.transports = strings.Split(*transports, ",")
	if err := c.check(); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if c.timeout == 0 {
		c.timeout = c.before + c.after + c.grace + 3*time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := runFailover(ctx, c, os.Stderr)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if err := publish(&r.Command, r, c.jsonFile, func(w io.Writer) { writeFailoverTables(w, r) }); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if !r.Pass {
		return fmt.Errorf("failover: FAIL: %s", strings.Join(r.Problems, "; "))
	}
	return nil
}

// check reports every problem with the flags at once.
func (c *failoverConfig) check() error {
	var problems []error
	for _, t := range c.transports {
		switch {
		case t == "ws" && c.wsURL == "":
			problems = append(problems, errors.New("-transports ws needs -ws"))
		case (t == "sse" || t == "poll") && c.httpURL == "":
			problems = append(problems, fmt.Errorf("-transports %s needs -http", t))
		case t == "xmlws" && c.xmlWSURL == "":
			problems = append(problems, errors.New("-transports xmlws needs -xmlws"))
		case t == "bosh" && c.boshURL == "":
			problems = append(problems, errors.New("-transports bosh needs -bosh"))
		case !slices.Contains([]string{"ws", "sse", "poll", "xmlws", "bosh"}, t):
			problems = append(problems, fmt.Errorf("-transports: unknown %q (want ws, sse, poll, xmlws, bosh)", t))
		}
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	// At most two connections a page, and three while one resumes.
	if fds := 3*c.n + 64; c.n < 2 || c.n%2 != 0 || uint64(fds) > lim.Cur {
		problems = append(problems, fmt.Errorf("-n %d: must be even, at least 2, and needs %d file descriptors under the open-file limit of %d", c.n, fds, lim.Cur))
	}
	if c.rate <= 0 || c.before <= 0 || c.after <= 0 || c.grace < 0 || c.jitter < 0 || c.resumeBound <= 0 {
		problems = append(problems, errors.New("-rate, -before, -after and -resume-bound must be positive, -grace and -jitter not negative"))
	}
	if c.killPID == 0 {
		problems = append(problems, errors.New("-kill-pid is required"))
	}
	if c.sources < 1 || c.sources > 250 || c.concurrency < 1 {
		problems = append(problems, errors.New("-sources must be 1…250, -concurrency positive"))
	}
	return errors.Join(problems...)
}

// failPage is one user's page.
type failPage struct {
	id      int
	name    string
	kind    string
	xml     bool // speaks XMPP and does its own XEP-0198 (failover_xml.go)
	dialer  pageDialer
	src     net.IP
	partner *failPage

	// sendMu orders the page's frames: a send, and a resume with the
	// frames it sends again.
	sendMu  sync.Mutex
	conn    pageConn // nil while the page is away
	out     [][]byte // its frames not yet confirmed, numbered outBase+1…
	outBase int64
	sent    []time.Duration // to partner, by seq-1: when handed to the page

	mu        sync.Mutex
	token     string
	h         int64 // the server's stanzas the page has
	ackN      int64 // the latest confirmation of its frames
	ackH      int64
	recv      []uint8 // by seq-1: times it arrived from partner
	maxSeq    int64
	reordered int
	breaks    []pageBreak
	dropped   int // frames never confirmed when it logged in afresh
	gap       int // resumes whose received lay before what it still had
	resent    int // frames sent at a resume: the server had not had them
}

// pageBreak is one failed connection of a page and what came of it.
type pageBreak struct {
	at       time.Duration // since the run's base
	done     time.Duration // resumed or logged in again
	killed   bool          // its sid named the node killed (HTTP transports)
	outcome  string        // "resumed", "relogin"
	attempts int
	why      string   // the failure that made it log in again
	retried  []string // the failures of the attempts before the last
}

// failoverRun is the state of one run shared by its goroutines.
type failoverRun struct {
	cfg      failoverConfig
	base     time.Time
	pages    []*failPage
	log      *os.File
	stopping atomic.Bool
	lives    sync.WaitGroup
	killAt   atomic.Int64 // since base, ns; 0: not yet
	stray    atomic.Int64
}

func (fr *failoverRun) now() time.Duration { return time.Since(fr.base) }

func (fr *failoverRun) logf(format string, args ...any) {
	if fr.log != nil {
		fmt.Fprintf(fr.log, format+"\n", args...)
	}
}

func runFailover(ctx context.Context, c failoverConfig, progress *os.File) (*failoverResults, error) {
	fr := &failoverRun{cfg: c, base: time.Now(), log: progress}
	if c.quiet {
		fr.log = nil
	}
	dialers := map[string]pageDialer{"ws": &wsPageDialer{url: c.wsURL}, "sse": &ssePageDialer{url: c.httpURL}, "poll": &pollPageDialer{url: c.httpURL},
		"xmlws": &xmlPageDialer{path: &wsPath{name: "xmlws", url: c.xmlWSURL}}, "bosh": &xmlPageDialer{path: &boshPath{name: "bosh", url: c.boshURL}}}
	for i := range c.n {
		k := c.transports[i%len(c.transports)]
		fr.pages = append(fr.pages, &failPage{id: i, name: c.prefix + strconv.Itoa(i), kind: k, xml: k == "xmlws" || k == "bosh", dialer: dialers[k], src: net.IPv4(127, 0, 0, byte(2+i%c.sources))})
	}
	for i, p := range fr.pages {
		p.partner = fr.pages[i^1]
	}
	load0 := loadavg()

	// Log every page in, concurrency at a time.
	start := time.Now()
	var logged atomic.Int64
	err := forEach(ctx, c.n, c.concurrency, func(i int) error {
		p := fr.pages[i]
		if _, err := fr.login(ctx, p); err != nil {
			return fmt.Errorf("%s (%s): %w", p.name, p.kind, err)
		}
		if k := logged.Add(1); k%250 == 0 {
			fr.logf("failover: logged in %d/%d", k, c.n)
		}
		return nil
	})
	loginSeconds := time.Since(start).Seconds()
	fr.logf("failover: logged in %d/%d in %.1f s", logged.Load(), c.n, loginSeconds)
	defer fr.closeAll()
	if err != nil {
		return nil, err
	}
	for _, p := range fr.pages {
		fr.lives.Add(1)
		go fr.life(ctx, p)
	}

	// Messages, the kill among them.
	msgStart := time.Now()
	end := msgStart.Add(c.before + c.after)
	var senders sync.WaitGroup
	for _, p := range fr.pages {
		senders.Add(1)
		go func() {
			defer senders.Done()
			fr.send(ctx, p, msgStart, end)
		}()
	}
	if !sleepUntil(ctx, msgStart.Add(c.before)) {
		return nil, ctx.Err()
	}
	loadKill := loadavg()
	fr.killAt.Store(int64(fr.now()))
	if err := syscall.Kill(c.killPID, syscall.SIGKILL); err != nil {
		return nil, fmt.Errorf("kill %d: %w", c.killPID, err)
	}
	fr.logf("failover: killed %d at %.1f s", c.killPID, fr.now().Seconds())
	stopProgress := fr.progress()
	senders.Wait()
	fr.drain(ctx, time.Now().Add(c.grace))
	stopProgress()
	r := fr.report()
	r.LoginSeconds = loginSeconds
	r.Load = [3]string{load0, loadKill, loadavg()}
	r.Started = fr.base.UTC()
	return r, ctx.Err()
}

// login logs p in afresh: a new session, nothing of the old one kept. It
// sends initial presence as its first frame.
func (fr *failoverRun) login(ctx context.Context, p *failPage) (pageConn, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	conn, o, err := p.dialer.open(ctx, p.src, fr.hello(p), p.noteAcked, p.handled)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.token, p.h, p.ackN, p.ackH = o.token, 0, 0, 0
	p.mu.Unlock()
	p.dropped += len(p.out)
	p.out, p.outBase, p.conn = nil, 0, conn
	// A failed send drops conn, and the page's life reads the failure.
	p.sendLocked(p.spelling().appendPresence(nil))
	return conn, nil
}

// hello is what p logs in with.
func (fr *failoverRun) hello(p *failPage) pageHello {
	return pageHello{domain: fr.cfg.domain, user: p.name, password: fr.cfg.password}
}

// handled is the number of the server's stanzas p has.
func (p *failPage) handled() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.h
}

// noteAcked takes in a confirmation of the page's frames.
func (p *failPage) noteAcked(n, h int64) {
	p.mu.Lock()
	if n > p.ackN {
		p.ackN, p.ackH = n, h
	}
	p.mu.Unlock()
}

// sendLocked keeps frame until it is confirmed and sends it if the page
// has a connection; a send that fails drops the connection, and the
// page's life resumes it.
func (p *failPage) sendLocked(frame []byte) error {
	p.mu.Lock()
	ackN := p.ackN
	p.mu.Unlock()
	if k := min(ackN-p.outBase, int64(len(p.out))); k > 0 {
		p.out = p.out[k:]
		p.outBase += k
	}
	p.out = append(p.out, frame)
	if p.conn == nil {
		return nil
	}
	if err := p.conn.send(frame); err != nil {
		c := p.conn
		p.conn = nil
		c.abort()
		return err
	}
	return nil
}

// life reads p's frames and, whenever its connection fails, resumes it,
// until the run stops.
func (fr *failoverRun) life(ctx context.Context, p *failPage) {
	defer fr.lives.Done()
	p.sendMu.Lock()
	conn := p.conn
	p.sendMu.Unlock()
	for {
		fr.readAll(p, conn)
		if fr.stopping.Load() || ctx.Err() != nil {
			return
		}
		at := fr.now()
		p.sendMu.Lock()
		if p.conn == conn {
			p.conn = nil
		}
		p.sendMu.Unlock()
		conn.abort()
		b := pageBreak{at: at, killed: fr.cfg.killNode != "" && strings.HasPrefix(conn.sid(), fr.cfg.killNode+".")}
		last := conn.last()
		conn = fr.recover(ctx, p, last, &b)
		if conn == nil {
			return
		}
		b.done = fr.now()
		p.mu.Lock()
		p.breaks = append(p.breaks, b)
		p.mu.Unlock()
	}
}

// readAll counts what arrives on conn until it fails.
func (fr *failoverRun) readAll(p *failPage, conn pageConn) {
	for {
		el, err := conn.recv()
		if err != nil {
			return
		}
		if p.xml && isXMLStanza(el) || !p.xml && isStanzaFrame(el) {
			p.mu.Lock()
			p.h++
			p.mu.Unlock()
		}
		k, pr, ok := p.spelling().inspect(el)
		if k != elemMessage || !ok || pr.from == 0 {
			continue
		}
		fr.receive(p, pr)
	}
}

// recover resumes p, trying again while the failures are worth it, and
// logs it in afresh when the bridge refuses or the bound runs out. It
// returns the new connection, or nil once the run stops.
func (fr *failoverRun) recover(ctx context.Context, p *failPage, last int64, b *pageBreak) pageConn {
	deadline := time.Now().Add(fr.cfg.resumeBound)
	pause := rand.N(fr.cfg.jitter + 1)
	for ctx.Err() == nil && !fr.stopping.Load() {
		sleepCtx(ctx, pause)
		pause = min(max(2*pause, 200*time.Millisecond), 2*time.Second)
		b.attempts++
		conn, err := fr.resumeOnce(ctx, p, last)
		if err == nil {
			b.outcome = "resumed"
			return conn
		}
		b.retried = append(b.retried, failureCode(err))
		var refused *errRefused
		if errors.As(err, &refused) || time.Now().After(deadline) {
			b.outcome, b.why = "relogin", failureCode(err)
			for ctx.Err() == nil && !fr.stopping.Load() {
				if conn, err := fr.login(ctx, p); err == nil {
					return conn
				}
				sleepCtx(ctx, 2*time.Second)
			}
			return nil
		}
	}
	return nil
}

// failureCode names a failed resume briefly, for the counts: the
// bridge's refusal, an HTTP status, or the transport's failure.
func failureCode(err error) string {
	var r *errRefused
	var ae *apiError
	switch {
	case errors.As(err, &r):
		return "refused " + r.code
	case errors.As(err, &ae) && ae.code != "":
		return fmt.Sprintf("HTTP %d %s", ae.status, ae.code)
	case errors.As(err, &ae):
		return fmt.Sprintf("HTTP %d", ae.status)
	}
	return transportCode(err)
}

// spelling is what p's stanzas are written in.
func (p *failPage) spelling() spelling {
	if p.xml {
		return xmlSpelling{}
	}
	return jsonSpelling{}
}

func (p *failPage) current() pageConn {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return p.conn
}

// resumeOnce sends the resume frame on a fresh connection and, resumed,
// sends again the page's frames after received.
func (fr *failoverRun) resumeOnce(ctx context.Context, p *failPage, last int64) (pageConn, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	hello := fr.hello(p)
	p.mu.Lock()
	hello.resume, hello.token, hello.last, hello.h, hello.ackN, hello.ackH = true, p.token, last, p.h, p.ackN, p.ackH
	p.mu.Unlock()
	conn, o, err := p.dialer.open(ctx, p.src, hello, p.noteAcked, p.handled)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.token = o.token
	p.mu.Unlock()
	p.noteAcked(o.ackN, o.ackH)
	if o.received < p.outBase {
		p.gap++
		o.received = p.outBase
	}
	again := p.out[min(o.received-p.outBase, int64(len(p.out))):]
	p.resent += len(again)
	p.out = slices.Clone(again)
	p.outBase = o.received
	p.conn = conn
	for _, f := range again {
		if err := conn.send(f); err != nil {
			// Resumed, and dropped again at once: the page's life reads
			// the failure and resumes once more.
			p.conn = nil
			conn.abort()
			break
		}
	}
	return conn, nil
}

// receive counts one message p received.
func (fr *failoverRun) receive(p *failPage, pr probe) {
	if int(pr.from-1) != p.partner.id || pr.seq < 1 {
		fr.stray.Add(1)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := int(pr.seq - 1)
	for len(p.recv) <= i {
		p.recv = append(p.recv, 0)
	}
	if p.recv[i] == 0 && pr.seq < p.maxSeq {
		p.reordered++
	}
	p.maxSeq = max(p.maxSeq, pr.seq)
	if p.recv[i] < 255 {
		p.recv[i]++
	}
}

// send sends p's messages to its partner from start until end, at
// rate/n.
func (fr *failoverRun) send(ctx context.Context, p *failPage, start, end time.Time) {
	interval := time.Duration(float64(time.Second) * float64(len(fr.pages)) / fr.cfg.rate)
	next := start.Add(rand.N(interval))
	to := p.partner.name + "@" + fr.cfg.domain + "/load"
	for ctx.Err() == nil {
		if !sleepUntil(ctx, next) || !next.Before(end) {
			return
		}
		next = next.Add(interval)
		p.sendMu.Lock()
		seq := int64(len(p.sent) + 1)
		at := fr.now()
		p.sent = append(p.sent, at)
		p.sendLocked(p.spelling().appendMessage(nil, to, probe{seq: seq, sent: at, from: int64(p.id + 1)}))
		p.sendMu.Unlock()
	}
}

// drain waits until every message sent has arrived, at most until
// deadline.
func (fr *failoverRun) drain(ctx context.Context, deadline time.Time) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		missing := 0
		for _, p := range fr.pages {
			p.sendMu.Lock()
			n := len(p.sent)
			p.sendMu.Unlock()
			q := p.partner
			q.mu.Lock()
			for i := range n {
				if i >= len(q.recv) || q.recv[i] == 0 {
					missing++
				}
			}
			q.mu.Unlock()
		}
		if missing == 0 {
			return
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// progress writes a line every five seconds until stopped.
func (fr *failoverRun) progress() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				away := 0
				for _, p := range fr.pages {
					if p.current() == nil {
						away++
					}
				}
				fr.logf("failover: %.0f s after the kill: %d of %d pages away", (fr.now() - time.Duration(fr.killAt.Load())).Seconds(), away, len(fr.pages))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// closeAll ends every session, as pages that log out, 64 at a time.
func (fr *failoverRun) closeAll() {
	fr.stopping.Store(true)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, p := range fr.pages {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.sendMu.Lock()
			c := p.conn
			p.conn = nil
			p.sendMu.Unlock()
			if c != nil {
				c.close()
				c.abort()
			}
		}()
	}
	wg.Wait()
	fr.lives.Wait()
}

// afterKill tells the breaks the kill caused from earlier ones.
func (b pageBreak) afterKill(kill time.Duration) bool { return b.at >= kill }

// failoverResults is what one run measured.
type failoverResults struct {
	Command      string               `json:"command"`
	Started      time.Time            `json:"started"`
	Sessions     int                  `json:"sessions"`
	Rate         float64              `json:"rate"`
	LoginSeconds float64              `json:"login_s"`
	KillAt       float64              `json:"kill_at_s"`
	Transports   []*failoverTransport `json:"transports"`
	All          *failoverTransport   `json:"all"`
	Stray        int64                `json:"stray"`
	Load         [3]string            `json:"loadavg"` // at the start, at the kill, at the end
	Relogins     map[string]int       `json:"relogin_causes,omitempty"`
	Retries      map[string]int       `json:"retry_causes,omitempty"` // failed resume attempts by error
	Problems     []string             `json:"problems,omitempty"`
	Pass         bool                 `json:"pass"`
}

// failoverTransport is one transport's figures (All: every transport's).
type failoverTransport struct {
	Transport string `json:"transport"`
	Sessions  int    `json:"sessions"`
	// Sessions whose connection failed after the kill, those of them
	// whose sid named the node killed (HTTP transports; every WebSocket
	// that failed was on it), resumed, and logged in again.
	Broken    int       `json:"broken"`
	OnKilled  int       `json:"on_killed_node"`
	Resumed   int       `json:"resumed"`
	Relogin   int       `json:"relogin"`
	ToResumed durations `json:"kill_to_resumed"` // from the kill to each resumed
	AllIn     float64   `json:"all_resumed_s"`   // from the kill to the last
	Attempts  int       `json:"resume_attempts"`
	// Messages to the transport's users: sent, and those lost, doubled
	// and out of order, among pairs where neither page logged in again;
	// then the same for pairs where one did (excused).
	Sent       int64 `json:"sent"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
	ExcSent    int64 `json:"excused_sent"`
	ExcLost    int64 `json:"excused_lost"`
	ExcDup     int64 `json:"excused_duplicated"`
	Gaps       int   `json:"resend_gaps"`
	Resent     int   `json:"resent"` // frames sent at resumes: lost with the connection or written while away
	Dropped    int   `json:"dropped_on_relogin"`
}

func (fr *failoverRun) report() *failoverResults {
	kill := time.Duration(fr.killAt.Load())
	r := &failoverResults{Sessions: len(fr.pages), Rate: fr.cfg.rate, KillAt: kill.Seconds(), Stray: fr.stray.Load(), Relogins: map[string]int{}, Retries: map[string]int{}}
	byKind := map[string]*failoverTransport{}
	r.All = &failoverTransport{Transport: "all"}
	var allTimes []time.Duration
	times := map[string][]time.Duration{}
	for _, k := range fr.cfg.transports {
		if byKind[k] == nil {
			byKind[k] = &failoverTransport{Transport: k}
			r.Transports = append(r.Transports, byKind[k])
		}
	}
	relogged := func(p *failPage) bool {
		for _, b := range p.breaks {
			if b.outcome == "relogin" {
				return true
			}
		}
		return false
	}
	for _, p := range fr.pages {
		t := byKind[p.kind]
		p.mu.Lock()
		for _, x := range []*failoverTransport{t, r.All} {
			x.Sessions++
			x.Gaps += p.gap
			x.Dropped += p.dropped
			x.Resent += p.resent
		}
		var broken *pageBreak
		for i := range p.breaks {
			b := &p.breaks[i]
			for _, x := range []*failoverTransport{t, r.All} {
				x.Attempts += b.attempts
			}
			if b.afterKill(kill) && broken == nil {
				broken = b
			}
			if b.outcome == "relogin" {
				r.Relogins[b.why]++
			}
			for _, e := range b.retried {
				r.Retries[e]++
			}
		}
		if broken != nil {
			d := broken.done - kill
			for _, x := range []*failoverTransport{t, r.All} {
				x.Broken++
				if broken.killed || p.kind == "ws" || p.kind == "xmlws" {
					x.OnKilled++
				}
				if broken.outcome == "resumed" {
					x.Resumed++
				} else {
					x.Relogin++
				}
			}
			if broken.outcome == "resumed" {
				times[p.kind] = append(times[p.kind], d)
				allTimes = append(allTimes, d)
			}
		}
		p.mu.Unlock()
	}
	// Messages, counted at the receiver.
	for _, q := range fr.pages {
		s := q.partner
		t := byKind[q.kind]
		s.sendMu.Lock()
		sent := int64(len(s.sent))
		s.sendMu.Unlock()
		excused := relogged(s) || relogged(q)
		q.mu.Lock()
		var lost, dup int64
		for i := range sent {
			switch {
			case i >= int64(len(q.recv)) || q.recv[i] == 0:
				lost++
			case q.recv[i] > 1:
				dup += int64(q.recv[i] - 1)
			}
		}
		reordered := int64(q.reordered)
		q.mu.Unlock()
		for _, x := range []*failoverTransport{t, r.All} {
			if excused {
				x.ExcSent += sent
				x.ExcLost += lost
				x.ExcDup += dup
				continue
			}
			x.Sent += sent
			x.Lost += lost
			x.Duplicated += dup
			x.Reordered += reordered
		}
	}
	for _, t := range r.Transports {
		d := times[t.Transport]
		t.ToResumed = summarise(d)
		if len(d) > 0 {
			t.AllIn = slices.Max(d).Seconds()
		}
	}
	r.All.ToResumed = summarise(allTimes)
	if len(allTimes) > 0 {
		r.All.AllIn = slices.Max(allTimes).Seconds()
	}
	a := r.All
	if a.Lost > 0 || a.Duplicated > 0 || a.Reordered > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("among pages that resumed or never broke: %d lost, %d duplicated, %d reordered of %d messages", a.Lost, a.Duplicated, a.Reordered, a.Sent))
	}
	if a.Broken == 0 {
		r.Problems = append(r.Problems, "no page lost its connection at the kill")
	}
	if a.Gaps > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d resumes said received before frames the page had forgotten as confirmed", a.Gaps))
	}
	if r.Stray > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d messages from nobody's partner", r.Stray))
	}
	r.Pass = len(r.Problems) == 0
	return r
}

// writeFailoverTables writes r as markdown.
func writeFailoverTables(w io.Writer, r *failoverResults) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d sessions at %.0f msg/s, logged in in %.1f s; killed at %.1f s; load average %s at the start, %s at the kill, %s at the end.\n\n",
		r.Sessions, r.Rate, r.LoginSeconds, r.KillAt, r.Load[0], r.Load[1], r.Load[2])
	fmt.Fprintf(&b, "| transport | sessions | broken (on the node killed) | resumed | logged in again | kill → resumed p50 | p99 | max | attempts |\n")
	fmt.Fprintf(&b, "|-----------|---------:|----------------------------:|--------:|----------------:|-------------------:|----:|----:|---------:|\n")
	row := func(t *failoverTransport) {
		fmt.Fprintf(&b, "| %s | %d | %d (%d) | %d | %d | %s ms | %s ms | %s ms | %d |\n", t.Transport, t.Sessions, t.Broken, t.OnKilled, t.Resumed, t.Relogin,
			fms(t.ToResumed.P50), fms(t.ToResumed.P99), fms(t.ToResumed.Max), t.Attempts)
	}
	for _, t := range r.Transports {
		row(t)
	}
	row(r.All)
	fmt.Fprintf(&b, "\n| to transport | messages | lost | duplicated | reordered | with a page logged in again: messages, lost, duplicated | its pages' frames sent at resume |\n")
	fmt.Fprintf(&b, "|--------------|---------:|-----:|-----------:|----------:|--------------------------------------------------------:|---------------------------------:|\n")
	mrow := func(t *failoverTransport) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d, %d, %d | %d |\n", t.Transport, t.Sent, t.Lost, t.Duplicated, t.Reordered, t.ExcSent, t.ExcLost, t.ExcDup, t.Resent)
	}
	for _, t := range r.Transports {
		mrow(t)
	}
	mrow(r.All)
	fmt.Fprintf(&b, "\nThe last page resumed %.2f s after the kill.", r.All.AllIn)
	if len(r.Relogins) > 0 {
		fmt.Fprintf(&b, " Logged in again after: %v.", r.Relogins)
	}
	if len(r.Retries) > 0 {
		fmt.Fprintf(&b, " Resume attempts that failed: %v.", r.Retries)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(&b, "\n\nProblems: %s.", strings.Join(r.Problems, "; "))
	}
	fmt.Fprintln(&b)
	w.Write(b.Bytes())
}
