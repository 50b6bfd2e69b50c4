package feed

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// boardData and eventData are a scoreboard and a game event as a client
// decodes them.
type boardData struct {
	League string `json:"league"`
	Sport  string `json:"sport"`
	ID     string `json:"id"`
	Home   struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Score int    `json:"score"`
	} `json:"home"`
	Away struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Score int    `json:"score"`
	} `json:"away"`
	Period       int    `json:"period"`
	PeriodLabel  string `json:"period_label"`
	Clock        string `json:"clock"`
	Status       string `json:"status"`
	Intermission bool   `json:"intermission"`
	StartsAt     string `json:"starts_at"`
	Winner       string `json:"winner"`
}

type eventData struct {
	Type        string `json:"type"`
	League      string `json:"league"`
	ID          string `json:"id"`
	Team        string `json:"team"`
	Points      int    `json:"points"`
	Card        string `json:"card"`
	Period      int    `json:"period"`
	PeriodLabel string `json:"period_label"`
	Clock       string `json:"clock"`
	Text        string `json:"text"`
	HomeScore   int    `json:"home_score"`
	AwayScore   int    `json:"away_score"`
}

var (
	clockRE  = regexp.MustCompile(`^\d\d:\d\d$`)
	gameIDRE = regexp.MustCompile(`^g(\d{6})\d{4,}$`)
	statuses = map[string]int{"scheduled": 0, "live": 1, "final": 2}
	scoring  = map[string]bool{"score": true, "goal": true}
)

// gameLog is everything seen of one game.
type gameLog struct {
	league    string
	firstSeen time.Time
	whole     bool // first seen scheduled: every play was published
	board     boardData
	boards    int
	liveAt    time.Time
	boardAt   time.Time // when the last scoreboard came
	boardRaw  string
	endedAt   time.Time
	starts    int // game_start events
	ends      int // game_end events
	points    map[string]int
	lastEvent eventData
}

// sportsChecker checks every update of a run against the invariants and
// keeps what later checks need.
type sportsChecker struct {
	t      *testing.T
	opts   SportsOptions
	games  map[string]*gameLog
	active map[string]*gameLog // games not yet final
	order  []string            // game ids in order of first appearance
}

func newSportsChecker(t *testing.T, opts SportsOptions) *sportsChecker {
	return &sportsChecker{t: t, opts: opts.withDefaults(), games: map[string]*gameLog{}, active: map[string]*gameLog{}}
}

func (c *sportsChecker) check(now time.Time, ups []message.Update) {
	t := c.t
	t.Helper()
	var echo *gameLog // the game whose score event must be followed by its board
	for _, u := range ups {
		if err := message.ValidateTopic(u.Topic); err != nil {
			t.Fatalf("topic %q: %v", u.Topic, err)
		}
		if !u.Time.Equal(now) {
			t.Fatalf("%s: time %v, want %v", u.Topic, u.Time, now)
		}
		tok := strings.Split(u.Topic, ".")
		if tok[0] != "sports" || len(tok) < 3 || len(tok) > 4 || (len(tok) == 4 && tok[3] != "events") {
			t.Fatalf("unexpected topic %q", u.Topic)
		}
		isEvent := len(tok) == 4
		if want := map[bool]message.Kind{false: message.State, true: message.Event}[isEvent]; u.Kind != want {
			t.Fatalf("%s has kind %v, want %v", u.Topic, u.Kind, want)
		}
		league, id := tok[1], tok[2]
		m := gameIDRE.FindStringSubmatch(id)
		if m == nil || m[1] != now.UTC().Format("060102") {
			t.Fatalf("game id %q does not carry the date %s", id, now.UTC().Format("060102"))
		}
		g := c.games[id]
		if g == nil {
			if isEvent {
				t.Fatalf("event on %s before any scoreboard", u.Topic)
			}
			g = &gameLog{league: league, firstSeen: now, points: map[string]int{}}
			c.games[id] = g
			c.active[id] = g
			c.order = append(c.order, id)
		}
		if g.league != league {
			t.Fatalf("game %s in leagues %s and %s", id, g.league, league)
		}
		if g.board.Status == "final" && (isEvent || string(u.Data) != g.boardRaw) {
			t.Fatalf("%s changed after its game ended: %s", u.Topic, u.Data)
		}
		if echo != nil && (isEvent || echo != g) {
			t.Fatalf("a score on %s was not followed by its scoreboard", c.idOf(echo))
		}
		if isEvent {
			c.event(g, id, league, u.Data)
			if scoring[g.lastEvent.Type] {
				echo = g
			}
			continue
		}
		c.board(g, id, league, now, u.Data)
		if echo != nil {
			if ev := echo.lastEvent; g.board.Home.Score != ev.HomeScore || g.board.Away.Score != ev.AwayScore {
				t.Fatalf("scoreboard %+v does not show the score of %+v", g.board, ev)
			}
			echo = nil
		}
	}
	if echo != nil {
		t.Fatalf("a score on %s ended the step without its scoreboard", c.idOf(echo))
	}
}

