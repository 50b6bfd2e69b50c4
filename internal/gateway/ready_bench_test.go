package gateway

import (
	"log/slog"
	"testing"
)

// What one /readyz costs with an embedded server: its health check reads
// the store directory each time.
func BenchmarkReadyEmbedded(b *testing.B) {
	g, err := Start(b.Context(), Config{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), PublishToken: testToken})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	<-g.Hub().Loaded()
	for b.Loop() {
		if err := g.Ready(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
