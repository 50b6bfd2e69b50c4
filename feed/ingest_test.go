package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

var ingestNow = time.Date(2026, 11, 25, 14, 3, 7, 0, time.UTC)

var ingestCases = []struct {
	name, body string
	n          int   // updates decoded; 0 when err
	err        error // what the error wraps
	index      int   // InputError.Index
}{
	{name: "one", body: `{"topic":"stocks.AAPL","kind":"state","data":{"price": 189.32}}`, n: 1},
	{name: "array", body: ` [{"topic":"a","kind":"event","data":1},{"topic":"b","kind":"state","data":"x","time":"2026-11-25T14:03:07.123456Z"}]`, n: 2},
	{name: "ndjson", body: "{\"topic\":\"a\",\"kind\":\"event\",\"data\":[1]}\n\n{\"topic\":\"a\",\"kind\":\"event\",\"data\":[2]}\n", n: 2},
	{name: "unknown fields", body: `{"topic":"a","kind":"state","data":true,"x":{"y":[]}}`, n: 1},
	{name: "empty", body: "", err: ErrEmpty, index: -1},
	{name: "blank", body: " \n\t", err: ErrEmpty, index: -1},
	{name: "empty array", body: "[]", err: ErrEmpty, index: -1},
	{name: "scalar", body: "42", err: ErrMalformed, index: -1},
	{name: "broken", body: `{"topic":"a"`, err: ErrMalformed, index: 0},
	{name: "broken second line", body: "{\"topic\":\"a\",\"kind\":\"event\",\"data\":1}\n{nope}", err: ErrMalformed, index: 1},
	{name: "trailing data", body: `[{"topic":"a","kind":"event","data":1}] x`, err: ErrMalformed, index: -1},
	{name: "bad topic", body: `{"topic":"a..b","kind":"state","data":1}`, err: message.ErrBadTopic, index: 0},
	{name: "wildcard", body: `[{"topic":"a","kind":"state","data":1},{"topic":"a.*","kind":"state","data":1}]`, err: message.ErrBadTopic, index: 1},
	{name: "no kind", body: `{"topic":"a","data":1}`, err: message.ErrBadKind, index: 0},
	{name: "no data", body: `{"topic":"a","kind":"state"}`, err: ErrNoData, index: 0},
	{name: "null data", body: `{"topic":"a","kind":"state","data":null}`, err: ErrNoData, index: 0},
	{name: "data too big", body: `{"topic":"a","kind":"state","data":"` + strings.Repeat("x", MaxData) + `"}`, err: ErrTooBig, index: 0},
	{name: "bad time", body: `{"topic":"a","kind":"state","data":1,"time":"yesterday"}`, err: ErrMalformed, index: 0},
	{name: "with ids", body: `[{"id":"a-1","topic":"a","kind":"event","data":1},{"topic":"a","kind":"event","data":2}]`, n: 2},
	{name: "empty id", body: `{"id":"","topic":"a","kind":"state","data":1}`, err: message.ErrBadID, index: 0},
	{name: "id with a space", body: `[{"topic":"a","kind":"state","data":1},{"id":"a b","topic":"a","kind":"state","data":1}]`, err: message.ErrBadID, index: 1},
	{name: "id too long", body: `{"id":"` + strings.Repeat("x", message.MaxIDLen+1) + `","topic":"a","kind":"state","data":1}`, err: message.ErrBadID, index: 0},
	{name: "id not a string", body: `{"id":7,"topic":"a","kind":"state","data":1}`, err: ErrMalformed, index: 0},
	{name: "too many", body: "[" + strings.Repeat(`{"topic":"a","kind":"state","data":1},`, MaxBatch) + `{"topic":"a","kind":"state","data":1}]`, err: ErrTooMany, index: -1},
}

