package gateway

import (
	"log/slog"
	"testing"
)

// What one probe costs with an embedded server: the server's health check
// (it reads the store directory) and a store check round trip over the
// in-process connection. /readyz runs at most one per freshProbeGap.
func BenchmarkProbeEmbedded(b *testing.B) {
	g, err := Start(b.Context(), Config{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), PublishToken: testToken})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	<-g.Hub().Loaded()
	for b.Loop() {
		if err := g.probe(); err != nil {
			b.Fatal(err)
		}
	}
}
