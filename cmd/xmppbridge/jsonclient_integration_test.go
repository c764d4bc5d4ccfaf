//go:build integration

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// boundedHTTP sends the test clients' requests: a request that hangs
// fails the test instead of holding it up until go test's timeout. It is
// longer than any wait a test asks for.
var boundedHTTP = &http.Client{Timeout: 90 * time.Second}

// jsonAnswer is what a JSON API POST is answered with: a session's frames,
// or an error object.
type jsonAnswer struct {
	Status int               `json:"-"`
	SID    string            `json:"sid"`
	First  uint64            `json:"first"`
	Frames []json.RawMessage `json:"frames"`
	Kind   string            `json:"kind"`
	Code   string            `json:"code"`
	// Acked is the latest confirmation of the page's own frames, on a
	// session with stream management.
	Acked *struct {
		N uint64 `json:"n"`
		H uint64 `json:"h"`
	} `json:"acked"`
	Resumed json.RawMessage `json:"resumed"` // the answer to a resume post
}

// jsonHTTP is a JSON API page over long-poll (POST base/poll) or Server-
// Sent Events (POST base/send, GET base/events), whose requests go to the
// bases in turn, as a round-robin balancer would send them.
type jsonHTTP struct {
	t     testing.TB
	bases []string // http://host:port/json
	turn  int
	poll  bool
	sid   string
	rid   uint64
	ack   uint64 // the highest frame number taken
}

func (c *jsonHTTP) base() string {
	b := c.bases[c.turn%len(c.bases)]
	c.turn++
	return b
}

// post sends frames (JSON objects) with the next rid.
func (c *jsonHTTP) post(frames ...string) (jsonAnswer, error) {
	c.rid++
	body := fmt.Sprintf(`{"rid":%d,"wait":5,"frames":[%s]`, c.rid, strings.Join(frames, ","))
	if c.sid != "" {
		body += fmt.Sprintf(`,"sid":%q,"ack":%d`, c.sid, c.ack)
	}
	body += "}"
	path := "/send"
	if c.poll {
		path = "/poll"
	}
	res, err := boundedHTTP.Post(c.base()+path, "application/json", strings.NewReader(body))
	if err != nil {
		return jsonAnswer{}, err
	}
	defer res.Body.Close()
	var a jsonAnswer
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		return jsonAnswer{}, fmt.Errorf("HTTP %d %q: %v", res.StatusCode, b, err)
	}
	a.Status = res.StatusCode
	if a.SID != "" {
		c.sid = a.SID
	}
	if n := len(a.Frames); n > 0 && a.First > 0 {
		c.ack = max(c.ack, a.First+uint64(n)-1)
	}
	return a, nil
}

// login logs user in with its password.
func (c *jsonHTTP) login(user, domain, resource string) jsonAnswer {
	c.t.Helper()
	a, err := c.post(fmt.Sprintf(`{"kind":"login","jid":"%s@%s","password":"secret","resource":%q}`, user, domain, resource))
	if err != nil || a.Status != 200 || c.sid == "" {
		c.t.Fatalf("login: %+v %v", a, err)
	}
	return a
}

// pollUntil polls (sending frames with the first poll) until a frame
// contains want, and returns it.
func (c *jsonHTTP) pollUntil(want string, frames ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a, err := c.post(frames...)
		frames = nil
		if err != nil || a.Status != 200 {
			c.t.Fatalf("poll for %q: %+v %v", want, a, err)
		}
		for _, f := range a.Frames {
			if strings.Contains(string(f), want) {
				return string(f)
			}
		}
	}
	c.t.Fatalf("no %q within 20s", want)
	return ""
}

// eventStream is an open GET base/events.
type eventStream struct {
	res  *http.Response
	data chan string // each event's data line
}

// events opens the session's events stream on the next base.
func (c *jsonHTTP) events() *eventStream {
	c.t.Helper()
	res, err := http.Get(c.base() + "/events?sid=" + c.sid)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		c.t.Fatalf("events: %d %s", res.StatusCode, b)
	}
	es := &eventStream{res: res, data: make(chan string, 256)}
	go func() {
		defer close(es.data)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				es.data <- d
			}
		}
	}()
	c.t.Cleanup(func() { res.Body.Close() })
	return es
}

// until reads events until one contains want.
func (es *eventStream) until(t testing.TB, want string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case d, ok := <-es.data:
			if !ok {
				t.Fatalf("the events stream ended before %q", want)
			}
			if strings.Contains(d, want) {
				return d
			}
		case <-timeout:
			t.Fatalf("no %q within 20s", want)
		}
	}
}