func (c *sportsChecker) idOf(g *gameLog) string {
	for id, h := range c.games {
		if h == g {
			return id
		}
	}
	return "?"
}

func (c *sportsChecker) board(g *gameLog, id, league string, now time.Time, data []byte) {
	t := c.t
	t.Helper()
	var b boardData
	decodeStrict(t, data, &b)
	prev := g.board
	switch {
	case b.League != league || b.ID != id:
		t.Fatalf("scoreboard %s on the topic of %s.%s", data, league, id)
	case b.Home.Code == b.Away.Code || b.Home.Name == "" || b.Away.Name == "":
		t.Fatalf("bad teams: %s", data)
	case !clockRE.MatchString(b.Clock):
		t.Fatalf("bad clock: %s", data)
	case b.Home.Score < 0 || b.Away.Score < 0:
		t.Fatalf("negative score: %s", data)
	}
	if _, err := time.Parse(time.RFC3339, b.StartsAt); err != nil {
		t.Fatalf("starts_at: %s: %v", data, err)
	}
	st, ok := statuses[b.Status]
	if !ok {
		t.Fatalf("bad status: %s", data)
	}
	if g.boards == 0 {
		g.whole = b.Status == "scheduled"
	} else {
		switch {
		case st < statuses[prev.Status]:
			t.Fatalf("status went back from %s: %s", prev.Status, data)
		case b.Home.Score < prev.Home.Score || b.Away.Score < prev.Away.Score:
			t.Fatalf("score went down from %d-%d: %s", prev.Home.Score, prev.Away.Score, data)
		case b.Period < prev.Period:
			t.Fatalf("period went back from %d: %s", prev.Period, data)
		case b.Home.Code != prev.Home.Code || b.Away.Code != prev.Away.Code || b.StartsAt != prev.StartsAt:
			t.Fatalf("teams or start changed: %+v then %s", prev, data)
		}
	}
	if b.Status == "scheduled" && (b.Period != 0 || b.Home.Score+b.Away.Score != 0) {
		t.Fatalf("scheduled game under way: %s", data)
	}
	if b.Status != "scheduled" && (b.Period < 1 || b.PeriodLabel == "") {
		t.Fatalf("started game without a period: %s", data)
	}
	if b.Status == "live" && g.liveAt.IsZero() {
		g.liveAt = now
	}
	if b.Status == "final" {
		if prev.Status != "final" {
			g.endedAt = now
		}
		if g.ends != 1 || g.lastEvent.Type != "game_end" {
			t.Fatalf("final scoreboard without a game_end event just before: %s", data)
		}
		want := ""
		if b.Home.Score > b.Away.Score {
			want = b.Home.Code
		} else if b.Away.Score > b.Home.Score {
			want = b.Away.Code
		}
		if b.Winner != want {
			t.Fatalf("winner %q, want %q: %s", b.Winner, want, data)
		}
		if league != "epl" && want == "" {
			t.Fatalf("%s game ended in a draw: %s", league, data)
		}
	} else if b.Winner != "" {
		t.Fatalf("winner before the end: %s", data)
	}
	g.board = b
	g.boardRaw = string(data)
	g.boardAt = now
	g.boards++
}

