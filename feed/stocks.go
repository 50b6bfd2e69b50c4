package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tickerd/tickerd/message"
)

// StocksOptions configure the stock simulator. Zero fields take the defaults.
type StocksOptions struct {
	// Stocks are the listings to simulate. Default DefaultStocks().
	Stocks []Stock
	// TicksPerSecond is how many quotes each symbol publishes a second, on
	// average: every gap between two ticks is drawn from 0.5 to 1.5 times
	// the mean, so symbols do not tick in lockstep. Default 4.
	TicksPerSecond float64
	// Speed is how many seconds of market time pass per real second. Real
	// intraday moves are too small to watch, so the walk runs faster than
	// the clock. Default 30.
	Speed float64
	// Rand is the source of every random draw; seed it for a repeatable
	// run. It must not be shared with anything running concurrently.
	// Default a generator seeded at random.
	Rand *rand.Rand
	// Logger receives Run's start, stop and publish failures.
	// Default slog.Default().
	Logger *slog.Logger
}

// ErrBadStock is returned by StocksOptions.Validate for a listing the
// simulator cannot publish: a symbol that is not a topic token, a duplicate
// symbol, a price that is not positive, or a negative volatility or volume.
var ErrBadStock = errors.New("feed: bad stock")

// Validate reports whether the listings can be simulated. NewStocks panics
// on options that fail it, so check options built from user input first.
func (o StocksOptions) Validate() error {
	seen := make(map[string]bool, len(o.Stocks))
	for _, st := range o.Stocks {
		topic := "stocks." + st.Symbol
		switch {
		case strings.Contains(st.Symbol, ".") || message.ValidateTopic(topic) != nil:
			return fmt.Errorf("%w: symbol %q is not a topic token", ErrBadStock, st.Symbol)
		case seen[st.Symbol]:
			return fmt.Errorf("%w: symbol %q appears twice", ErrBadStock, st.Symbol)
		case !(st.Price > 0 && st.Price <= maxPrice):
			return fmt.Errorf("%w: %s price %v is outside (0, %v]", ErrBadStock, st.Symbol, st.Price, maxPrice)
		case st.Volatility < 0 || st.Volume < 0:
			return fmt.Errorf("%w: %s volatility and volume must not be negative", ErrBadStock, st.Symbol)
		}
		seen[st.Symbol] = true
	}
	return nil
}

// DefaultTicksPerSecond is StocksOptions.TicksPerSecond's default.
const DefaultTicksPerSecond = 4

