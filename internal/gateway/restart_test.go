package gateway

import (
	"testing"

	"github.com/tickerd/tickerd/internal/natstest"
)

// The latest values survive a gateway restart on the same data directory,
// and cursors from before the restart still resume.
func TestSnapshotAfterRestart(t *testing.T) {
	dir := t.TempDir()
	g1, srv1 := testGateway(t, Config{DataDir: dir})
	mustPublish(t, srv1.URL, `[{"topic":"stocks.AAPL","kind":"state","data":{"p":1}},
		{"topic":"stocks.AAPL","kind":"state","data":{"p":2}},
		{"topic":"stocks.MSFT","kind":"state","data":{"p":3}},
		{"topic":"sports.nba.g1.events","kind":"event","data":{"goal":1}}]`)
	var before struct {
		Cursor string
		Items  []msg
	}
	getJSON(t, srv1.URL+"/v1/snapshot?topics=>", &before)
	if len(before.Items) != 3 {
		t.Fatalf("before restart: %+v", before)
	}
	srv1.CloseClientConnections()
	srv1.Close()
	g1.Close()

	_, srv2 := testGateway(t, Config{DataDir: dir})
	var after struct {
		Cursor string
		Items  []msg
	}
	getJSON(t, srv2.URL+"/v1/snapshot?topics=>", &after)
	if after.Cursor != before.Cursor || len(after.Items) != 3 {
		t.Fatalf("after restart: %+v, before %+v", after, before)
	}
	for i := range after.Items {
		if after.Items[i].Topic != before.Items[i].Topic || string(after.Items[i].Data) != string(before.Items[i].Data) {
			t.Fatalf("item %d: %+v, before %+v", i, after.Items[i], before.Items[i])
		}
	}
	var topics struct{ Topics []string }
	getJSON(t, srv2.URL+"/v1/topics?prefix=stocks.", &topics)
	if len(topics.Topics) != 2 || topics.Topics[0] != "stocks.AAPL" || topics.Topics[1] != "stocks.MSFT" {
		t.Fatalf("topics = %v", topics.Topics)
	}
	// A cursor from before the restart resumes: nothing new, then live.
	ws := dialWS(t, srv2.URL, "?topics=stocks.AAPL&cursor="+before.Cursor)
	ws.expect("hello")
	mustPublish(t, srv2.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"p":4}}`)
	if u := ws.expect("update"); string(u.Data) != `{"p":4}` {
		t.Fatalf("after resume: %+v", u)
	}
}

// serve --nats-url: a gateway on a NATS server it did not start.
func TestExternalNATS(t *testing.T) {
	ns := natstest.Server(t)
	g, srv := testGateway(t, Config{NATSURL: ns.ClientURL()})
	if g.NATSURL() != "" {
		t.Fatalf("gateway started its own NATS at %s", g.NATSURL())
	}
	ws := dialWS(t, srv.URL, "?topics=stocks.>")
	ws.expect("hello")
	ws.expect("snapshot")
	mustPublish(t, srv.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"p":1}}`)
	if u := ws.expect("update"); u.Topic != "stocks.AAPL" {
		t.Fatalf("update %+v", u)
	}
	// A second gateway on the same NATS sees the same stream.
	_, srv2 := testGateway(t, Config{NATSURL: ns.ClientURL()})
	var snap struct{ Items []msg }
	getJSON(t, srv2.URL+"/v1/snapshot?topics=stocks.>", &snap)
	if len(snap.Items) != 1 {
		t.Fatalf("second gateway snapshot %+v", snap)
	}
}
