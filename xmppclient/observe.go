package xmppclient

import "time"

// Phase names one step of opening an upstream stream, for
// Config.Observe.
type Phase uint8

const (
	// PhaseConnect: finding the server (SRV or the address given) and
	// connecting to it. Through SRV records a direct TLS handshake is part
	// of it; to an address given, it is PhaseTLS.
	PhaseConnect Phase = iota + 1
	// PhaseTLS: securing the link, STARTTLS or direct TLS: the handshake,
	// and for STARTTLS the exchange before it and the new stream header.
	PhaseTLS
	// PhaseLogin: a bridge-side login (Login): SASL, resource binding and
	// what follows, up to the bound stream.
	PhaseLogin
	// PhaseResume: authenticating and resuming an XEP-0198 session
	// (Resume).
	PhaseResume
)

var phaseNames = [...]string{PhaseConnect: "connect", PhaseTLS: "tls", PhaseLogin: "login", PhaseResume: "resume"}

// String is the phase's name, for metrics and logs.
func (p Phase) String() string {
	if int(p) < len(phaseNames) && phaseNames[p] != "" {
		return phaseNames[p]
	}
	return "phase?"
}

// observe tells cfg.Observe how long a phase that began at start took.
func (cfg *Config) observe(p Phase, start time.Time, err error) {
	if cfg.Observe != nil {
		cfg.Observe(p, time.Since(start), err)
	}
}
