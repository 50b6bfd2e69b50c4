package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	securityFlags    = regexp.MustCompile("`--([a-z0-9-]+)`")
	securityDefaults = regexp.MustCompile("`([^`]*)`")
)

// docs/security.md's limit tables name real flags of tickerd serve with
// their real defaults, and every limit flag is in them: an operator reads
// the limits there.
func TestSecurityLimits(t *testing.T) {
	b, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newServeFlags(io.Discard)
	documented := map[string]bool{}
	in := false
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Limits"
			continue
		}
		if !in || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| limit ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("security.md:%d: %d cells, want limit | flag | default | effect", i+1, len(cells))
		}
		names := securityFlags.FindAllStringSubmatch(cells[1], -1)
		if len(names) == 0 {
			continue // a fixed limit
		}
		defs := securityDefaults.FindAllStringSubmatch(cells[2], -1)
		if len(defs) > 0 && len(defs) != len(names) {
			t.Errorf("security.md:%d: %d flags, %d defaults", i+1, len(names), len(defs))
			continue
		}
		for j, m := range names {
			f := fs.Lookup(m[1])
			if f == nil {
				t.Errorf("security.md:%d: --%s is not a flag of tickerd serve", i+1, m[1])
				continue
			}
			documented[m[1]] = true
			if len(defs) == 0 {
				if f.DefValue != "" {
					t.Errorf("security.md:%d: --%s defaults to %q, not %s", i+1, m[1], f.DefValue, strings.TrimSpace(cells[2]))
				}
				continue
			}
			if !sameDefault(defs[j][1], f.DefValue) {
				t.Errorf("security.md:%d: --%s defaults to %q, not %q", i+1, m[1], f.DefValue, defs[j][1])
			}
		}
	}
	limitFlag := regexp.MustCompile(`^(max-|command-|send-buffer$|trusted-proxies$|conn-rate-|replay-buffer|poll-max-)`)
	fs.VisitAll(func(f *flag.Flag) {
		if limitFlag.MatchString(f.Name) && !documented[f.Name] {
			t.Errorf("--%s is a limit, but not in docs/security.md's limit tables", f.Name)
		}
	})
	if len(documented) < 10 {
		t.Errorf("security.md's limit tables name %d flags; did the tables move?", len(documented))
	}
}
