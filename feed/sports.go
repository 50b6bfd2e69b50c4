package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
)

// SportsOptions configure the sports simulator. Zero fields take the
// defaults.
type SportsOptions struct {
	// Games is how many games run side by side. Default 6.
	Games int
	// Leagues are the competitions the games are drawn from, as codes of
	// Leagues(); games are dealt to them in turn, so each league keeps its
	// share. Default every league: nba, nhl, epl.
	Leagues []string
	// GameLength is about how long a whole game lasts in real time, breaks
	// included; overtime makes some games a little longer. Default 5m.
	GameLength time.Duration
	// Pause is how long a finished game stays final before a new game is
	// scheduled in its place, and how long that game then stays scheduled
	// before it starts. Default 15s.
	Pause time.Duration
	// Refresh is how often a game's scoreboard is published when nothing
	// changed it: so that a live clock visibly runs, and so that a
	// scoreboard lost to a failed publish is soon replaced. Default 1s.
	Refresh time.Duration
	// Rand is the source of every random draw; seed it for a repeatable
	// run. It must not be shared with anything running concurrently.
	// Default a generator seeded at random.
	Rand *rand.Rand
	// Logger receives Run's start, stop and publish failures.
	// Default slog.Default().
	Logger *slog.Logger
}

// ErrUnknownLeague is returned by SportsOptions.Validate for a league code
// that is not one of Leagues().
var ErrUnknownLeague = errors.New("feed: unknown league")

// Validate reports whether the options name only known leagues. NewSports
// panics on options that fail it, so check options built from user input
// first.
func (o SportsOptions) Validate() error {
	for _, code := range o.Leagues {
		if leagueByCode(code) == nil {
			return fmt.Errorf("%w %q (known: %v)", ErrUnknownLeague, code, Leagues())
		}
	}
	return nil
}

// Defaults of SportsOptions, which the serve and feed commands' flags show too.
const (
	DefaultGames      = 6
	DefaultGameLength = 5 * time.Minute
)