func TestDecodeUpdates(t *testing.T) {
	for _, tt := range ingestCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeUpdates(strings.NewReader(tt.body), ingestNow)
			if tt.err != nil {
				var ie *InputError
				if !errors.Is(err, tt.err) || !errors.As(err, &ie) || ie.Index != tt.index {
					t.Fatalf("err = %v, want %v at %d", err, tt.err, tt.index)
				}
				return
			}
			if err != nil || len(got) != tt.n {
				t.Fatalf("%d updates, %v; want %d", len(got), err, tt.n)
			}
		})
	}
	got, _ := DecodeUpdates(strings.NewReader(ingestCases[0].body), ingestNow)
	if u := got[0]; u.Topic != "stocks.AAPL" || u.Kind != message.State || string(u.Data) != `{"price":189.32}` || !u.Time.Equal(ingestNow) || u.ID != "" {
		t.Errorf("decoded %+v", u)
	}
	got, _ = DecodeUpdates(strings.NewReader(`{"id":"q-7","topic":"a","kind":"state","data":1}`), ingestNow)
	if got[0].ID != "q-7" {
		t.Errorf("id decoded as %q", got[0].ID)
	}
}

// knownIngestErrors are the faults DecodeUpdates reports; api.bodyError
// places each in the error table.
var knownIngestErrors = []error{ErrMalformed, ErrNoData, ErrTooBig, ErrTooMany, ErrEmpty, message.ErrBadTopic, message.ErrBadKind, message.ErrBadID}

func FuzzDecodeUpdates(f *testing.F) {
	for _, tt := range ingestCases {
		if len(tt.body) < 4096 {
			f.Add([]byte(tt.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeUpdates(bytes.NewReader(body), ingestNow)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Index < -1 || ie.Index >= MaxBatch {
				t.Fatalf("error %v is not an InputError with an index", err)
			}
			known := false
			for _, k := range knownIngestErrors {
				known = known || errors.Is(err, k)
			}
			if !known {
				t.Fatalf("error %v is none of the known faults", err)
			}
			return
		}
		if len(got) == 0 || len(got) > MaxBatch {
			t.Fatalf("%d updates", len(got))
		}
		for _, u := range got {
			if message.ValidateTopic(u.Topic) != nil || u.Kind != message.State && u.Kind != message.Event ||
				u.ID != "" && message.ValidateID(u.ID) != nil {
				t.Fatalf("accepted %+v", u)
			}
			var buf bytes.Buffer
			if !json.Valid(u.Data) || string(u.Data) == "null" || len(u.Data) > MaxData ||
				json.Compact(&buf, u.Data) != nil || !bytes.Equal(buf.Bytes(), u.Data) {
				t.Fatalf("data %q is not compact JSON within the limit", u.Data)
			}
		}
		// What was accepted reads back the same as NDJSON and as an array.
		var nd, arr bytes.Buffer
		arr.WriteByte('[')
		for i, u := range got {
			w := map[string]any{"topic": u.Topic, "kind": u.Kind.String(), "data": u.Data, "time": u.Time}
			if u.ID != "" {
				w["id"] = u.ID
			}
			b, err := json.Marshal(w)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", u, err)
			}
			nd.Write(b)
			nd.WriteByte('\n')
			if i > 0 {
				arr.WriteByte(',')
			}
			arr.Write(b)
		}
		arr.WriteByte(']')
		for _, again := range []*bytes.Buffer{&nd, &arr} {
			back, err := DecodeUpdates(bytes.NewReader(again.Bytes()), ingestNow.Add(time.Hour))
			if err != nil || len(back) != len(got) {
				t.Fatalf("re-reading %s: %d updates, %v", again, len(back), err)
			}
			for i := range back {
				a, b := got[i], back[i]
				if a.ID != b.ID || a.Topic != b.Topic || a.Kind != b.Kind || !bytes.Equal(a.Data, b.Data) || !a.Time.Equal(b.Time) {
					t.Fatalf("update %d read back as %+v, was %+v", i, b, a)
				}
			}
		}
	})
}
