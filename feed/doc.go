// Package feed holds Tickerd's ingesters: the stock and sports simulators
// that keep the demo alive, and the decoding of the bodies that publishers
// post (DecodeUpdates). Every ingester publishes through one seam, the
// Publisher, which the NATS stream adapter implements.
//
// Each simulator is a deterministic core driven by an explicit clock: Step
// advances it to a given time and returns the updates that happened, using
// only the *rand.Rand it was given. Run drives Step from the wall clock and
// publishes what it returns. Tests drive Step with a fake clock instead, so
// hours of simulated trading or a day of games run in moments and the same
// seed always gives the same updates.
//
// # Registry
//
// registry.go lists the feeds a gateway or `tickerd feed` can run, one row
// each: its name for --feeds, a description, its own flags and a
// constructor that validates its options. Build makes the named feeds;
// adding a feed is a file here and a row there.
//
// # Stocks
//
// Each quote is a state update on "stocks.<SYMBOL>". Money is in dollars
// with two decimals, change_pct in percent with two decimals; bid < price <
// ask, low <= price <= high, and volume only grows:
//
//	{"symbol":"AAPL","name":"Apple Inc.","price":189.32,"prev_close":189.73,
//	 "change":-0.41,"change_pct":-0.22,"bid":189.31,"ask":189.33,
//	 "volume":1234567,"high":190.10,"low":188.90,"open":189.70}
//
// # Sports
//
// A game's scoreboard is a state update on "sports.<league>.<id>", with
// league one of nba, nhl, epl and id "g" + yyMMdd + a counter. status goes
// scheduled, live, final; intermission is true between periods; clock counts
// down each period, or for soccer up through the match; winner is set on a
// final game that is not a draw:
//
//	{"league":"nba","sport":"basketball","id":"g2611250001",
//	 "home":{"code":"BOS","name":"Boston","score":54},
//	 "away":{"code":"MIA","name":"Miami","score":51},
//	 "period":2,"period_label":"Q2","clock":"05:31","status":"live",
//	 "intermission":false,"starts_at":"2026-11-25T14:30:15.000Z"}
//
// Its plays are event updates on "sports.<league>.<id>.events". type is
// one of game_start, period_start, score (basketball), goal (hockey,
// soccer, and a shootout win), foul, penalty (hockey), card (soccer, with
// "card":"yellow" or "red"), period_end, game_end; team and points are set
// where they apply, and the scores are those after the play:
//
//	{"type":"score","league":"nba","id":"g2611250001","team":"BOS",
//	 "points":2,"period":2,"period_label":"Q2","clock":"05:31",
//	 "text":"Boston scores 2","home_score":54,"away_score":51}
//
// A score publishes its event and then the new scoreboard. Period labels
// are Q1-Q4, OT, 2OT.. (nba); P1-P3, OT, SO (nhl); 1H, 2H (epl).
package feed
