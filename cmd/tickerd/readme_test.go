package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// configRow is one row of the README's "## Configuration" table.
type configRow struct {
	line           int
	flag, env, def string
	hasDefault     bool // false for a "(...)" entry: the flag's default is empty
	defCell        string
}

var (
	flagCell = regexp.MustCompile("^`--([a-z0-9-]+)`$")
	envCell  = regexp.MustCompile("^`([A-Z0-9_]+)`$")
	defCell  = regexp.MustCompile("^`([^`]*)`$")
)

// readmeConfig parses the table under "## Configuration" in README.md:
// flag | env | default | what, one flag per row.
func readmeConfig(t *testing.T) []configRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []configRow
	in, header := false, 0
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Configuration"
			continue
		case !in || !strings.HasPrefix(line, "|"):
			if in && len(rows) > 0 {
				in = false // the table has ended
			}
			continue
		}
		if header < 2 { // the column names and the |---| line
			header++
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if len(cells) != 4 {
			t.Fatalf("README.md:%d: %d cells, want flag | env | default | what", i+1, len(cells))
		}
		r := configRow{line: i + 1, defCell: cells[2]}
		m := flagCell.FindStringSubmatch(cells[0])
		if m == nil {
			t.Fatalf("README.md:%d: flag cell %q is not one `--flag`", i+1, cells[0])
		}
		r.flag = m[1]
		if m = envCell.FindStringSubmatch(cells[1]); m == nil {
			t.Fatalf("README.md:%d: env cell %q is not one `TICKERD_...`", i+1, cells[1])
		}
		r.env = m[1]
		switch m = defCell.FindStringSubmatch(cells[2]); {
		case m != nil:
			r.def, r.hasDefault = m[1], true
		case strings.HasPrefix(cells[2], "(") && strings.HasSuffix(cells[2], ")"):
		default:
			t.Fatalf("README.md:%d: default cell %q is neither `value` nor (explanation)", i+1, cells[2])
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal(`README.md has no table under "## Configuration"`)
	}
	return rows
}

// sameDefault reports whether the README's default and the flag's say the
// same: "24h" is "24h0m0s", "4" is "4.0".
func sameDefault(readme, flagDef string) bool {
	if readme == flagDef {
		return true
	}
	if a, err := time.ParseDuration(readme); err == nil {
		b, err := time.ParseDuration(flagDef)
		return err == nil && a == b
	}
	if a, err := strconv.ParseFloat(readme, 64); err == nil {
		b, err := strconv.ParseFloat(flagDef, 64)
		return err == nil && a == b
	}
	return false
}

// The README's configuration table is the serve command's flags: the same
// set, each with its environment variable and its default.
func TestReadmeConfiguration(t *testing.T) {
	fs, _ := newServeFlags(io.Discard)
	rows := readmeConfig(t)
	documented := map[string]bool{}
	for _, r := range rows {
		if documented[r.flag] {
			t.Errorf("README.md:%d: --%s has a second row", r.line, r.flag)
		}
		documented[r.flag] = true
		f := fs.Lookup(r.flag)
		if f == nil {
			t.Errorf("README.md:%d: --%s is not a flag of tickerd serve", r.line, r.flag)
			continue
		}
		if want := envName(r.flag); r.env != want {
			t.Errorf("README.md:%d: --%s reads $%s, not $%s", r.line, r.flag, want, r.env)
		}
		switch {
		case !r.hasDefault && f.DefValue != "":
			t.Errorf("README.md:%d: --%s defaults to %q, not %s", r.line, r.flag, f.DefValue, r.defCell)
		case r.hasDefault && !sameDefault(r.def, f.DefValue):
			t.Errorf("README.md:%d: --%s defaults to %q, not %s", r.line, r.flag, f.DefValue, r.defCell)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !documented[f.Name] {
			t.Errorf("--%s (%s) is not in README.md's configuration table", f.Name, f.Usage)
		}
	})

	// And `tickerd serve -h`, which the README points to, lists them all.
	var help bytes.Buffer
	if code := run([]string{"serve", "-h"}, &help, &help); code != 0 {
		t.Fatalf("tickerd serve -h exited %d\n%s", code, help.String())
	}
	for _, r := range rows {
		if !regexp.MustCompile(`(?m)^  -`+regexp.QuoteMeta(r.flag)+`( |$)`).Match(help.Bytes()) ||
			!strings.Contains(help.String(), "[$"+r.env+"]") {
			t.Errorf("tickerd serve -h does not list --%s with $%s", r.flag, r.env)
		}
	}
}
