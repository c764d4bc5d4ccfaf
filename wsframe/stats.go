package wsframe

// TransportName implements bridge.Named: the Hub counts the sessions of
// RFC 7395 WebSockets under "websocket".
func (c *conn) TransportName() string { return "websocket" }
