package bridge_test

import (
	"context"
	"fmt"

	"github.com/xmppbridge/xmppbridge/bridge"
)

// wakeOnly is the smallest Transport: a real one keeps its session in
// Attach and starts its writer in Wake.
type wakeOnly chan struct{}

func (w wakeOnly) Attach(*bridge.Session) {}

func (w wakeOnly) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// A transport opens a session when the browser opens its stream, then,
// whenever it is woken, pulls until nothing is left (only then will the
// session wake it again), until the final item.
func ExampleHub_Open() {
	hub := bridge.New(bridge.Config{}) // any domain, by SRV, verified STARTTLS
	wake := make(wakeOnly, 1)
	s, err := hub.Open(context.Background(), bridge.OpenRequest{To: "example.com"}, wake)
	if err != nil {
		// The session still tells the browser: its items end with the error.
		fmt.Println("open failed:", err)
	}
	for range wake {
		for items := s.Pull(); len(items) > 0; items = s.Pull() {
			for _, it := range items {
				if it.End != nil {
					fmt.Println("session over:", it.End.Reason)
					return
				}
				// write it.Event to the browser
			}
			s.Release(items)
		}
	}
}
