package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tickerd/tickerd/message"
)

func TestLookupRows(t *testing.T) {
	for _, row := range Table {
		if got := Lookup(row); got != row {
			t.Errorf("Lookup(%s %q) = %p, want the row itself %p", row.Code, row, got, row)
		}
		wrapped := fmt.Errorf("%w: detail", row)
		if got := Lookup(wrapped); got != row {
			t.Errorf("Lookup(wrapped %s) = %q, want the row", row.Code, got)
		}
		if wrapped.Error() != row.Error()+": detail" {
			t.Errorf("wrapped %s reads %q", row.Code, wrapped)
		}
	}
}

func TestWithVariant(t *testing.T) {
	for _, row := range Table {
		v := row.With("something else")
		if !errors.Is(v, row) {
			t.Errorf("errors.Is(%s.With(..), row) = false", row.Code)
		}
		if v.Error() != "something else" {
			t.Errorf("%s.With message = %q", row.Code, v)
		}
		got := Lookup(fmt.Errorf("ctx: %w", v))
		if got.Code != row.Code || got.Status != row.Status || got.Close != row.Close || got.RetrySoon != row.RetrySoon {
			t.Errorf("Lookup(%s variant) = %+v, want the row's code and endings %+v", row.Code, got, row)
		}
		// A variant of a variant is still a variant of the row.
		vv := Lookup(v).With("again")
		if !errors.Is(vv, row) || vv.Error() != "again" {
			t.Errorf("%s.With(..).With(..) = %q, Is row %v", row.Code, vv, errors.Is(vv, row))
		}
	}
	// Two rows with one code are still different rows.
	if errors.Is(ErrNoTopics.With("x"), ErrBadRequest) || errors.Is(ErrBadRequest.With("x"), ErrNoTopics) {
		t.Error("a variant matches a row of the same code it was not made from")
	}
}

func TestLookupForeignErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want *Error
	}{
		{"message.ErrBadTopic", message.ErrBadTopic, ErrBadTopic},
		{"invalid pattern", message.ValidatePattern("a.>.b"), ErrBadTopic},
		{"pattern list", func() error { _, err := message.CleanPatterns([]string{"ok", "a b"}); return err }(), ErrBadTopic},
		{"message.ErrBadCursor", message.ErrBadCursor, ErrBadCursor},
		{"parsed cursor", func() error { _, err := message.ParseCursor("nope"); return err }(), ErrBadCursor},
		{"message.ErrBadKind", fmt.Errorf("update 3: %w", message.ErrBadKind), ErrBadKind},
		{"max bytes", &http.MaxBytesError{Limit: 10}, ErrTooLarge},
		{"wrapped max bytes", fmt.Errorf("malformed JSON: %w", &http.MaxBytesError{Limit: 10}), ErrTooLarge},
		{"unknown", errors.New("disk on fire"), ErrUnavailable},
		{"io", io.ErrUnexpectedEOF, ErrUnavailable},
	}
	for _, tt := range tests {
		got := Lookup(tt.err)
		if got.Code != tt.want.Code || got.Status != tt.want.Status {
			t.Errorf("%s: Lookup(%v) = %s %d, want %s %d", tt.name, tt.err, got.Code, got.Status, tt.want.Code, tt.want.Status)
		}
	}
	if e := Lookup(errors.New("x")); e.Status != http.StatusServiceUnavailable || e.Code != "unavailable" {
		t.Errorf("an unknown error is %s %d, want unavailable 503", e.Code, e.Status)
	}
}

func TestTooManyTopics(t *testing.T) {
	err := TooManyTopics(7)
	if Lookup(err) != ErrTooManyTopics || !strings.Contains(err.Error(), "at most 7") {
		t.Errorf("TooManyTopics(7) = %q (%s)", err, Lookup(err).Code)
	}
}

