package main

import (
	"strings"
	"testing"
	"time"
)

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, src, key string
	}{
		{"top level", `lisen = ":5280"`, "lisen"},
		{"other case", `Listen = ":5280"`, "Listen"},
		{"nested table", "[websocket]\npth = \"/ws\"", "websocket.pth"},
		{"bosh table", "[bosh]\nmax_hold_requests = 2", "bosh.max_hold_requests"},
		{"dotted key", `limits.max_stanzas = 5`, "limits.max_stanzas"},
		{"unknown table", "[tracing]\nlisten = \":9100\"", "tracing"},
		{"inside a domain table", "[domain.\"example.com\"]\nadress = \"x:5222\"", `domain."example.com".adress`},
		{"inline domain table", `domain = { "example.com" = { port = 5222 } }`, `domain."example.com".port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if len(got) != 1 || got[0].Key != tt.key || !strings.HasPrefix(got[0].Msg, "unknown key") {
				t.Errorf("problems = %q, want one unknown key %s", got, tt.key)
			}
		})
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name, src, key, msg string
	}{
		{"string given integer", `listen = 5280`, "listen", "must be a string, not an integer"},
		{"integer given string", "[limits]\nmax_sessions = \"9000\"", "limits.max_sessions", "must be an integer, not a string"},
		{"integer given float", "[limits]\nmax_sessions = 9e3", "limits.max_sessions", "must be an integer, not a float"},
		{"bool given string", `allow_any_domain = "yes"`, "allow_any_domain", "must be true or false, not a string"},
		{"array given string", `allowed_origins = "*"`, "allowed_origins", "must be an array of strings, not a string"},
		{"array holding an integer", `allowed_origins = ["*", 1]`, "allowed_origins", "must be an array of strings, not an array holding an integer"},
		{"table given string", `websocket = "/ws"`, "websocket", "must be a table, not a string"},
		{"bosh bool given string", "[bosh]\nallow_credentials = \"yes\"", "bosh.allow_credentials", "must be true or false, not a string"},
		{"bosh duration given integer", "[bosh]\nmax_wait = 60", "bosh.max_wait", `must be a duration string such as "30s", not an integer`},
		{"domains given array of tables", "[[domain]]\naddress = \"x:1\"", "domain", "must be a table, not an array of tables"},
		{"domain given string", `domain = { "example.com" = "x:5222" }`, `domain."example.com"`, "must be a table, not a string"},
		{"duration given integer", `shutdown_timeout = 10`, "shutdown_timeout", `must be a duration string such as "30s", not an integer`},
		{"duration given date", `shutdown_timeout = 1979-05-27`, "shutdown_timeout", "not a date-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if len(got) != 1 || got[0].Key != tt.key || got[0].Msg != tt.msg && !strings.Contains(got[0].Msg, tt.msg) {
				t.Errorf("problems = %q, want one under %s: %q", got, tt.key, tt.msg)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("broken.toml", []byte("listen = \"127.0.0.1:5280\"\nlog_level = info\n"))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	if got := err.Error(); !strings.HasPrefix(got, "config: broken.toml: line 2") || strings.Contains(got, "\n") {
		t.Errorf("error = %q, want one line starting config: broken.toml: line 2", got)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"2h", 2 * time.Hour, false},
		{"30", 0, true},
		{"thirty seconds", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("UnmarshalText(%q) error = %v, want error %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			if d.Duration != tt.want {
				t.Errorf("UnmarshalText(%q) = %v, want %v", tt.in, d.Duration, tt.want)
			}
			c, err := Parse("test.toml", []byte("shutdown_timeout = "+quote(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if c.ShutdownTimeout.Duration != tt.want {
				t.Errorf("shutdown_timeout = %v, want %v", c.ShutdownTimeout.Duration, tt.want)
			}
			text, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(text); err != nil || back != d {
				t.Errorf("MarshalText round trip: %q gives %v, %v", text, back, err)
			}
		})
	}
}
