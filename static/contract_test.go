package static

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/transport/wire"
)

// The client reconnects at once on exactly the ends the error table marks
// Resume: on WebSocket by close code, on SSE by the error event's code.
// The rest are failures it backs off from.
func TestClientResumesOnTheTablesEnds(t *testing.T) {
	js, err := os.ReadFile("ticker.js")
	if err != nil {
		t.Fatal(err)
	}
	wsLine := regexp.MustCompile(`conn\.end\(((?:e\.code === \d+(?: \|\| )?)+)\)`).FindSubmatch(js)
	sseLine := regexp.MustCompile(`if \(((?:m\.code === "\w+"(?: \|\| )?)+)\) \{ conn\.end\(true\); \}`).FindSubmatch(js)
	if wsLine == nil || sseLine == nil {
		t.Fatal("ticker.js: the WebSocket onclose or the SSE error handler is not where this test looks")
	}
	var closes []int
	for _, m := range regexp.MustCompile(`\d+`).FindAll(wsLine[1], -1) {
		n, _ := strconv.Atoi(string(m))
		closes = append(closes, n)
	}
	var codes []string
	for _, m := range regexp.MustCompile(`"(\w+)"`).FindAllSubmatch(sseLine[1], -1) {
		codes = append(codes, string(m[1]))
	}
	var wantCloses []int
	var wantCodes []string
	for _, e := range wire.Table {
		if e.Resume {
			wantCloses = append(wantCloses, int(e.Close))
			wantCodes = append(wantCodes, e.Code)
		}
	}
	slices.Sort(closes)
	slices.Sort(wantCloses)
	slices.Sort(codes)
	slices.Sort(wantCodes)
	if !slices.Equal(closes, wantCloses) || !slices.Equal(codes, wantCodes) {
		t.Fatalf("ticker.js resumes at once on closes %v and SSE codes %v; the error table says %v and %v",
			closes, codes, wantCloses, wantCodes)
	}
}

// The client takes a new token and reconnects at once on the ends of the
// token_expired row: its WebSocket close code and its error code (SSE
// event, poll answer).
func TestClientRenewsOnTheTokenExpiredRow(t *testing.T) {
	js, err := os.ReadFile("ticker.js")
	if err != nil {
		t.Fatal(err)
	}
	e := wire.ErrTokenExpired
	for _, want := range []string{"e.code === " + strconv.Itoa(int(e.Close)), `m.code === "` + e.Code + `"`} {
		if !strings.Contains(string(js), want) {
			t.Fatalf("ticker.js does not test %s: the token_expired row is %d / %q", want, e.Close, e.Code)
		}
	}
}
