package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// publisher stores a batch of updates, in order, and returns once they
// are stored.
type publisher interface {
	publish(ctx context.Context, us []message.Update) error
}

// streamPublisher publishes into JetStream with the stream package, as
// the feeds do.
type streamPublisher struct{ s *stream.Stream }

func (p streamPublisher) publish(ctx context.Context, us []message.Update) error {
	_, n, err := p.s.PublishBatch(ctx, us)
	if err != nil {
		return fmt.Errorf("published %d of %d: %w", n, len(us), err)
	}
	return nil
}

// httpPublisher publishes through the gateway's POST /v1/publish, as
// NDJSON.
type httpPublisher struct {
	client *http.Client
	url    string
	token  string
	body   bytes.Buffer
}

func (p *httpPublisher) publish(ctx context.Context, us []message.Update) error {
	p.body.Reset()
	for _, u := range us {
		fmt.Fprintf(&p.body, `{"topic":%q,"kind":%q,"data":%s,"time":%q}`+"\n",
			u.Topic, u.Kind.String(), u.Data, u.Time.UTC().Format(time.RFC3339Nano))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/publish: %d %s", resp.StatusCode, b)
	}
	return nil
}
