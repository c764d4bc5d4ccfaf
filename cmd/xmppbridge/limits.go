package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/xmppbridge/xmppbridge/bridge"
)

// withClient puts the real client's address, which the trusted proxies'
// handler has made r.RemoteAddr, in the request's context, where Hub.Open
// finds it for the per-address limits whichever endpoint opens the
// session (bridge.WithClient).
func withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(bridge.WithClient(r.Context(), r.RemoteAddr)))
	})
}

// clientHost is the address of a client without its port: what a log
// line names, so that fail2ban's <HOST> matches it.
func clientHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// appendClient adds the client's address and account to a log line's
// attributes, when known.
func appendClient(attrs []any, client, account string) []any {
	if client != "" {
		attrs = append(attrs, "client", clientHost(client))
	}
	if account != "" {
		attrs = append(attrs, "account", account)
	}
	return attrs
}

// logLogin logs the logins the bridge made or saw: a refused or throttled
// one at warn, one line each, naming the client's address and the
// account, for fail2ban:
//
//	level=WARN msg="login failed" client=192.0.2.7 account=alice@example.com relayed=true condition=not-authorized
//	level=WARN msg="login throttled" client=192.0.2.7 account=alice@example.com retry_after=4s blocked=false by=address
//
// A successful one is logged at debug.
func logLogin(log *slog.Logger) func(bridge.LoginEvent) {
	return func(ev bridge.LoginEvent) {
		ctx := context.Background()
		level, msg := slog.LevelWarn, "login failed"
		switch ev.Outcome {
		case bridge.LoginOK:
			level, msg = slog.LevelDebug, "login"
		case bridge.LoginThrottled:
			msg = "login throttled"
		}
		if !log.Enabled(ctx, level) {
			return
		}
		attrs := appendClient(make([]any, 0, 12), ev.Client, ev.Account)
		attrs = append(attrs, "relayed", ev.Relayed)
		switch ev.Outcome {
		case bridge.LoginFailed:
			attrs = append(attrs, "condition", ev.Condition)
		case bridge.LoginThrottled:
			by := "address"
			if ev.ByAccount {
				by = "account"
			}
			attrs = append(attrs, "retry_after", ev.RetryAfter, "blocked", ev.Blocked, "by", by)
		}
		if ev.Session != nil {
			attrs = append(attrs, "session", ev.Session.ID())
		}
		log.Log(ctx, level, msg, attrs...)
	}
}
