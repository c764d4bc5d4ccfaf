package bridge

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

func elem(s string) Item {
	return Item{Event: xmppclient.Event{Kind: xmppclient.EventElement, Data: []byte(s)}}
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, q *queue)
	}{
		{"first push after an empty pull wakes once", func(t *testing.T, q *queue) {
			if got := q.pull(); len(got) != 0 {
				t.Fatalf("pull on empty queue gave %d items", len(got))
			}
			if wake, ok := q.push(elem("<a/>")); !wake || !ok {
				t.Fatalf("push = (%v, %v), want (true, true)", wake, ok)
			}
			if wake, ok := q.push(elem("<b/>")); wake || !ok {
				t.Fatalf("second push = (%v, %v), want (false, true)", wake, ok)
			}
		}},
		{"items come out in order and the queue forgets them", func(t *testing.T, q *queue) {
			for _, s := range []string{"<a/>", "<b/>", "<c/>"} {
				q.push(elem(s))
			}
			got := q.pull()
			if len(got) != 3 || string(got[0].Data) != "<a/>" || string(got[2].Data) != "<c/>" {
				t.Fatalf("pull = %v", got)
			}
			if q.items != nil || q.bytes != 0 {
				t.Fatalf("queue keeps %d items, %d bytes after a full pull", len(q.items), q.bytes)
			}
		}},
		{"overflow refuses without dropping what is queued", func(t *testing.T, q *queue) {
			q.maxBytes = 10
			if _, ok := q.push(elem("<aaaaaaa/>")); !ok {
				t.Fatal("first item refused")
			}
			if _, ok := q.push(elem("<b/>")); ok {
				t.Fatal("item over the bound accepted")
			}
			if got := q.pull(); len(got) != 1 {
				t.Fatalf("pull = %d items, want 1", len(got))
			}
		}},
		{"an item larger than the bound still passes alone", func(t *testing.T, q *queue) {
			q.maxBytes = 4
			if _, ok := q.push(elem("<large-element/>")); !ok {
				t.Fatal("lone large item refused")
			}
		}},
		{"end comes after pending items", func(t *testing.T, q *queue) {
			q.push(elem("<a/>"))
			if _, first := q.end(&CloseError{Reason: ReasonShutdown}, false); !first {
				t.Fatal("first end not first")
			}
			got := q.pull()
			if len(got) != 2 || got[1].End == nil || got[1].End.Reason != ReasonShutdown {
				t.Fatalf("pull = %+v", got)
			}
		}},
		{"end with discard drops pending items", func(t *testing.T, q *queue) {
			q.push(elem("<a/>"))
			q.end(&CloseError{Reason: ReasonSlowConsumer}, true)
			got := q.pull()
			if len(got) != 1 || got[0].End == nil {
				t.Fatalf("pull = %+v", got)
			}
		}},
		{"only the first end counts and nothing follows it", func(t *testing.T, q *queue) {
			q.end(&CloseError{Reason: ReasonNormal}, false)
			if _, first := q.end(&CloseError{Reason: ReasonShutdown}, false); first {
				t.Fatal("second end counted")
			}
			if _, ok := q.push(elem("<a/>")); ok {
				t.Fatal("push after end accepted")
			}
			if got := q.pull(); len(got) != 1 || got[0].End.Reason != ReasonNormal {
				t.Fatalf("pull = %+v", got)
			}
		}},
		{"end wakes an idle consumer", func(t *testing.T, q *queue) {
			q.pull()
			if wake, _ := q.end(&CloseError{Reason: ReasonNormal}, false); !wake {
				t.Fatal("end did not wake an idle consumer")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &queue{maxBytes: 1 << 20}
			tt.run(t, q)
		})
	}
}

func BenchmarkQueuePushPull(b *testing.B) {
	q := &queue{maxBytes: 1 << 20}
	it := elem("<message to='a@b'><body>hi</body></message>")
	b.ReportAllocs()
	for b.Loop() {
		q.push(it)
		release(q.pull())
	}
}