func TestCloseFor(t *testing.T) {
	tests := []struct {
		reason error
		code   CloseCode
		text   string
	}{
		{ErrSlowConsumer, CloseSlowConsumer, "slow consumer: resume from your cursor"},
		{fmt.Errorf("%w: 300 queued", ErrSlowConsumer), CloseSlowConsumer, "slow consumer: resume from your cursor"},
		{ErrShutdown, CloseServiceRestart, "gateway restarting: reconnect with your cursor"},
		{ErrShutdown.With("bye"), CloseServiceRestart, "gateway restarting: reconnect with your cursor"},
		{ErrUnavailable, CloseInternalError, "unavailable: reconnect with your cursor"},
		{ErrNotReady, CloseInternalError, "unavailable: reconnect with your cursor"},
		{errors.New("jetstream went away"), CloseInternalError, "unavailable: reconnect with your cursor"},
		// A row with no close code of its own still ends with 1011.
		{ErrBadRequest, CloseInternalError, "bad_request: reconnect with your cursor"},
	}
	for _, tt := range tests {
		code, text := CloseFor(tt.reason)
		if code != tt.code || text != tt.text {
			t.Errorf("CloseFor(%v) = %d %q, want %d %q", tt.reason, code, text, tt.code, tt.text)
		}
		// A close frame's reason must fit in a control frame (125 bytes).
		if len(text) > 123 {
			t.Errorf("CloseFor(%v) text is %d bytes, too long for a close frame", tt.reason, len(text))
		}
	}
}

func TestProtocolClose(t *testing.T) {
	for _, breach := range []error{
		errors.New("failed to get reader: received unmasked frame from client"),
		errors.New(strings.Repeat("x", 200)),
		errors.New(strings.Repeat("é", 100)), // cut inside a rune
		errors.New("bad \xff byte"),
	} {
		code, text := ProtocolClose(breach)
		if code != CloseProtocolError || len(text) > 123 || !utf8.ValidString(text) ||
			!strings.HasPrefix(text, "protocol error: ") || len(text) < 120 && len(text) != len("protocol error: ")+len(breach.Error()) {
			t.Errorf("ProtocolClose(%.40q) = %d %q", breach, code, text)
		}
	}
}

// TestErrorTableMatchesProtocol keeps the error table and docs/protocol.md
// section 5 together.
//
// The rule for the HTTP column: a number must equal the row's Status. A
// "—" says the code never reaches an HTTP response, and is allowed only for
// rows that end a stream (they have a Close code: the SSE error event and
// the WebSocket close tell them) or for unknown_type (a WebSocket command
// error). So slow_consumer, whose Go Status is 503, may be "—" in the doc,
// while shutdown, which a poll answers with 503, must show 503.
func TestErrorTableMatchesProtocol(t *testing.T) {
	doc := readProtocol(t)

	codes := tableRows(t, section(t, doc, "### 5.1 Error codes"))
	for _, row := range Table {
		status, ok := codes["`"+row.Code+"`"]
		if !ok {
			t.Errorf("code %s is not in protocol.md 5.1", row.Code)
			continue
		}
		if status == "—" {
			if row.Close == 0 && row.Code != "unknown_type" {
				t.Errorf("%s: protocol.md 5.1 gives no HTTP status, but it has no close code: say %d", row.Code, row.Status)
			}
			continue
		}
		if status != strconv.Itoa(row.Status) {
			t.Errorf("%s: protocol.md 5.1 says HTTP %s, the table %d", row.Code, status, row.Status)
		}
	}
	known := map[string]bool{}
	for _, row := range Table {
		known["`"+row.Code+"`"] = true
	}
	for code := range codes {
		if !known[code] {
			t.Errorf("protocol.md 5.1 lists %s, which the error table does not have", code)
		}
	}

	closes := map[string]bool{}
	for first := range tableRows(t, section(t, doc, "### 5.2 WebSocket close codes")) {
		n, _, _ := strings.Cut(first, " ")
		closes[n] = true
	}
	sent := []CloseCode{CloseNormal, CloseProtocolError, CloseMessageTooBig, CloseInternalError, CloseServiceRestart, CloseSlowConsumer}
	for _, row := range Table {
		if row.Close != 0 && !slices.Contains(sent, row.Close) {
			sent = append(sent, row.Close)
		}
	}
	for _, c := range sent {
		if !closes[strconv.Itoa(int(c))] {
			t.Errorf("close code %d is not in protocol.md 5.2", c)
		}
	}
}

func readProtocol(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text under heading, up to the next heading.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("protocol.md has no %q", heading)
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// tableRows maps the first cell of each body row of the first Markdown
// table in s to its second cell.
func tableRows(t *testing.T, s string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	line := 0
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(l, "|") {
			if line > 0 {
				break // the table ended
			}
			continue
		}
		line++
		if line <= 2 {
			continue // the header and the --- row
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) < 2 {
			t.Fatalf("table row %q has fewer than 2 cells", l)
		}
		rows[strings.TrimSpace(cells[0])] = strings.TrimSpace(cells[1])
	}
	if len(rows) == 0 {
		t.Fatal("no table rows found")
	}
	return rows
}
