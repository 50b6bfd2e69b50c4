package feed_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// A simulator is driven by an explicit clock: each Step returns the quotes
// due by then. Run does the same from the wall clock and publishes them.
func ExampleStocks() {
	s := feed.NewStocks(feed.StocksOptions{
		Stocks: []feed.Stock{{Symbol: "AAPL", Name: "Apple Inc.", Price: 189.73}},
		Rand:   rand.New(rand.NewPCG(1, 2)),
	})
	now := time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

	// The first step opens the market with a quote for every symbol.
	open := s.Step(now)
	var q struct {
		Symbol    string  `json:"symbol"`
		PrevClose float64 `json:"prev_close"`
		Bid       float64 `json:"bid"`
		Ask       float64 `json:"ask"`
	}
	if err := json.Unmarshal(open[0].Data, &q); err != nil {
		panic(err)
	}
	fmt.Println(open[0].Topic, open[0].Kind, q.Symbol, q.PrevClose, q.Bid < q.Ask)

	// Then about four ticks a second.
	ticks := 0
	for range 100 {
		now = now.Add(100 * time.Millisecond)
		ticks += len(s.Step(now))
	}
	fmt.Println("about 40 ticks in 10s:", ticks >= 30 && ticks <= 50)
	// Output:
	// stocks.AAPL state AAPL 189.73 true
	// about 40 ticks in 10s: true
}

// The sports simulator fills its game slots on the first step: one game
// about to start and the others already under way.
func ExampleSports() {
	s := feed.NewSports(feed.SportsOptions{Games: 3, Rand: rand.New(rand.NewPCG(1, 2))})
	for _, u := range s.Step(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		var b struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(u.Data, &b); err != nil {
			panic(err)
		}
		fmt.Println(u.Topic, u.Kind, b.Status)
	}
	// Output:
	// sports.nba.g2611250001 state scheduled
	// sports.nhl.g2611250002 state live
	// sports.epl.g2611250003 state live
}
