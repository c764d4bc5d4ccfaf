package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// Libs are the client libraries login-and-chat.mjs can drive (its --lib).
var Libs = []string{"xmppjs", "strophe"}

// Summary is the one line of JSON login-and-chat.mjs prints last.
type Summary struct {
	OK        bool     `json:"ok"`
	Lib       string   `json:"lib"`
	URL       string   `json:"url"`
	Domain    string   `json:"domain"`
	Run       string   `json:"run"` // random id in every message of the run
	Users     []string `json:"users"`
	Count     int      `json:"count"`
	JIDs      []string `json:"jids"`
	Mechanism string   `json:"mechanism"`
	SM        bool     `json:"sm"` // stream management was enabled
	Sent      int      `json:"sent"`
	Received  int      `json:"received"`
	Ignored   int      `json:"ignored"` // messages from outside this run
	MS        int      `json:"ms"`
	Error     string   `json:"error"`
	Phase     string   `json:"phase"` // where it failed
}

// RunScript runs node with script, a file in interop/ (or an absolute
// path), and returns what it printed on stdout and stderr together. A
// non-zero exit is an error; the output says why.
func RunScript(ctx context.Context, script string, args ...string) (output string, err error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("interop: node is not installed (Node.js 20 or later is needed)")
	}
	if !filepath.IsAbs(script) {
		script = filepath.Join(dir, script)
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	// A killed node leaves nothing holding the pipes, but do not wait forever.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("interop: node %s %s: %w", filepath.Base(script), strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Dir returns the interop directory of the repository, with its npm modules
// installed.
func Dir() (string, error) {
	root, err := testbed.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("interop: %w", err)
	}
	dir := filepath.Join(root, "interop")
	for _, m := range []string{"@xmpp/client", "strophe.js", "ws", "@xmldom/xmldom", "xhr2"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
			return "", fmt.Errorf("interop: %s is not installed in interop/node_modules: run \"npm ci --prefix interop\" in the repository root (scripts/test.sh does it)", m)
		}
	}
	return dir, nil
}

// ParseSummary finds the summary line in the output of login-and-chat.mjs.
func ParseSummary(output string) (Summary, error) {
	var last string
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "{") && strings.Contains(line, `"ok":`) {
			last = line
		}
	}
	if last == "" {
		return Summary{}, errors.New("interop: no JSON summary in the output")
	}
	var s Summary
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		return Summary{}, fmt.Errorf("interop: summary: %w", err)
	}
	return s, nil
}
