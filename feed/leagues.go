package feed

import (
	"math/rand/v2"
	"strconv"
)

// team is one side of a game.
type team struct {
	code, name string
}

// league holds the rules and pace of one competition. All durations are in
// game seconds, the time on the game clock, which the simulator compresses
// into SportsOptions.GameLength of real time.
type league struct {
	code  string // the topic token and the "league" field: "nba"
	sport string // "basketball"

	periods     int  // regulation periods
	periodLen   int  // length of a regulation period
	breakLen    int  // the pause between two periods
	maxStoppage int  // at most this much, in whole minutes, is added to each period (soccer)
	overtimeLen int  // length of an overtime period; 0 means a draw stands
	suddenDeath bool // the first score in overtime ends the game
	shootout    bool // a game still tied after one overtime is settled by a shootout
	countUp     bool // the clock runs up through the game rather than down each period

	scoreType string               // the event type of a score: "score" or "goal"
	scoreRate float64              // scoring plays per team per game second
	points    func(*rand.Rand) int // points of one scoring play
	minor     []minorEvent         // events that change no score

	startWord string // "Tip-off"
	teams     []team
}

// minorEvent is an event that changes no score: a foul, a penalty, a card.
type minorEvent struct {
	typ  string  // the event type
	card string  // the card colour, for type "card"
	rate float64 // per team per game second
	text string  // the event text after the team name
}

// leagues are the competitions the sports simulator knows. Rates are set
// so that scores come out near real averages: about 110 points a team in
// the NBA, 3 goals in the NHL, 1.4 in the Premier League.
var leagues = []*league{
	{
		code: "nba", sport: "basketball",
		periods: 4, periodLen: 12 * 60, breakLen: 3 * 60,
		overtimeLen: 5 * 60,
		scoreType:   "score", scoreRate: 52.0 / (48 * 60),
		points: func(r *rand.Rand) int {
			switch x := r.Float64(); {
			case x < 0.15:
				return 1
			case x < 0.70:
				return 2
			default:
				return 3
			}
		},
		minor:     []minorEvent{{typ: "foul", rate: 19.0 / (48 * 60), text: "commits a foul"}},
		startWord: "Tip-off",
		teams: []team{
			{"BOS", "Boston"}, {"LAL", "Los Angeles"}, {"GSW", "Golden State"},
			{"MIA", "Miami"}, {"NYK", "New York"}, {"CHI", "Chicago"},
			{"DEN", "Denver"}, {"PHX", "Phoenix"}, {"MIL", "Milwaukee"},
			{"DAL", "Dallas"}, {"PHI", "Philadelphia"}, {"TOR", "Toronto"},
		},
	},
	{
		code: "nhl", sport: "hockey",
		periods: 3, periodLen: 20 * 60, breakLen: 5 * 60,
		overtimeLen: 5 * 60, suddenDeath: true, shootout: true,
		scoreType: "goal", scoreRate: 3.1 / (60 * 60),
		points:    func(*rand.Rand) int { return 1 },
		minor:     []minorEvent{{typ: "penalty", rate: 3.5 / (60 * 60), text: "takes a minor penalty"}},
		startWord: "Puck drop",
		teams: []team{
			{"TOR", "Toronto"}, {"MTL", "Montreal"}, {"BOS", "Boston"},
			{"NYR", "New York"}, {"CHI", "Chicago"}, {"DET", "Detroit"},
			{"EDM", "Edmonton"}, {"VAN", "Vancouver"}, {"PIT", "Pittsburgh"},
			{"COL", "Colorado"}, {"TBL", "Tampa Bay"}, {"VGK", "Vegas"},
		},
	},
	{
		code: "epl", sport: "soccer",
		periods: 2, periodLen: 45 * 60, breakLen: 15 * 60, maxStoppage: 5,
		countUp:   true,
		scoreType: "goal", scoreRate: 1.4 / (90 * 60),
		points: func(*rand.Rand) int { return 1 },
		minor: []minorEvent{
			{typ: "foul", rate: 11.0 / (90 * 60), text: "commits a foul"},
			{typ: "card", card: "yellow", rate: 1.8 / (90 * 60), text: "is shown a yellow card"},
			{typ: "card", card: "red", rate: 0.06 / (90 * 60), text: "is shown a red card"},
		},
		startWord: "Kick-off",
		teams: []team{
			{"ARS", "Arsenal"}, {"CHE", "Chelsea"}, {"LIV", "Liverpool"},
			{"MCI", "Manchester City"}, {"MUN", "Manchester United"}, {"TOT", "Tottenham"},
			{"NEW", "Newcastle"}, {"AVL", "Aston Villa"}, {"BHA", "Brighton"},
			{"WHU", "West Ham"}, {"EVE", "Everton"}, {"BRE", "Brentford"},
		},
	},
}

// Leagues returns the codes of the leagues the sports simulator knows, in
// the order SportsOptions uses by default.
func Leagues() []string {
	out := make([]string, len(leagues))
	for i, lg := range leagues {
		out[i] = lg.code
	}
	return out
}

func leagueByCode(code string) *league {
	for _, lg := range leagues {
		if lg.code == code {
			return lg
		}
	}
	return nil
}

// plannedLength is the expected game-clock length of a game without
// overtime, breaks included: what SportsOptions.GameLength maps onto.
func (lg *league) plannedLength() float64 {
	meanStoppage := 0.0
	if lg.maxStoppage > 0 {
		meanStoppage = 60 * float64(1+lg.maxStoppage) / 2
	}
	return float64(lg.periods)*(float64(lg.periodLen)+meanStoppage) + float64(lg.periods-1)*float64(lg.breakLen)
}

// periodLabel is the short name of a period: Q2, OT, 2OT, P3, SO, 1H.
func (lg *league) periodLabel(p int) string {
	if p <= 0 {
		return ""
	}
	switch lg.code {
	case "nba":
		switch {
		case p <= lg.periods:
			return "Q" + strconv.Itoa(p)
		case p == lg.periods+1:
			return "OT"
		default:
			return strconv.Itoa(p-lg.periods) + "OT"
		}
	case "nhl":
		switch {
		case p <= lg.periods:
			return "P" + strconv.Itoa(p)
		case p == lg.periods+1:
			return "OT"
		default:
			return "SO"
		}
	case "epl":
		return strconv.Itoa(p) + "H"
	}
	return strconv.Itoa(p)
}

// periodName is the period as a sentence names it: "the 2nd quarter".
func (lg *league) periodName(p int) string {
	if p > lg.periods {
		if lg.code == "nhl" && p > lg.periods+1 {
			return "the shootout"
		}
		if n := p - lg.periods; n > 1 {
			return "overtime " + strconv.Itoa(n)
		}
		return "overtime"
	}
	switch lg.code {
	case "nba":
		return "the " + ordinal(p) + " quarter"
	case "epl":
		if p == 1 {
			return "the first half"
		}
		return "the second half"
	}
	return "the " + ordinal(p) + " period"
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return strconv.Itoa(n) + "th"
}
