// Package tiers holds one test: that every package of the module keeps the
// import rule of docs/ARCHITECTURE.md.
package tiers

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A row of the import rule: the packages of one tier and what they may
// import. rows is the table "Import rule" of docs/ARCHITECTURE.md, and says
// the same: when a package is added or moves, change both.
type row struct {
	tier int
	pkgs []string // relative to the module

	// external lists the modules outside the standard library that these
	// packages may import, and so may every package of a higher tier (a
	// package path, or its prefix up to a slash). Tier 4 may import any.
	external []string

	// transport: wsframe, bosh and jsonapi, which never import one another.
	transport bool

	// testOnly: a package for tests, which only test files and other
	// test-only packages may import.
	testOnly bool
}

// top is the tier that may import anything: the programs, and the tests
// that drive them from outside.
const top = 4

var rows = []row{
	{tier: 0, pkgs: []string{"internal/xmlsplit", "internal/netwait", "internal/origin", "internal/bufpool", "internal/health", "internal/discovery", "internal/limits", "web"}},
	{tier: 0, pkgs: []string{"internal/clientip"}, external: []string{"github.com/pires/go-proxyproto"}},
	{tier: 1, pkgs: []string{"xmppclient"}, external: []string{"mellium.im/xmpp/dial", "mellium.im/xmpp/jid", "mellium.im/sasl"}},
	{tier: 1, pkgs: []string{"jsonxlate"}},
	{tier: 1, pkgs: []string{"internal/httphold"}},
	{tier: 1, pkgs: []string{"internal/cluster"}},
	{tier: 2, pkgs: []string{"bridge"}},
	{tier: 2, pkgs: []string{"internal/longpoll"}},
	{tier: 2, pkgs: []string{"internal/wsconn"}, external: []string{"github.com/gorilla/websocket"}},
	{tier: 3, pkgs: []string{"wsframe", "bosh", "jsonapi"}, external: []string{"github.com/gorilla/websocket"}, transport: true},
	{tier: top, pkgs: []string{"cmd/xmppbridge", "cmd/xmppbridge-bench"}},

	{tier: 0, pkgs: []string{"internal/testbed", "internal/tiers", "internal/testcert", "internal/netbed"}, testOnly: true},
	{tier: 1, pkgs: []string{"internal/fakexmpp"}, testOnly: true},
	{tier: 2, pkgs: []string{"internal/testpeer"}, testOnly: true},
	{tier: top, pkgs: []string{"interop"}, testOnly: true},
}

// logger is the one package that logs.
const logger = "cmd/xmppbridge"

// TestImportRule reads the imports of every Go file of the module, test
// files and files behind build tags (integration, unix) included, and checks
// them against rows: a package imports only packages of lower tiers (tier 4:
// any), never another transport, no test-only package outside tests, no
// module outside the standard library but those its row or a lower tier's
// lists, and only the daemon imports log or log/slog (library packages
// never log). A test file may also import its own package, and the
// test-only packages of its tier.
func TestImportRule(t *testing.T) {
	root, module := moduleRoot(t)
	rule := map[string]*row{}
	for i := range rows {
		for _, p := range rows[i].pkgs {
			rule[p] = &rows[i]
		}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		seen[pkg] = true
		r := rule[pkg]
		if r == nil {
			t.Errorf("%s has no tier: add it to the table of docs/ARCHITECTURE.md and to rows in internal/tiers/tiers_test.go", pkg)
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		test := strings.HasSuffix(name, "_test.go")
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if broken := check(rule, module, pkg, r, imp, test); broken != "" {
				t.Errorf("%s (%s) imports %s: %s", pkg, filepath.ToSlash(filepath.Join(rel, name)), imp, broken)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range rule {
		if !seen[p] {
			t.Errorf("%s is in rows but has no Go files: take it out here and in docs/ARCHITECTURE.md", p)
		}
	}
}

// check returns the rule that pkg, of row r, breaks by importing imp in a
// test file or not, or "".
func check(rule map[string]*row, module, pkg string, r *row, imp string, test bool) string {
	if !strings.HasPrefix(imp, module+"/") {
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case !strings.Contains(first, "."): // the standard library
			if (imp == "log" || imp == "log/slog") && pkg != logger && !test {
				return "only the daemon (" + logger + ") logs; library packages never do"
			}
			return ""
		case r.tier == top:
			return ""
		}
		var allowed []string
		for i := range rows {
			if o := &rows[i]; o.tier < r.tier || o == r {
				for _, m := range o.external {
					if imp == m || strings.HasPrefix(imp, m+"/") {
						return ""
					}
					allowed = append(allowed, m)
				}
			}
		}
		if len(allowed) == 0 {
			return fmt.Sprintf("%s may import nothing from outside the standard library and the module", pkg)
		}
		return fmt.Sprintf("from outside the standard library and the module, %s may import only %s", pkg, strings.Join(allowed, ", "))
	}
	target := strings.TrimPrefix(imp, module+"/")
	o := rule[target]
	switch {
	case o == nil:
		return "it has no tier (see the table of docs/ARCHITECTURE.md)"
	case test && target == pkg:
		return ""
	case r.transport && o.transport:
		return "a transport never imports another transport"
	case o.testOnly && !test && !r.testOnly:
		return fmt.Sprintf("%s is test-only: only tests and test-only packages import it", target)
	case r.tier == top, o.tier < r.tier:
	case o.tier == r.tier && o.testOnly && test:
		// A test-only package sits beside the tier it serves.
	default:
		return fmt.Sprintf("a package of tier %d imports only lower tiers, and %s is tier %d", r.tier, target, o.tier)
	}
	return ""
}

// TestRowsAreTheDoc checks that rows says what docs/ARCHITECTURE.md says:
// the same tier for each package of its table, and for each test-only
// package the tier its text gives it, as in "`interop` (…; tier 4)".
func TestRowsAreTheDoc(t *testing.T) {
	root, _ := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## Import rule\n")
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d) \| (.*?) \|`).FindAllStringSubmatch(section, -1) {
		for _, p := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[2], -1) {
			documented[p[1]] = m[1]
		}
	}
	for _, r := range rows {
		for _, p := range r.pkgs {
			want := strconv.Itoa(r.tier)
			got, ok := documented[p]
			if r.testOnly {
				m := regexp.MustCompile("`" + regexp.QuoteMeta(p) + "`\\s*\\([^()]*tier (\\d)\\)").FindStringSubmatch(section)
				got, ok = "", m != nil
				if ok {
					got = m[1]
				}
			}
			delete(documented, p)
			switch {
			case !ok:
				t.Errorf("%s is in rows (tier %s) but not in the Import rule of docs/ARCHITECTURE.md", p, want)
			case got != want:
				t.Errorf("%s is tier %s in rows but tier %s in docs/ARCHITECTURE.md", p, want, got)
			}
		}
	}
	for p, tier := range documented {
		t.Errorf("%s is tier %s in docs/ARCHITECTURE.md but not in rows", p, tier)
	}
}

// moduleRoot returns the directory of go.mod above the test's and the
// module's path.
func moduleRoot(t *testing.T) (dir, module string) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			s := bufio.NewScanner(f)
			for s.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = up
	}
}