func (c *sportsChecker) event(g *gameLog, id, league string, data []byte) {
	t := c.t
	t.Helper()
	var e eventData
	decodeStrict(t, data, &e)
	prev := g.lastEvent
	switch {
	case e.League != league || e.ID != id:
		t.Fatalf("event %s on the topic of %s.%s", data, league, id)
	case e.Text == "" || !clockRE.MatchString(e.Clock) || e.Period < 1 || e.PeriodLabel == "":
		t.Fatalf("incomplete event: %s", data)
	case e.HomeScore < prev.HomeScore || e.AwayScore < prev.AwayScore:
		t.Fatalf("event score went down from %d-%d: %s", prev.HomeScore, prev.AwayScore, data)
	case e.Period < prev.Period:
		t.Fatalf("event period went back: %s", data)
	case g.board.Status == "final":
		t.Fatalf("event after the final scoreboard: %s", data)
	case g.boards > 0 && (e.HomeScore < g.board.Home.Score || e.AwayScore < g.board.Away.Score):
		t.Fatalf("event shows less than the scoreboard %+v: %s", g.board, data)
	}
	switch e.Type {
	case "score", "goal":
		if e.Points < 1 || e.Points > 3 || (e.Team != g.board.Home.Code && e.Team != g.board.Away.Code) {
			t.Fatalf("bad score event: %s", data)
		}
		home, away := g.board.Home.Score, g.board.Away.Score
		if prev.Type != "" {
			home, away = prev.HomeScore, prev.AwayScore
		}
		if e.Team == g.board.Home.Code {
			home += e.Points
		} else {
			away += e.Points
		}
		if e.HomeScore != home || e.AwayScore != away {
			t.Fatalf("score event %s does not add up from %d-%d", data, prev.HomeScore, prev.AwayScore)
		}
		g.points[e.Team] += e.Points
	case "foul", "penalty", "card":
		if e.Team == "" || e.Points != 0 || (e.Type == "card") != (e.Card != "") {
			t.Fatalf("bad event: %s", data)
		}
	case "game_start":
		g.starts++
	case "game_end":
		g.ends++
	case "period_start", "period_end":
	default:
		t.Fatalf("unknown event type: %s", data)
	}
	g.lastEvent = e
}

// runSports steps a simulator from epoch for d in steps of dt, checking
// every update, and returns the checker.
func runSports(t *testing.T, opts SportsOptions, d, dt time.Duration) *sportsChecker {
	t.Helper()
	s := NewSports(opts)
	c := newSportsChecker(t, opts)
	for now := epoch; now.Before(epoch.Add(d)); now = now.Add(dt) {
		ups := s.Step(now)
		c.check(now, ups)
		for id, g := range c.active {
			// A scoreboard is republished every Refresh, so a live clock
			// runs. (A final game stops when its slot is given a new one.)
			if g.board.Status == "final" {
				delete(c.active, id)
			} else if now.Sub(g.boardAt) > c.opts.Refresh+dt {
				t.Fatalf("%s game %s silent since %v", g.board.Status, id, g.boardAt.Sub(epoch))
			}
		}
		if now.Equal(epoch) {
			if len(ups) != c.opts.Games {
				t.Fatalf("first step published %d updates, want a scoreboard per game (%d)", len(ups), c.opts.Games)
			}
		}
	}
	return c
}

