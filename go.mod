module github.com/xmppbridge/xmppbridge

go 1.26

require (
	github.com/BurntSushi/toml v1.4.0
	github.com/gorilla/websocket v1.5.3
	mellium.im/sasl v0.3.2
	mellium.im/xmpp v0.22.0
)

require (
	golang.org/x/crypto v0.27.0 // indirect
	golang.org/x/net v0.29.0 // indirect
	golang.org/x/text v0.18.0 // indirect
	mellium.im/reader v0.1.0 // indirect
	mellium.im/xmlstream v0.15.4 // indirect
)
