package main

import (
	"runtime/debug"
	"strings"
)

// version says which build this is, from what the go command stamped into
// the binary: the main module's version ("(devel)" for a build from a
// checkout, a tag for `go install …@v1.2.3`), the VCS revision and time
// when built inside a git checkout with VCS stamping on (the default; the
// go flag -buildvcs=false turns it off), whether the tree had uncommitted
// changes, and the Go version.
func version(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "xmppbridge: no build information in this binary"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	b.WriteString("xmppbridge ")
	b.WriteString(v)
	if rev != "" {
		b.WriteString(" revision ")
		b.WriteString(rev)
		if at != "" {
			b.WriteString(" of ")
			b.WriteString(at)
		}
		if modified {
			b.WriteString(" with uncommitted changes")
		}
	} else {
		b.WriteString(" (no VCS revision stamped)")
	}
	b.WriteString(", ")
	b.WriteString(info.GoVersion)
	return b.String()
}
