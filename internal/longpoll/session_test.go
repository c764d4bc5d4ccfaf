package longpoll

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/httphold"
)

// fake is a transport whose answers say what they answered: "rid:N" with
// the payloads pending ("rid:4 m1 m2"), or "refused:why".
type fake struct {
	s *Session

	mu      sync.Mutex // guards taken and idle, read by the test
	taken   []uint64
	idle    int
	block   chan struct{} // Take waits on it when set
	pending []string      // payloads for the client: Ready when there are some
	admit   func(r *Request, open int) *Answer
	ends    bool   // the next answer ends the session
	during  func() // called inside Answer
}

func (f *fake) Admit(r *Request, open int) *Answer {
	if f.admit != nil {
		return f.admit(r, open)
	}
	return nil
}

func (f *fake) Turn(*Request) *Answer { return nil }

func (f *fake) Take(r *Request) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.taken = append(f.taken, r.RID)
	f.mu.Unlock()
}

func (f *fake) Ready(*Request) bool { return len(f.pending) > 0 }

func (f *fake) Answer(r *Request) Answer {
	if d := f.during; d != nil {
		f.during = nil
		d()
	}
	b := fmt.Sprintf("rid:%d", r.RID)
	for _, p := range f.pending {
		b += " " + p
	}
	f.pending = nil
	a := Answer{Response: httphold.Response{Status: 200, Body: []byte(b)}, Keep: true}
	if f.ends {
		a.End, a.Rest = true, httphold.Response{Status: 200, Body: []byte("over")}
	}
	return a
}

func (f *fake) Refused(r *Request, why Why) Answer {
	return Answer{Response: httphold.Response{Status: 200, Body: []byte(fmt.Sprintf("refused:%d", why))}}
}

func (f *fake) Taken(*Request) {}

func (f *fake) Resent(*Request) (*Answer, bool) { return nil, false }

func (f *fake) Ended() {}

func (f *fake) Idle() {
	f.mu.Lock()
	f.idle++
	f.mu.Unlock()
}

// push gives the client something and pokes the session, as a bridge
// session's Wake does.
func (f *fake) push(p string) {
	f.s.Lock()
	f.pending = append(f.pending, p)
	f.s.PokeLocked()
	f.s.Unlock()
}

// reply records its one answer.
type reply struct {
	mu  sync.Mutex
	got []string
}

func (r *reply) Answer(resp httphold.Response) {
	r.mu.Lock()
	r.got = append(r.got, string(resp.Body))
	r.mu.Unlock()
}

// answer is the answer so far, "" for none; more than one fails.
func (r *reply) answer(t *testing.T) string {
	t.Helper()
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch len(r.got) {
	case 0:
		return ""
	case 1:
		return r.got[0]
	}
	t.Fatalf("answered %d times: %q", len(r.got), r.got)
	return ""
}

var params = Params{Wait: 30 * time.Second, Hold: 1, Requests: 2, Inactivity: time.Minute}

func newFake(p Params) *fake {
	f := &fake{}
	f.s = New(p, f, 1)
	return f
}

// submit sends rid on a goroutine of its own (Submit may block in Take)
// and returns its reply.
func (f *fake) submit(rid uint64, mods ...func(*Request)) *reply {
	r := &Request{RID: rid}
	for _, m := range mods {
		m(r)
	}
	rp := &reply{}
	go f.s.Submit(r, rp)
	synctest.Wait()
	return rp
}

func (f *fake) takenRIDs() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.taken)
}

func TestInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Params{Wait: 30 * time.Second, Hold: 2, Requests: 3, Inactivity: time.Minute})
		r3 := f.submit(3)
		if got := f.takenRIDs(); len(got) != 0 {
			t.Fatalf("rid 3 taken before 2: %v", got)
		}
		r2 := f.submit(2)
		if got := f.takenRIDs(); !slices.Equal(got, []uint64{2, 3}) {
			t.Fatalf("taken %v, want [2 3]", got)
		}
		f.push("m1")
		if a, b := r2.answer(t), r3.answer(t); a != "rid:2 m1" || b != "" {
			t.Fatalf("answers %q %q: the oldest carries what there is", a, b)
		}
		f.push("m2")
		if b := r3.answer(t); b != "rid:3 m2" {
			t.Fatalf("answer %q", b)
		}
	})
}

func TestGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r3 := f.submit(3)
		time.Sleep(29 * time.Second)
		if a := r3.answer(t); a != "" {
			t.Fatalf("answered %q before the gap ran out", a)
		}
		time.Sleep(2 * time.Second)
		if a := r3.answer(t); a != fmt.Sprintf("refused:%d", WhyTurn) {
			t.Fatalf("answer %q, want refused for its turn", a)
		}
		if got := f.takenRIDs(); len(got) != 0 {
			t.Fatalf("taken %v", got)
		}
		// The rid was not taken: the client sends 2 and 3 again.
		r2 := f.submit(2)
		r3 = f.submit(3)
		if got := f.takenRIDs(); !slices.Equal(got, []uint64{2, 3}) {
			t.Fatalf("taken %v", got)
		}
		if a := r2.answer(t); a != "rid:2" {
			t.Fatalf("over hold: rid 2 answered %q", a)
		}
		_ = r3
	})
}

func TestHoldWaitAndResend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r2 := f.submit(2)
		time.Sleep(29 * time.Second)
		if a := r2.answer(t); a != "" {
			t.Fatalf("answered %q before its wait ran out", a)
		}
		time.Sleep(2 * time.Second)
		if a := r2.answer(t); a != "rid:2" {
			t.Fatalf("after its wait: %q", a)
		}
		again := f.submit(2)
		if a := again.answer(t); a != "rid:2" {
			t.Fatalf("a resend got %q, want the answer kept", a)
		}
		if got := f.takenRIDs(); !slices.Equal(got, []uint64{2}) {
			t.Fatalf("a resend was taken again: %v", got)
		}

		// A resend of the rid held: the newer copy waits in its place.
		r3 := f.submit(3)
		r3b := f.submit(3)
		if a := r3.answer(t); a != fmt.Sprintf("refused:%d", WhySuperseded) {
			t.Fatalf("the first copy got %q", a)
		}
		f.push("m")
		if a := r3b.answer(t); a != "rid:3 m" {
			t.Fatalf("the second copy got %q", a)
		}

		// Kept as many as the window: rid 2 is gone after 3 and 4.
		f.push("x")
		f.submit(4)
		if a := f.submit(2).answer(t); a != fmt.Sprintf("refused:%d", WhyNotKept) {
			t.Fatalf("an old rid got %q", a)
		}
		if a := f.submit(9).answer(t); a != fmt.Sprintf("refused:%d", WhyWindow) {
			t.Fatalf("a rid beyond the window got %q", a)
		}
	})
}

func TestBusyResend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		f.block = make(chan struct{})
		r2 := f.submit(2)
		again := f.submit(2)
		if a := again.answer(t); a != fmt.Sprintf("refused:%d", WhyBusy) {
			t.Fatalf("a resend while taken got %q", a)
		}
		close(f.block)
		f.push("m")
		if a := r2.answer(t); a != "rid:2 m" {
			t.Fatalf("answer %q", a)
		}
	})
}

func TestPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r2 := f.submit(2)
		r3 := f.submit(3, func(r *Request) { r.Pause = 5 * time.Minute })
		if a, b := r2.answer(t), r3.answer(t); a != "rid:2" || b != "rid:3" {
			t.Fatalf("a pause: %q %q, want both answered at once", a, b)
		}
		time.Sleep(4 * time.Minute)
		if f.idleCount() != 0 {
			t.Fatal("idle within the pause")
		}
		time.Sleep(2 * time.Minute)
		if f.idleCount() != 1 {
			t.Fatal("not idle after the pause")
		}
	})
}

func (f *fake) idleCount() int {
	synctest.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.idle
}

func TestInactivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		f.s.Touch()
		time.Sleep(50 * time.Second)
		r2 := f.submit(2) // held from 50 s to 80 s: the session is not idle at 60 s
		time.Sleep(20 * time.Second)
		if f.idleCount() != 0 {
			t.Fatal("idle with a request held")
		}
		time.Sleep(10 * time.Second)
		if r2.answer(t) == "" {
			t.Fatal("not answered after its wait")
		}
		time.Sleep(59 * time.Second)
		if f.idleCount() != 0 {
			t.Fatal("idle before the inactivity period since the last answer")
		}
		time.Sleep(2 * time.Second)
		if f.idleCount() != 1 {
			t.Fatal("not idle after the inactivity period")
		}
	})
}

func TestEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Params{Wait: 30 * time.Second, Hold: 3, Requests: 4, Inactivity: time.Minute})
		r2, r4 := f.submit(2), f.submit(4)
		r3 := f.submit(3)
		f.ends = true
		f.push("bye")
		got := []string{r2.answer(t), r3.answer(t), r4.answer(t), f.submit(5).answer(t)}
		if strings.Join(got, "|") != "rid:2 bye|over|over|"+fmt.Sprintf("refused:%d", WhyEnded) {
			t.Fatalf("answers %q", got)
		}
		time.Sleep(time.Hour)
		if f.idleCount() != 0 {
			t.Fatal("an ended session went idle")
		}
	})
}

func TestImmediateAndGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r2 := f.submit(2)
		r3 := f.submit(3, func(r *Request) { r.Immediate = true })
		if a, b := r2.answer(t), r3.answer(t); a != "" || b != "rid:3" {
			t.Fatalf("answers %q %q: only the immediate one", a, b)
		}
		req := &Request{RID: 4}
		r4 := &reply{}
		go f.s.Submit(req, r4)
		synctest.Wait()
		if a := r2.answer(t); a != "rid:2" {
			t.Fatalf("over hold: %q", a)
		}
		f.s.Gone(req)
		if a := r4.answer(t); a != "rid:4" {
			t.Fatalf("gone: %q, want answered (and kept)", a)
		}
		if a := f.submit(4).answer(t); a != "rid:4" {
			t.Fatalf("the resend of a request whose client went: %q", a)
		}
	})
}

func TestAdmitRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		f.admit = func(r *Request, open int) *Answer {
			if open >= 1 {
				return &Answer{Response: httphold.Response{Body: []byte("too many")}, End: true, Rest: httphold.Response{Body: []byte("other")}}
			}
			return nil
		}
		r2 := f.submit(2)
		r3 := f.submit(3)
		if a, b := r2.answer(t), r3.answer(t); a != "other" || b != "too many" {
			t.Fatalf("answers %q %q", a, b)
		}
	})
}

// A transport that pokes the session while it builds an answer (looking at
// its data made more arrive) is heard after that answer, not inside it:
// nothing built for the answer in hand goes to another, or is lost.
func TestPokeWhileAnswering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r2 := f.submit(2)
		f.during = func() {
			f.pending = append(f.pending, "late")
			f.s.PokeLocked()
		}
		f.push("m")
		if a := r2.answer(t); a != "rid:2 m late" {
			t.Fatalf("answer %q", a)
		}
		r3 := f.submit(3)
		if a := r3.answer(t); a != "" {
			t.Fatalf("the next request got %q", a)
		}
	})
}

// TestRestart: a restart answers what is held with the given response,
// forgets the rids of the old connection, counts from the new one's, and
// goes idle after the inactivity period if the new connection never polls.
func TestRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(params)
		r2, r4 := f.submit(2), f.submit(4) // r4 waits for 3
		f.s.Restart(params, 100, httphold.Response{Status: 409, Body: []byte("taken over")})
		if got := []string{r2.answer(t), r4.answer(t)}; strings.Join(got, "|") != "taken over|taken over" {
			t.Fatalf("answers of the old connection %q", got)
		}
		if got := f.submit(3).answer(t); got != fmt.Sprintf("refused:%d", WhyNotKept) {
			t.Fatalf("an old rid after the restart: %q", got)
		}
		f.push("m")
		if got := f.submit(101).answer(t); got != "rid:101 m" {
			t.Fatalf("the new connection's first poll: %q", got)
		}
		time.Sleep(params.Inactivity + time.Second)
		if f.idleCount() != 1 {
			t.Fatal("not idle after the inactivity period")
		}
	})
}
