package xmppclient

import (
	"context"
	"errors"
)

// Temporary bodies so dependants compile; replaced by the real files.

var errUnimplemented = errors.New("xmppclient: unimplemented")

// Conn is one upstream stream.
type Conn struct{}

// Dial opens a relayed stream. See the package documentation.
func Dial(ctx context.Context, cfg Config) (*Conn, error) { return nil, errUnimplemented }

// Login opens a bridge-authenticated stream.
func Login(ctx context.Context, cfg Config, cred Credentials) (*Conn, error) {
	return nil, errUnimplemented
}

func (c *Conn) Header() Header       { return Header{} }
func (c *Conn) JID() string          { return "" }
func (c *Conn) Secure() bool         { return false }
func (c *Conn) Next() (Event, error) { return Event{}, errUnimplemented }
func (c *Conn) Write(b []byte) error { return errUnimplemented }
func (c *Conn) Restart() error       { return errUnimplemented }
func (c *Conn) CloseStream() error   { return errUnimplemented }
func (c *Conn) Close() error         { return errUnimplemented }