func (o SportsOptions) withDefaults() SportsOptions {
	if o.Games <= 0 {
		o.Games = DefaultGames
	}
	if len(o.Leagues) == 0 {
		o.Leagues = Leagues()
	}
	if o.GameLength <= 0 {
		o.GameLength = DefaultGameLength
	}
	if o.Pause <= 0 {
		o.Pause = 15 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Sports is the sports simulator: a fixed number of game slots, each
// playing one game after another. A game's scoreboard is a state update on
// "sports.<league>.<id>" and its plays are event updates on
// "sports.<league>.<id>.events"; every change of score publishes both.
//
// Step and Run must not be called concurrently.
type Sports struct {
	opts    SportsOptions
	rng     *rand.Rand
	leagues []*league
	slots   []*game
	started bool

	// Game ids are "g" + yyMMdd (UTC) + a counter of at least 4 digits.
	// The counter starts at ten times the minute of the day at which the
	// simulator makes its first game that day (so at 1 just after
	// midnight): a feed restarted later the same day does not reuse the
	// ids, and so the topics, of the games it published before, as long as
	// it starts fewer than ten games a minute.
	idDay  string
	idNext int

	// Set for the duration of one Step.
	now   time.Time
	out   []message.Update
	quiet bool // playing a game forward silently at start
}

// NewSports returns a sports simulator. It panics if opts fail Validate.
func NewSports(opts SportsOptions) *Sports {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	s := &Sports{opts: opts, rng: opts.Rand}
	for _, code := range opts.Leagues {
		s.leagues = append(s.leagues, leagueByCode(code))
	}
	return s
}

// Step advances every game to now and returns what happened, in order:
// events, scoreboards after every change, and a refreshed scoreboard for
// every game that has not published one for Refresh.
//
// The first Step fills the slots: the first game is scheduled to start
// after Pause, and the others join games already under way, spread over a
// game's length so that they do not all end together. The plays before
// joining are not published; every game's scoreboard is. now must not go
// backwards.
func (s *Sports) Step(now time.Time) []message.Update {
	s.now, s.out = now, nil
	if !s.started {
		s.start(now)
		return s.out
	}
	for i, g := range s.slots {
		if g.status == final && now.Sub(g.endedAt) >= s.opts.Pause {
			g = s.schedule(i, now.Add(s.opts.Pause))
			s.slots[i] = g
			s.publishState(g)
			continue
		}
		s.play(g, now)
		if now.Sub(g.lastState) >= s.opts.Refresh {
			s.publishState(g)
		}
	}
	return s.out
}

// Run publishes the games through p until ctx is cancelled, then returns
// nil. A failed publish is logged and the feed keeps going.
func (s *Sports) Run(ctx context.Context, p Publisher) error {
	// A tenth of a second is about one game second: fine enough for the
	// plays, and the scoreboards go out no more often than Refresh anyway.
	period := min(100*time.Millisecond, s.opts.Refresh)
	return drive(ctx, p, period, s.Step, s.opts.Logger, "sports")
}

func (s *Sports) start(now time.Time) {
	s.started = true
	n := s.opts.Games
	s.slots = make([]*game, n)
	s.slots[0] = s.schedule(0, now.Add(s.opts.Pause))
	s.publishState(s.slots[0])
	for i := 1; i < n; i++ {
		into := time.Duration(int64(s.opts.GameLength) * int64(i) / int64(n))
		g := s.schedule(i, now.Add(-into))
		s.slots[i] = g
		s.quiet = true
		s.play(g, now)
		s.quiet = false
		s.publishState(g)
	}
}

// schedule makes a new game for slot i, starting at startsAt.
func (s *Sports) schedule(i int, startsAt time.Time) *game {
	lg := s.leagues[i%len(s.leagues)]
	home, away := s.pickTeams(lg)
	id := s.newID()
	topic := "sports." + lg.code + "." + id
	return &game{
		lg:        lg,
		id:        id,
		topic:     topic,
		events:    topic + ".events",
		speed:     lg.plannedLength() / s.opts.GameLength.Seconds(),
		home:      side{team: home},
		away:      side{team: away},
		status:    scheduled,
		startsAt:  startsAt,
		periodLen: lg.periodLen,
	}
}

// pickTeams draws two teams of lg that are not due to play or playing in
// another slot, falling back to any two when the league has too few.
func (s *Sports) pickTeams(lg *league) (home, away team) {
	free := make([]team, 0, len(lg.teams))
	for _, t := range lg.teams {
		busy := false
		for _, g := range s.slots {
			if g != nil && g.lg == lg && g.status != final && (g.home.code == t.code || g.away.code == t.code) {
				busy = true
				break
			}
		}
		if !busy {
			free = append(free, t)
		}
	}
	if len(free) < 2 {
		free = lg.teams
	}
	i := s.rng.IntN(len(free))
	j := s.rng.IntN(len(free) - 1)
	if j >= i {
		j++
	}
	return free[i], free[j]
}

func (s *Sports) newID() string {
	now := s.now.UTC()
	if day := now.Format("060102"); day != s.idDay {
		s.idDay = day
		s.idNext = max(1, 10*(now.Hour()*60+now.Minute()))
	}
	n := s.idNext
	s.idNext++
	num := strconv.Itoa(n)
	for len(num) < 4 {
		num = "0" + num
	}
	return "g" + s.idDay + num
}

// play advances g to now: it starts the game when due, then plays every
// whole game second that the real time elapsed has paid for.
func (s *Sports) play(g *game, now time.Time) {
	if g.status == scheduled {
		if now.Before(g.startsAt) {
			return
		}
		g.status = live
		g.last = g.startsAt
		s.enterPeriod(g, 1)
		s.publishEvent(g, g.event("game_start", g.lg.startWord+": "+g.away.name+" at "+g.home.name))
		s.publishEvent(g, g.event("period_start", "Start of "+g.lg.periodName(1)))
		s.publishState(g)
	}
	if g.status != live {
		return
	}
	g.carry += now.Sub(g.last).Seconds() * g.speed
	g.last = now
	for g.carry >= 1 && g.status == live {
		g.carry--
		s.second(g)
	}
}

// second plays one game second: a tick of the break, or a second of play
// in which either side may score or commit a foul.
func (s *Sports) second(g *game) {
	if g.breakLeft > 0 {
		g.breakLeft--
		if g.breakLeft == 0 {
			s.startPeriod(g, g.period+1)
		}
		return
	}
	g.elapsed++
	for _, sd := range [2]*side{&g.home, &g.away} {
		if s.rng.Float64() < g.lg.scoreRate {
			s.score(g, sd)
			if g.status != live {
				return
			}
		}
		for _, m := range g.lg.minor {
			if s.rng.Float64() < m.rate {
				ev := g.event(m.typ, sd.name+" "+m.text)
				ev.Team, ev.Card = sd.code, m.card
				s.publishEvent(g, ev)
			}
		}
	}
	if g.elapsed >= g.periodLen {
		s.endPeriod(g)
	}
}

func (s *Sports) score(g *game, sd *side) {
	pts := g.lg.points(s.rng)
	sd.score += pts
	ev := g.event(g.lg.scoreType, scoreText(g.lg, sd.name, pts))
	ev.Team, ev.Points = sd.code, pts
	s.publishEvent(g, ev)
	s.publishState(g)
	if g.lg.suddenDeath && g.period > g.lg.periods {
		s.endPeriod(g)
	}
}

func scoreText(lg *league, name string, pts int) string {
	if lg.scoreType == "goal" {
		return "Goal! " + name + " scores"
	}
	switch pts {
	case 1:
		return name + " makes a free throw"
	case 3:
		return name + " hits a three"
	}
	return name + " scores " + strconv.Itoa(pts)
}

// startPeriod starts period p and announces it.
func (s *Sports) startPeriod(g *game, p int) {
	s.enterPeriod(g, p)
	s.publishEvent(g, g.event("period_start", "Start of "+g.lg.periodName(p)))
	s.publishState(g)
}

// enterPeriod sets the clock for period p: regulation or overtime length,
// plus stoppage time where the league adds it.
func (s *Sports) enterPeriod(g *game, p int) {
	lg := g.lg
	g.period, g.elapsed, g.breakLeft = p, 0, 0
	g.periodLen = lg.periodLen
	if p > lg.periods {
		g.periodLen = lg.overtimeLen
	}
	if lg.maxStoppage > 0 {
		g.periodLen += 60 * (1 + s.rng.IntN(lg.maxStoppage))
	}
}

// endPeriod closes the current period and decides what follows: a break
// before the next period, overtime or a shootout for a tie where the
// league allows no draw, or the end of the game.
func (s *Sports) endPeriod(g *game) {
	lg := g.lg
	s.publishEvent(g, g.event("period_end", "End of "+lg.periodName(g.period)))
	tied := g.home.score == g.away.score
	switch {
	case g.period < lg.periods || tied && lg.overtimeLen > 0 && !(lg.shootout && g.period > lg.periods):
		g.breakLeft = lg.breakLen
		if g.breakLeft == 0 {
			s.startPeriod(g, g.period+1)
			return
		}
		s.publishState(g)
	case tied && lg.shootout:
		s.shootoutWin(g)
		s.end(g)
	default:
		s.end(g)
	}
}

// shootoutWin settles a tie after overtime: the winner is credited one
// goal, as the NHL counts it.
func (s *Sports) shootoutWin(g *game) {
	g.period++
	g.periodLen, g.elapsed = 0, 0
	sd := &g.home
	if s.rng.IntN(2) == 1 {
		sd = &g.away
	}
	sd.score++
	ev := g.event(g.lg.scoreType, sd.name+" wins the shootout")
	ev.Team, ev.Points = sd.code, 1
	s.publishEvent(g, ev)
	s.publishState(g)
}

func (s *Sports) end(g *game) {
	g.status = final
	g.endedAt = s.now
	text := "Final: " + g.home.name + " " + strconv.Itoa(g.home.score) + ", " +
		g.away.name + " " + strconv.Itoa(g.away.score)
	if g.period > g.lg.periods {
		text += " (" + g.lg.periodLabel(g.period) + ")"
	}
	s.publishEvent(g, g.event("game_end", text))
	s.publishState(g)
}

func (s *Sports) publishState(g *game) {
	g.lastState = s.now
	if s.quiet {
		return
	}
	s.out = append(s.out, message.Update{Topic: g.topic, Kind: message.State, Data: encode(g.scoreboard()), Time: s.now})
}

func (s *Sports) publishEvent(g *game, ev gameEvent) {
	if s.quiet {
		return
	}
	s.out = append(s.out, message.Update{Topic: g.events, Kind: message.Event, Data: encode(ev), Time: s.now})
}
