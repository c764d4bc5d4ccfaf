package xmppclient_test

import (
	"context"
	"fmt"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// A relayed stream: the browser's client does SASL and binding through it.
func ExampleDial() {
	c, err := xmppclient.Dial(context.Background(), xmppclient.Config{Domain: "example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("stream", c.Header().ID)
	for {
		ev, err := c.Next()
		if err != nil || ev.Kind == xmppclient.EventEnd {
			return
		}
		// Hand ev.Data (with ev.NS inserted at ev.NSAt) to the browser.
	}
}

// A stream the bridge authenticates and binds itself.
func ExampleLogin() {
	c, err := xmppclient.Login(context.Background(), xmppclient.Config{Domain: "example.com"},
		xmppclient.Credentials{Username: "alice", Password: "secret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("bound", c.JID())
	_ = c.Write([]byte("<presence/>"))
}
