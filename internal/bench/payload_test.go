package bench

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// The data the publisher makes is the size asked for, valid JSON, and
// reads back from the update a gateway encodes around it.
func TestPayloadRoundTrip(t *testing.T) {
	for _, size := range []int{0, 10, 100, 1000} {
		data := appendData(nil, 42, 1764079387123456789, size)
		if !json.Valid(data) {
			t.Fatalf("size %d: invalid JSON %s", size, data)
		}
		if len(data) < size || (len(data) > size && size >= 45) {
			t.Errorf("size %d: data is %d bytes", size, len(data))
		}
		u := message.Update{Topic: "bench.t3", Kind: message.Event, Data: data, Time: time.Now(), Seq: 7}
		f := wire.UpdateFrame(&u, 99)
		got, ok := parseMessage(f.JSON)
		if !ok || string(got.typ) != "update" || string(got.topic) != "bench.t3" || got.n != 42 || got.ts != 1764079387123456789 || got.merged {
			t.Fatalf("size %d: parsed %s as %+v, %v", size, f.JSON, got, ok)
		}
		merged, ok := parseMessage(wire.Item{Frame: f, Merged: 3}.AppendJSON(nil))
		if !ok || !merged.merged || merged.n != 42 {
			t.Fatalf("merged update parsed as %+v, %v", merged, ok)
		}
	}
	for _, bad := range []string{``, `{}`, `{"type":"update","topic":"a"}`, `{"type":"update","topic":"a","data":{"n":x}}`} {
		if _, ok := parseMessage([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if u, ok := parseMessage([]byte(`{"type":"snapshot","cursor":"c","items":[]}`)); !ok || string(u.typ) != "snapshot" {
		t.Errorf("snapshot parsed as %+v, %v", u, ok)
	}
}

func TestLimitCheck(t *testing.T) {
	for _, c := range []struct {
		n          int
		mode       serverMode
		soft, hard uint64
		ok         bool
		max        int
	}{
		{15000, modeSpawn, 20000, 20000, true, 0},
		{19744, modeSpawn, 20000, 20000, true, 0},
		{19745, modeSpawn, 20000, 20000, false, 19744}, // the server's share
		{19800, modeSpawn, 19000, 20000, false, 18936}, // the bench's own
		{19800, modeSpawn, 20000, 19900, false, 19644}, // the server's hard limit
		{9840, modeInProcess, 20000, 20000, true, 0},
		{9841, modeInProcess, 20000, 20000, false, 9840},
		{19936, modeRemote, 20000, 20000, true, 0},
	} {
		err := limitCheck(c.n, c.mode, c.soft, c.hard)
		if (err == nil) != c.ok {
			t.Errorf("%d subscribers, %v, soft %d, hard %d: %v", c.n, c.mode, c.soft, c.hard, err)
			continue
		}
		if le, isLimit := err.(*LimitError); err != nil && (!isLimit || le.Max != c.max) {
			t.Errorf("%d subscribers, %v: %#v, want max %d", c.n, c.mode, err, c.max)
		}
	}
}