func TestSportsGames(t *testing.T) {
	tests := []struct {
		name string
		opts SportsOptions
		dt   time.Duration
	}{
		{"defaults", SportsOptions{Rand: seeded(1)}, 100 * time.Millisecond},
		{"coarse steps", SportsOptions{Rand: seeded(2)}, 3 * time.Second},
		{"short games", SportsOptions{Rand: seeded(3), Games: 9, Leagues: []string{"nhl", "epl"}, GameLength: 20 * time.Second, Pause: time.Second}, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts.withDefaults()
			d := 25 * (opts.GameLength + 2*opts.Pause)
			c := runSports(t, tt.opts, d, tt.dt)
			end := epoch.Add(d)

			leagues := map[string]bool{}
			finals := map[string][]time.Time{} // end times per league
			appeared := map[string][]time.Time{}
			totals := map[string][]int{}
			for _, id := range c.order {
				g := c.games[id]
				leagues[g.league] = true
				if !g.firstSeen.Equal(epoch) {
					appeared[g.league] = append(appeared[g.league], g.firstSeen)
				}
				if g.board.Status != "final" {
					// Every game ends, a little over GameLength after it starts.
					if g.firstSeen.Before(end.Add(-2*opts.GameLength - 2*opts.Pause)) {
						t.Errorf("game %s seen at %v is still %s at the end", id, g.firstSeen.Sub(epoch), g.board.Status)
					}
					continue
				}
				finals[g.league] = append(finals[g.league], g.endedAt)
				if !g.whole {
					continue
				}
				if g.starts != 1 || g.ends != 1 {
					t.Errorf("game %s had %d game_start and %d game_end events", id, g.starts, g.ends)
				}
				if g.points[g.board.Home.Code] != g.board.Home.Score || g.points[g.board.Away.Code] != g.board.Away.Score {
					t.Errorf("game %s: scoring events add up to %v, final board %+v", id, g.points, g.board)
				}
				length := g.endedAt.Sub(g.liveAt)
				if length < opts.GameLength*7/10-tt.dt || length > opts.GameLength*16/10+tt.dt {
					t.Errorf("game %s lasted %v, want about %v", id, length, opts.GameLength)
				}
				totals[g.league] = append(totals[g.league], g.board.Home.Score, g.board.Away.Score)
			}
			if len(leagues) < 2 || len(leagues) != len(opts.Leagues) {
				t.Errorf("games in leagues %v, want all of %v", leagues, opts.Leagues)
			}

			// Every finished game is replaced, in its league, by a new game
			// Pause later (to the step).
			for league, ends := range finals {
				slices.SortFunc(ends, time.Time.Compare)
				if len(ends) < 10 {
					t.Errorf("only %d %s games finished", len(ends), league)
				}
				next := appeared[league]
				for i, at := range ends {
					if at.Add(opts.Pause + tt.dt).After(end) {
						continue
					}
					if i >= len(next) || next[i].Before(at.Add(opts.Pause)) || next[i].After(at.Add(opts.Pause+tt.dt)) {
						t.Errorf("%s game ended at %v not replaced %v later", league, at.Sub(epoch), opts.Pause)
					}
				}
			}

			// Scores come out near the real averages.
			for league, scores := range totals {
				sum := 0
				for _, s := range scores {
					sum += s
				}
				mean := float64(sum) / float64(len(scores))
				lo, hi := map[string][2]float64{"nba": {85, 140}, "nhl": {1.5, 5}, "epl": {0.6, 2.5}}[league][0], map[string][2]float64{"nba": {85, 140}, "nhl": {1.5, 5}, "epl": {0.6, 2.5}}[league][1]
				if mean < lo || mean > hi {
					t.Errorf("%s teams scored %.1f on average over %d games, want %v..%v", league, mean, len(scores)/2, lo, hi)
				}
			}
		})
	}
}

func TestSportsStart(t *testing.T) {
	s := NewSports(SportsOptions{Rand: seeded(4)})
	ups := s.Step(epoch)
	if len(ups) != 6 {
		t.Fatalf("first step: %d updates, want 6 scoreboards", len(ups))
	}
	busy := map[string]bool{}
	for i, u := range ups {
		var b boardData
		decodeStrict(t, u.Data, &b)
		want := "live"
		if i == 0 {
			want = "scheduled"
		}
		if b.Status != want {
			t.Errorf("game %d is %s, want %s: %s", i, b.Status, want, u.Data)
		}
		for _, code := range []string{b.Home.Code, b.Away.Code} {
			if busy[b.League+code] {
				t.Errorf("%s %s plays two games at once", b.League, code)
			}
			busy[b.League+code] = true
		}
	}
	if !strings.HasSuffix(ups[0].Topic, ".g2611258700") {
		t.Errorf("first game topic %s, want the id of 14:30 (counter 8700)", ups[0].Topic)
	}
}

func TestSportsIDs(t *testing.T) {
	midnight := time.Date(2026, 11, 25, 0, 0, 30, 0, time.UTC)
	s := NewSports(SportsOptions{Games: 2, Rand: seeded(5)})
	ups := s.Step(midnight)
	if ups[0].Topic[len(ups[0].Topic)-11:] != "g2611250001" || ups[1].Topic[len(ups[1].Topic)-11:] != "g2611250002" {
		t.Errorf("ids at midnight: %s, %s", ups[0].Topic, ups[1].Topic)
	}
	// A simulator started a minute later, after the first started two
	// games, does not reuse their ids.
	later := NewSports(SportsOptions{Games: 2, Rand: seeded(5)})
	ups2 := later.Step(midnight.Add(time.Minute))
	for _, u := range ups2 {
		if u.Topic == ups[0].Topic || u.Topic == ups[1].Topic {
			t.Errorf("restarted simulator reused %s", u.Topic)
		}
	}
}

