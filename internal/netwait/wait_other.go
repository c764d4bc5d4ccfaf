//go:build !unix

package netwait

import (
	"net"
	"syscall"
)

// For returns nil: there is no peek-wait on this platform, so callers wait
// in a read.
func For(net.Conn) syscall.RawConn { return nil }

// Readable returns at once; it is never called with a RawConn from For here.
func Readable(syscall.RawConn) error { return nil }

// PeerClosed returns false; it is never called with a RawConn from For here.
func PeerClosed(syscall.RawConn) bool { return false }
