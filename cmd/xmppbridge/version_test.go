package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	stamped := func(v string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/xmppbridge/xmppbridge", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", stamped("v1.2.3"), true, "xmppbridge v1.2.3 (no VCS revision stamped), go1.26.8"},
		{"checkout", stamped("(devel)", "vcs", "git", "vcs.revision", "65f3491b81154990eda66afbe1bb6d8400b54637", "vcs.time", "2026-12-04T18:06:19Z", "vcs.modified", "false"), true,
			"xmppbridge (devel) revision 65f3491b81154990eda66afbe1bb6d8400b54637 of 2026-12-04T18:06:19Z, go1.26.8"},
		{"modified checkout", stamped("(devel)", "vcs.revision", "65f3491b", "vcs.modified", "true"), true,
			"xmppbridge (devel) revision 65f3491b with uncommitted changes, go1.26.8"},
		{"no version", stamped(""), true, "xmppbridge (devel) (no VCS revision stamped), go1.26.8"},
		{"no build information", nil, false, "xmppbridge: no build information in this binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := version(tt.info, tt.ok); got != tt.want {
				t.Errorf("version = %q, want %q", got, tt.want)
			}
		})
	}
}

// The built binary answers -version from its own build information.
func TestVersionFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "xmppbridge")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	out, err := exec.Command(bin, "-version").Output()
	if err != nil {
		t.Fatalf("xmppbridge -version: %v", err)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "xmppbridge (devel) ") || !strings.HasSuffix(got, ", "+runtime.Version()) {
		t.Errorf("xmppbridge -version printed %q, want xmppbridge (devel) … %s", got, runtime.Version())
	}
}
