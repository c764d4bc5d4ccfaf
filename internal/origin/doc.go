// Package origin holds the transports' default rule for a browser's Origin
// header, so that WebSocket, BOSH and the JSON API agree on it.
package origin
