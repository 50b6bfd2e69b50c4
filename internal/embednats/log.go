package embednats

import (
	"context"
	"fmt"
	"log/slog"
)

// natsLogger hands nats-server's log lines to slog. The server's notices
// (startup banners, client connects) are routine and go to debug; its
// warnings and errors are what an operator must see, such as JetStream
// failing to write its store.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.log(slog.LevelDebug, format, v) }
func (n natsLogger) Warnf(format string, v ...any)   { n.log(slog.LevelWarn, format, v) }
func (n natsLogger) Errorf(format string, v ...any)  { n.log(slog.LevelError, format, v) }
func (n natsLogger) Debugf(format string, v ...any)  { n.log(slog.LevelDebug, format, v) }
func (n natsLogger) Tracef(format string, v ...any)  { n.log(slog.LevelDebug, format, v) }

// Fatalf is an error here: nats-server's own logger exits the process on
// it, which an embedding gateway must not let a component decide.
func (n natsLogger) Fatalf(format string, v ...any) {
	n.log(slog.LevelError, format, v, slog.Bool("fatal", true))
}

func (n natsLogger) log(level slog.Level, format string, v []any, attrs ...slog.Attr) {
	ctx := context.Background()
	if !n.l.Enabled(ctx, level) {
		return // formatting is the cost; skip it for dropped lines
	}
	n.l.LogAttrs(ctx, level, fmt.Sprintf(format, v...), append(attrs, slog.String("component", "nats"))...)
}
