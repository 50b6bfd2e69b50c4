package feed

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
)

// gameStatus is where a game is in its life.
type gameStatus uint8

const (
	scheduled gameStatus = iota
	live
	final
)

func (st gameStatus) String() string {
	switch st {
	case scheduled:
		return "scheduled"
	case live:
		return "live"
	}
	return "final"
}

// side is one team in one game.
type side struct {
	team
	score int
}

// game is one simulated game. Its clock runs in whole game seconds; the
// fraction of a second owed by the real time elapsed is carried over to
// the next step, so the pace does not depend on how often Step is called.
type game struct {
	lg       *league
	id       string
	topic    string // sports.<league>.<id>: the scoreboard
	events   string // sports.<league>.<id>.events
	speed    float64
	home     side
	away     side
	status   gameStatus
	startsAt time.Time
	endedAt  time.Time

	last      time.Time // real time up to which the game has been played
	carry     float64   // game seconds owed but not yet played
	period    int       // 0 before the start
	periodLen int       // game seconds in the current period
	elapsed   int       // game seconds played in the current period
	breakLeft int       // game seconds of the break still to run; > 0 between periods

	lastState time.Time // when the scoreboard was last published
}

// clock is the game clock as a scoreboard shows it: time left in the
// period, or for soccer the time played in the match.
func (g *game) clock() string {
	if g.lg.countUp {
		return mmss((max(g.period, 1)-1)*g.lg.periodLen + g.elapsed)
	}
	return mmss(max(g.periodLen-g.elapsed, 0))
}

func mmss(sec int) string {
	b := make([]byte, 0, 5)
	m, s := sec/60, sec%60
	if m < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(m), 10)
	return string(append(b, ':', byte('0'+s/10), byte('0'+s%10)))
}

// scoreboard is the data of a game's state update.
type scoreboard struct {
	League       string    `json:"league"`
	Sport        string    `json:"sport"`
	ID           string    `json:"id"`
	Home         teamScore `json:"home"`
	Away         teamScore `json:"away"`
	Period       int       `json:"period"`
	PeriodLabel  string    `json:"period_label"`
	Clock        string    `json:"clock"`
	Status       string    `json:"status"`
	Intermission bool      `json:"intermission"`
	StartsAt     string    `json:"starts_at"`
	// Winner is the code of the winning team of a final game; empty for a
	// draw or a game not over.
	Winner string `json:"winner,omitempty"`
}

type teamScore struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Score int    `json:"score"`
}

// gameEvent is the data of an update on a game's events topic.
type gameEvent struct {
	Type        string `json:"type"`
	League      string `json:"league"`
	ID          string `json:"id"`
	Team        string `json:"team,omitempty"`
	Points      int    `json:"points,omitempty"`
	Card        string `json:"card,omitempty"`
	Period      int    `json:"period"`
	PeriodLabel string `json:"period_label"`
	Clock       string `json:"clock"`
	Text        string `json:"text"`
	HomeScore   int    `json:"home_score"`
	AwayScore   int    `json:"away_score"`
}

func (g *game) scoreboard() scoreboard {
	sb := scoreboard{
		League:       g.lg.code,
		Sport:        g.lg.sport,
		ID:           g.id,
		Home:         teamScore{g.home.code, g.home.name, g.home.score},
		Away:         teamScore{g.away.code, g.away.name, g.away.score},
		Period:       g.period,
		PeriodLabel:  g.lg.periodLabel(g.period),
		Clock:        g.clock(),
		Status:       g.status.String(),
		Intermission: g.breakLeft > 0,
		StartsAt:     g.startsAt.UTC().Format(message.TimeLayout),
	}
	if g.status == final {
		switch {
		case g.home.score > g.away.score:
			sb.Winner = g.home.code
		case g.away.score > g.home.score:
			sb.Winner = g.away.code
		}
	}
	return sb
}

// event returns an event of the game as it stands, for the caller to fill
// in the team and points.
func (g *game) event(typ, text string) gameEvent {
	return gameEvent{
		Type:        typ,
		League:      g.lg.code,
		ID:          g.id,
		Period:      g.period,
		PeriodLabel: g.lg.periodLabel(g.period),
		Clock:       g.clock(),
		Text:        text,
		HomeScore:   g.home.score,
		AwayScore:   g.away.score,
	}
}

// encode marshals a scoreboard or an event. The sports feed publishes a few
// updates a second, so encoding/json is cheap enough here; it cannot fail
// on these plain structs.
func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("feed: encoding " + err.Error())
	}
	return b
}
