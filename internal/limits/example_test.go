package limits_test

import (
	"fmt"

	"github.com/xmppbridge/xmppbridge/internal/limits"
)

func Example() {
	l := limits.New(limits.Config{})

	// A new session from a client address: refused past the address's
	// share, else released when the session ends.
	release, err := l.Open("192.0.2.7:51000")
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	defer release()

	// A login: ask first, then say how it went.
	a, err := l.Login("192.0.2.7:51000", "alice@example.com")
	if err != nil {
		fmt.Println("throttled:", err)
		return
	}
	a.Failed()
	fmt.Println(l.Stats().LoginFailures)
	// Output: 1
}
