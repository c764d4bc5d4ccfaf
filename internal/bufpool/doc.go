// Package bufpool lends the byte buffers that the transports read requests
// and messages into and write response heads from, so that one pool serves
// them all and an idle connection holds none.
//
// Get and Put may be called from any goroutine. A buffer belongs to whoever
// got it until it is put back; nothing that aliases it may be kept after.
package bufpool