func TestSportsDeterministic(t *testing.T) {
	a := NewSports(SportsOptions{Rand: seeded(9), GameLength: 30 * time.Second})
	b := NewSports(SportsOptions{Rand: seeded(9), GameLength: 30 * time.Second})
	now := epoch
	for range 5000 {
		ua, ub := a.Step(now), b.Step(now)
		if len(ua) != len(ub) {
			t.Fatalf("same seed, %d and %d updates", len(ua), len(ub))
		}
		for i := range ua {
			if ua[i].Topic != ub[i].Topic || string(ua[i].Data) != string(ub[i].Data) {
				t.Fatalf("same seed, different updates:\n%s\n%s", ua[i].Data, ub[i].Data)
			}
		}
		now = now.Add(100 * time.Millisecond)
	}
}

func TestSportsValidate(t *testing.T) {
	if err := (SportsOptions{Leagues: []string{"nba", "mlb"}}).Validate(); !errors.Is(err, ErrUnknownLeague) {
		t.Errorf("Validate() = %v, want ErrUnknownLeague", err)
	}
	if err := (SportsOptions{Leagues: Leagues()}).Validate(); err != nil {
		t.Errorf("Validate() = %v for the known leagues", err)
	}
	if len(Leagues()) < 2 {
		t.Errorf("leagues %v, want at least 2", Leagues())
	}
	defer func() {
		if recover() == nil {
			t.Error("NewSports did not panic on an unknown league")
		}
	}()
	NewSports(SportsOptions{Leagues: []string{"xfl"}})
}

func TestClock(t *testing.T) {
	nba, epl := leagueByCode("nba"), leagueByCode("epl")
	tests := []struct {
		g    game
		want string
	}{
		{game{lg: nba, periodLen: 720}, "12:00"},
		{game{lg: nba, period: 2, periodLen: 720, elapsed: 389}, "05:31"},
		{game{lg: nba, period: 4, periodLen: 720, elapsed: 720}, "00:00"},
		{game{lg: epl, periodLen: 2700}, "00:00"},
		{game{lg: epl, period: 1, periodLen: 2880, elapsed: 2820}, "47:00"},
		{game{lg: epl, period: 2, periodLen: 2760, elapsed: 61}, "46:01"},
	}
	for _, tt := range tests {
		if got := tt.g.clock(); got != tt.want {
			t.Errorf("clock of %s period %d elapsed %d = %q, want %q", tt.g.lg.code, tt.g.period, tt.g.elapsed, got, tt.want)
		}
	}
}

// TestSportsOvertime forces ties at the end of regulation: basketball plays
// overtime until someone wins, hockey settles it in sudden-death overtime
// or a shootout, and soccer lets the draw stand (the checker refuses a
// drawn basketball or hockey game).
func TestSportsOvertime(t *testing.T) {
	t.Parallel()
	outcomes := map[string]map[string]int{} // league -> final period label -> games
	for seed := range uint64(150) {
		for _, code := range []string{"nba", "nhl", "epl"} {
			opts := SportsOptions{Games: 1, Leagues: []string{code}, Rand: seeded(seed)}
			s := NewSports(opts)
			c := newSportsChecker(t, opts)
			now := epoch
			c.check(now, s.Step(now))
			g := s.slots[0]
			now = g.startsAt
			c.check(now, s.Step(now))
			lg := g.lg
			if g.status != live || g.home.score+g.away.score != 0 {
				t.Fatalf("game not just started: %+v", g)
			}
			// Skip to the last second of regulation, tied at 0-0.
			g.period, g.periodLen, g.elapsed = lg.periods, lg.periodLen, lg.periodLen-1
			for g.status != final {
				now = now.Add(100 * time.Millisecond)
				c.check(now, s.Step(now))
			}
			b := c.games[g.id].board
			if outcomes[code] == nil {
				outcomes[code] = map[string]int{}
			}
			outcomes[code][b.PeriodLabel]++
			// The checker has made sure that only soccer ends in a draw; a
			// score in the last second of regulation is a plain win.
			switch {
			case b.Period > lg.periods+2 && code != "nba":
				t.Fatalf("%s played more than one overtime and a shootout: %+v", code, b)
			case code == "nhl" && b.Period == 4 && b.Clock == "00:00":
				t.Fatalf("nhl overtime ran out without a shootout: %+v", b)
			}
		}
	}
	t.Logf("final periods of tied games: %v", outcomes)
	for _, want := range [][2]string{{"nba", "OT"}, {"nba", "2OT"}, {"nhl", "OT"}, {"nhl", "SO"}} {
		if outcomes[want[0]][want[1]] == 0 {
			t.Errorf("no tied %s game ended in %s: %v", want[0], want[1], outcomes[want[0]])
		}
	}
}
