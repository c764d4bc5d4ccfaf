//go:build unix

package netwait

import (
	"net"
	"syscall"
)

// For returns what Readable needs to wait on c, or nil when c cannot be
// waited on without reading.
func For(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// Readable returns once the socket has data (or EOF, or an error) to read,
// holding no buffer meanwhile. It honours the connection's read deadline
// (returning an error wrapping os.ErrDeadlineExceeded) and returns an error
// at once when the connection is closed. It uses little stack: a goroutine
// that starts by calling it parks without growing its first stack.
//
// Readiness notifications alone are not enough: the poller is
// edge-triggered and resets its state before each wait, so data that
// arrived before the wait would be missed. The peek asks the kernel
// directly; only when it says there is nothing does the goroutine park.
func Readable(rc syscall.RawConn) error {
	return rc.Read(peekReadable)
}

// peekReadable is the callback of RawConn.Read: true when a read would not
// block. The socket is non-blocking, so EAGAIN means nothing yet.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		// Data, EOF (n == 0) or an error: the read that follows reports it.
		return true
	}
}

// PeerClosed reports, without waiting and without consuming anything,
// whether the peer has closed its side (a read would return EOF) or the
// socket has failed. It is false when data is waiting or nothing is.
func PeerClosed(rc syscall.RawConn) bool {
	closed := false
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch err {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
			case nil:
				closed = n == 0
			default:
				closed = true
			}
			return true
		}
	})
	return closed || err != nil
}
