package embednats

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/logbuf"
)

// The server logs through the slog logger it is given: its notices at
// debug, its warnings and errors at their levels, every line marked as
// coming from NATS.
func TestLogsThroughSlog(t *testing.T) {
	var out logbuf.Buffer
	ns, err := Start(Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	if log := out.String(); !strings.Contains(log, `level=DEBUG msg="Starting nats-server" component=nats`) {
		t.Errorf("no startup notice at debug in:\n%s", log)
	}

	var warn logbuf.Buffer
	l := natsLogger{slog.New(slog.NewTextHandler(&warn, nil))} // info and above
	l.Noticef("notice %d", 1)
	l.Debugf("debug %d", 2)
	l.Tracef("trace %d", 3)
	l.Warnf("warn %d", 4)
	l.Errorf("error %d", 5)
	l.Fatalf("fatal %d", 6)
	got := warn.String()
	for _, want := range []string{
		`level=WARN msg="warn 4" component=nats`,
		`level=ERROR msg="error 5" component=nats`,
		`level=ERROR msg="fatal 6" fatal=true component=nats`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 3 {
		t.Errorf("%d lines at info and above, want the 3 warnings and errors:\n%s", n, got)
	}
}