func (o StocksOptions) withDefaults() StocksOptions {
	if len(o.Stocks) == 0 {
		o.Stocks = defaultStocks
	}
	if !(o.TicksPerSecond > 0) {
		o.TicksPerSecond = DefaultTicksPerSecond
	}
	if !(o.Speed > 0) {
		o.Speed = 30
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Walk parameters. The drift hardly matters at these horizons; it is there
// so the formula is the textbook one.
const (
	drift = 0.05
	// marketSecondsPerYear is 252 sessions of 6.5 hours, the year that
	// annualised volatility is quoted in.
	marketSecondsPerYear = 252 * 6.5 * 3600
	sessionSeconds       = 6.5 * 3600
	// minCents is the price floor. A cent above the smallest price keeps
	// the bid, a cent below the price, positive too.
	minCents = 2
	// maxPrice caps the walk far above any real share price, so that
	// extreme options cannot push cents past int64 or the price to +Inf.
	maxPrice = 1e9
)

// Stocks is the stock simulator: one geometric random walk per symbol, each
// tick published as a state update on "stocks.<SYMBOL>".
//
// Step and Run must not be called concurrently.
type Stocks struct {
	opts     StocksOptions
	rng      *rand.Rand
	interval time.Duration // mean gap between two ticks of one symbol
	quotes   []quote
	started  bool
}

// quote is the live state of one symbol.
type quote struct {
	stock  Stock
	topic  string
	price  float64 // the walk, unrounded
	sigma  float64
	perSec float64 // shares traded per market second, on average
	// Money in cents, fixed at start or rounded from the walk.
	prevClose, open, high, low int64
	volume                     int64
	last                       time.Time // when the walk last moved
	next                       time.Time // when the symbol ticks next
}

// NewStocks returns a stock simulator. It panics if opts fail Validate.
func NewStocks(opts StocksOptions) *Stocks {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	s := &Stocks{
		opts:     opts,
		rng:      opts.Rand,
		interval: time.Duration(float64(time.Second) / opts.TicksPerSecond),
		quotes:   make([]quote, len(opts.Stocks)),
	}
	for i, st := range opts.Stocks {
		if st.Volatility == 0 {
			st.Volatility = 0.25
		}
		if st.Volume == 0 {
			st.Volume = 10_000_000
		}
		if st.Name == "" {
			st.Name = st.Symbol
		}
		s.quotes[i] = quote{
			stock:  st,
			topic:  "stocks." + st.Symbol,
			sigma:  st.Volatility,
			perSec: float64(st.Volume) / sessionSeconds,
		}
	}
	return s
}

// Topics returns the topic of every simulated symbol, in the order of the
// options.
func (s *Stocks) Topics() []string {
	out := make([]string, len(s.quotes))
	for i := range s.quotes {
		out[i] = s.quotes[i].topic
	}
	return out
}

// Step advances the simulator to now and returns a quote for every symbol
// due to tick. The first Step opens the market: every symbol gets a quote at
// once, so a snapshot taken right after start is complete, and the symbols'
// next ticks are spread over one interval. now must not go backwards.
func (s *Stocks) Step(now time.Time) []message.Update {
	if !s.started {
		return s.open(now)
	}
	var out []message.Update
	for i := range s.quotes {
		q := &s.quotes[i]
		if now.Before(q.next) {
			continue
		}
		s.move(q, now)
		out = append(out, s.publish(q, now))
		// Scheduling from the planned time rather than from now keeps the
		// mean rate exact however coarse the caller's steps are; a symbol
		// that fell more than a tick behind (a stalled loop) starts afresh
		// instead of bursting to catch up.
		q.next = q.next.Add(s.gap())
		if !q.next.After(now) {
			q.next = now.Add(s.gap())
		}
	}
	return out
}

// Run publishes quotes through p until ctx is cancelled, then returns nil.
// A failed publish is logged and the feed keeps going.
func (s *Stocks) Run(ctx context.Context, p Publisher) error {
	// Step several times per tick interval so that jittered ticks land
	// near their planned time. The 10ms floor spares the CPU, and caps the
	// rate at about 100 ticks a second per symbol.
	period := max(s.interval/4, 10*time.Millisecond)
	return drive(ctx, p, period, s.Step, s.opts.Logger, "stocks")
}

// open starts every walk at an opening price a small gap away from the
// previous close, with the volume of a session already under way.
func (s *Stocks) open(now time.Time) []message.Update {
	s.started = true
	out := make([]message.Update, 0, len(s.quotes))
	for i := range s.quotes {
		q := &s.quotes[i]
		q.prevClose = max(cents(q.stock.Price), minCents)
		q.price = math.Max(q.stock.Price*math.Exp(0.005*s.rng.NormFloat64()), minCents/100.0)
		q.open = max(cents(q.price), minCents)
		q.high, q.low = q.open, q.open
		q.volume = 100 * int64(float64(q.stock.Volume)*(0.05+0.1*s.rng.Float64())/100)
		q.last = now
		q.next = now.Add(time.Duration(s.rng.Int64N(int64(s.interval) + 1)))
		out = append(out, s.publish(q, now))
	}
	return out
}

// move advances the walk of q to now: one step of geometric Brownian motion
// over the market time elapsed, price *= exp((mu - sigma^2/2)dt +
// sigma*sqrt(dt)*Z), then the floor, the day's range and the volume.
func (s *Stocks) move(q *quote, now time.Time) {
	elapsed := now.Sub(q.last).Seconds() * s.opts.Speed
	q.last = now
	if elapsed > 0 {
		dt := elapsed / marketSecondsPerYear
		q.price *= math.Exp((drift-q.sigma*q.sigma/2)*dt + q.sigma*math.Sqrt(dt)*s.rng.NormFloat64())
	}
	switch {
	case !(q.price >= minCents/100.0): // also catches NaN
		q.price = minCents / 100.0
	case q.price > maxPrice:
		q.price = maxPrice
	}
	c := max(cents(q.price), minCents)
	q.high = max(q.high, c)
	q.low = min(q.low, c)
	// Trades come in round lots; at least one lot a tick keeps the volume
	// strictly growing, as a counter that never stalls looks alive.
	shares := q.perSec * elapsed * (0.2 + 1.6*s.rng.Float64())
	q.volume += 100 * max(1, int64(shares/100))
}

// publish encodes the current quote of q as a state update.
func (s *Stocks) publish(q *quote, now time.Time) message.Update {
	price := max(cents(q.price), minCents)
	// The spread is a cent or two each side: bid < price < ask always, and
	// with the floor at two cents the bid stays positive.
	half := 1 + int64(s.rng.IntN(1+int(price/50_000)))
	change := price - q.prevClose
	j := quoteJSON{
		symbol:    q.stock.Symbol,
		name:      q.stock.Name,
		price:     price,
		prevClose: q.prevClose,
		change:    change,
		changePct: int64(math.Round(float64(change) * 10_000 / float64(q.prevClose))),
		bid:       max(price-half, 1),
		ask:       price + half,
		high:      q.high,
		low:       q.low,
		open:      q.open,
		volume:    q.volume,
	}
	data := appendQuote(make([]byte, 0, 200+len(j.symbol)+len(j.name)), &j)
	return message.Update{Topic: q.topic, Kind: message.State, Data: data, Time: now}
}

// gap draws the time to a symbol's next tick: uniform over 0.5 to 1.5
// intervals, so the mean rate is TicksPerSecond.
func (s *Stocks) gap() time.Duration {
	return time.Duration(float64(s.interval) * (0.5 + s.rng.Float64()))
}

// cents rounds dollars to whole cents.
func cents(dollars float64) int64 { return int64(math.Round(dollars * 100)) }
