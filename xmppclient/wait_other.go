//go:build !unix

package xmppclient

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: there is no peek-wait on this platform, so Next
// waits in a read holding a pooled buffer.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) error { return nil }
