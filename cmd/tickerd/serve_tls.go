package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickerd/tickerd/internal/tlscert"
)

// loadTLS loads --tls-cert and --tls-key, both given or neither (nil).
func loadTLS(certFile, keyFile string, log *slog.Logger) (*tlscert.Reloader, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together: give both, or neither for plain HTTP", errUsage)
	}
	r, err := tlscert.Load(certFile, keyFile, 0, log)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
	}
	return r, nil
}

// reloadOnHangup re-reads the certificate on each SIGHUP until stop.
func reloadOnHangup(r *tlscert.Reloader, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if err := r.Reload(); err != nil {
					log.Error("SIGHUP: keeping the loaded TLS certificate", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}
