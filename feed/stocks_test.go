package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// quoteData is a quote as a client decodes it.
type quoteData struct {
	Symbol    string  `json:"symbol"`
	Name      string  `json:"name"`
	Price     float64 `json:"price"`
	PrevClose float64 `json:"prev_close"`
	Change    float64 `json:"change"`
	ChangePct float64 `json:"change_pct"`
	Bid       float64 `json:"bid"`
	Ask       float64 `json:"ask"`
	Volume    int64   `json:"volume"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	Open      float64 `json:"open"`
}

var quoteFields = []string{"symbol", "name", "price", "prev_close", "change", "change_pct", "bid", "ask", "volume", "high", "low", "open"}

var epoch = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// decodeStrict decodes data into v, refusing unknown fields and trailing
// data, so a quote with a misspelt field fails.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if dec.InputOffset() != int64(len(data)) {
		t.Fatalf("%s: data after the JSON value", data)
	}
}

// isCents reports whether x is a whole number of cents, as far as a float64
// holding it can tell.
func isCents(x float64) bool {
	c := x * 100
	return math.Abs(c-math.Round(c)) < 1e-6*math.Max(1, math.Abs(c))
}

// stockChecker holds what the invariants compare across steps.
type stockChecker struct {
	t      *testing.T
	stocks map[string]Stock
	last   map[string]quoteData
	ticks  map[string]int
	lastAt map[string]time.Time
	minGap time.Duration
	maxGap time.Duration
}

func newStockChecker(t *testing.T, stocks []Stock) *stockChecker {
	c := &stockChecker{t: t, stocks: map[string]Stock{}, last: map[string]quoteData{},
		ticks: map[string]int{}, lastAt: map[string]time.Time{}, minGap: time.Hour}
	for _, st := range stocks {
		c.stocks[st.Symbol] = st
	}
	return c
}

func (c *stockChecker) check(now time.Time, ups []message.Update) {
	t := c.t
	t.Helper()
	for _, u := range ups {
		if err := message.ValidateTopic(u.Topic); err != nil {
			t.Fatalf("topic %q: %v", u.Topic, err)
		}
		if u.Kind != message.State || !u.Time.Equal(now) {
			t.Fatalf("%s: kind %v time %v, want state at %v", u.Topic, u.Kind, u.Time, now)
		}
		var q quoteData
		decodeStrict(t, u.Data, &q)
		st, ok := c.stocks[q.Symbol]
		if !ok || u.Topic != "stocks."+q.Symbol || q.Name != st.Name {
			t.Fatalf("quote %s on topic %s", u.Data, u.Topic)
		}
		for _, x := range []float64{q.Price, q.PrevClose, q.Change, q.Bid, q.Ask, q.High, q.Low, q.Open} {
			if !isCents(x) {
				t.Fatalf("%s: %v is not in cents", u.Data, x)
			}
		}
		switch {
		case !(q.Price > 0 && q.Bid > 0 && q.Low > 0):
			t.Fatalf("non-positive price: %s", u.Data)
		case !(q.Bid < q.Price && q.Price < q.Ask && q.Ask-q.Bid >= 0.01-1e-9):
			t.Fatalf("bid/price/ask out of order: %s", u.Data)
		case !(q.Low <= q.Price && q.Price <= q.High && q.Low <= q.Open && q.Open <= q.High):
			t.Fatalf("price outside the day's range: %s", u.Data)
		case math.Abs(q.Change-(q.Price-q.PrevClose)) > 1e-6:
			t.Fatalf("change is not price - prev_close: %s", u.Data)
		case math.Abs(q.ChangePct-math.Round(q.Change/q.PrevClose*1e4)/100) > 0.01+1e-9:
			t.Fatalf("change_pct disagrees with change: %s", u.Data)
		}
		if prev, ok := c.last[q.Symbol]; ok {
			switch {
			case q.Volume <= prev.Volume:
				t.Fatalf("%s volume went from %d to %d", q.Symbol, prev.Volume, q.Volume)
			case q.High < prev.High || q.Low > prev.Low:
				t.Fatalf("%s range shrank: %+v then %+v", q.Symbol, prev, q)
			case q.Open != prev.Open || q.PrevClose != prev.PrevClose:
				t.Fatalf("%s open or prev_close moved: %+v then %+v", q.Symbol, prev, q)
			}
			gap := now.Sub(c.lastAt[q.Symbol])
			c.minGap, c.maxGap = min(c.minGap, gap), max(c.maxGap, gap)
		}
		c.last[q.Symbol] = q
		c.lastAt[q.Symbol] = now
		c.ticks[q.Symbol]++
	}
}

func TestStocksInvariants(t *testing.T) {
	t.Parallel()
	const (
		steps = 100_000
		dt    = 10 * time.Millisecond
	)
	s := NewStocks(StocksOptions{Rand: seeded(1)})
	c := newStockChecker(t, DefaultStocks())

	now := epoch
	first := s.Step(now)
	if len(first) != len(defaultStocks) {
		t.Fatalf("first step published %d quotes, want one per symbol (%d)", len(first), len(defaultStocks))
	}
	var keys map[string]any
	if err := json.Unmarshal(first[0].Data, &keys); err != nil || len(keys) != len(quoteFields) {
		t.Fatalf("quote %s: want exactly the fields %v", first[0].Data, quoteFields)
	}
	for _, f := range quoteFields {
		if _, ok := keys[f]; !ok {
			t.Fatalf("quote %s lacks %q", first[0].Data, f)
		}
	}
	c.check(now, first)

	most := 0
	for range steps {
		now = now.Add(dt)
		ups := s.Step(now)
		most = max(most, len(ups))
		c.check(now, ups)
	}

	// Every symbol ticks at the configured mean rate, give or take the
	// randomness, and with jitter: not in lockstep, not at a fixed gap.
	want := 4 * (steps * dt).Seconds()
	for sym := range c.stocks {
		if n := float64(c.ticks[sym]); math.Abs(n-want) > 0.05*want {
			t.Errorf("%s ticked %v times in %v, want about %v", sym, n, steps*dt, want)
		}
	}
	if most > len(defaultStocks)/2 {
		t.Errorf("up to %d of %d symbols ticked in one 10ms step: lockstep", most, len(defaultStocks))
	}
	if c.minGap > 150*time.Millisecond || c.maxGap < 350*time.Millisecond {
		t.Errorf("tick gaps ranged %v..%v, want jitter around 250ms", c.minGap, c.maxGap)
	}
}

// TestStocksFloor drives a wildly volatile walk at a huge speed through
// coarse steps: the price hits the floor and stays positive, and bid < ask
// still holds there.
func TestStocksFloor(t *testing.T) {
	stocks := []Stock{
		{Symbol: "PENNY", Name: "Penny \"Stock\" Corp.\n", Price: 0.03, Volatility: 5},
		{Symbol: "WILD", Name: "Wild Inc.", Price: 50, Volatility: 8},
		{Symbol: "HUGE", Name: "Huge Inc.", Price: maxPrice, Volatility: 3},
	}
	s := NewStocks(StocksOptions{Stocks: stocks, Speed: 1e6, TicksPerSecond: 100, Rand: seeded(2)})
	c := newStockChecker(t, stocks)
	now := epoch
	floor := false
	for range 5_000 {
		ups := s.Step(now)
		c.check(now, ups)
		for _, u := range ups {
			floor = floor || bytes.Contains(u.Data, []byte(`"price":0.02,`))
		}
		now = now.Add(50 * time.Millisecond)
	}
	if !floor {
		t.Error("the price never reached the floor; the clamp went untested")
	}
}

func TestStocksDefaults(t *testing.T) {
	s := NewStocks(StocksOptions{})
	topics := s.Topics()
	if len(topics) < 20 {
		t.Fatalf("%d symbols, want at least 20", len(topics))
	}
	seen := map[string]bool{}
	for _, topic := range topics {
		if err := message.ValidateTopic(topic); err != nil || !strings.HasPrefix(topic, "stocks.") || strings.Count(topic, ".") != 1 {
			t.Errorf("topic %q: %v", topic, err)
		}
		if seen[topic] {
			t.Errorf("topic %q twice", topic)
		}
		seen[topic] = true
	}
	for _, st := range DefaultStocks() {
		if st.Name == "" || st.Price <= 0 || st.Volatility <= 0 || st.Volume <= 0 {
			t.Errorf("incomplete default listing %+v", st)
		}
	}
	if s.interval != 250*time.Millisecond || s.opts.Speed != 30 || s.opts.Logger == nil || s.rng == nil {
		t.Errorf("defaults not filled: %+v", s.opts)
	}
}

func TestStocksDeterministic(t *testing.T) {
	a := NewStocks(StocksOptions{Rand: seeded(7)})
	b := NewStocks(StocksOptions{Rand: seeded(7)})
	now := epoch
	for range 2000 {
		ua, ub := a.Step(now), b.Step(now)
		if len(ua) != len(ub) {
			t.Fatalf("same seed, %d and %d updates", len(ua), len(ub))
		}
		for i := range ua {
			if ua[i].Topic != ub[i].Topic || !bytes.Equal(ua[i].Data, ub[i].Data) {
				t.Fatalf("same seed, different quotes:\n%s\n%s", ua[i].Data, ub[i].Data)
			}
		}
		now = now.Add(33 * time.Millisecond)
	}
}

func TestStocksValidate(t *testing.T) {
	good := Stock{Symbol: "AAPL", Name: "Apple Inc.", Price: 189.73}
	tests := []struct {
		name   string
		stocks []Stock
		ok     bool
	}{
		{"defaults", nil, true},
		{"one", []Stock{good}, true},
		{"dotted symbol", []Stock{{Symbol: "BRK.B", Price: 1}}, false},
		{"empty symbol", []Stock{{Symbol: "", Price: 1}}, false},
		{"space", []Stock{{Symbol: "A B", Price: 1}}, false},
		{"wildcard", []Stock{{Symbol: "*", Price: 1}}, false},
		{"duplicate", []Stock{good, good}, false},
		{"zero price", []Stock{{Symbol: "X"}}, false},
		{"negative price", []Stock{{Symbol: "X", Price: -1}}, false},
		{"NaN price", []Stock{{Symbol: "X", Price: math.NaN()}}, false},
		{"infinite price", []Stock{{Symbol: "X", Price: math.Inf(1)}}, false},
		{"negative volatility", []Stock{{Symbol: "X", Price: 1, Volatility: -1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := StocksOptions{Stocks: tt.stocks}
			err := opts.Validate()
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadStock)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			defer func() {
				if r := recover(); (r == nil) != tt.ok {
					t.Fatalf("NewStocks panic = %v, want panic=%v", r, !tt.ok)
				}
			}()
			NewStocks(opts)
		})
	}
}

func BenchmarkStocksStep(b *testing.B) {
	s := NewStocks(StocksOptions{Rand: seeded(1)})
	now := epoch
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		now = now.Add(10 * time.Millisecond)
		n += len(s.Step(now))
	}
	b.ReportMetric(float64(n)/float64(b.N), "quotes/op")
}
