package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

func TestUpdateJSON(t *testing.T) {
	u := message.Update{
		Topic: "stocks.AAPL", Kind: message.State, Seq: 77,
		Data: json.RawMessage(`{"price":189.32,"change":-0.41}`),
		Time: time.Date(2026, 11, 25, 14, 3, 7, 123456789, time.FixedZone("x", 3600)),
	}
	f := UpdateFrame(&u, 5)
	js := f.JSON
	var got struct {
		Type, Topic, Kind, Time, Cursor string
		Data                            map[string]float64
		Merged                          int
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if got.Type != "update" || got.Topic != "stocks.AAPL" || got.Kind != "state" ||
		got.Time != "2026-11-25T13:03:07.123Z" || got.Data["price"] != 189.32 {
		t.Fatalf("decoded %+v from %s", got, js)
	}
	if c, err := message.ParseCursor(got.Cursor); err != nil || c != (message.Cursor{Epoch: 5, Seq: 77}) || string(f.Cursor) != got.Cursor {
		t.Fatalf("cursor %q: %v %v", got.Cursor, c, err)
	}
	if err := json.Unmarshal(Item{Frame: f, Merged: 3}.AppendJSON(nil), &got); err != nil || got.Merged != 3 {
		t.Fatalf("merged: %v %+v", err, got)
	}
}

func BenchmarkUpdateJSON(b *testing.B) {
	u := message.Update{Topic: "stocks.AAPL", Kind: message.State, Seq: 77, Data: json.RawMessage(`{"price":189.32}`), Time: time.Now()}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], UpdateFrame(&u, 1764000000000000000).JSON...)
	}
}
