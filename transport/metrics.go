package transport

import "github.com/prometheus/client_golang/prometheus"

// metrics are the hub's Prometheus series.
type metrics struct {
	received    prometheus.Counter
	deliveries  prometheus.Counter
	replayed    prometheus.Counter
	merged      prometheus.Counter
	slow        prometheus.Counter
	sessions    *prometheus.GaugeVec
	openedTotal *prometheus.CounterVec
	topics      prometheus.GaugeFunc
	forgotten   prometheus.Counter
	notKept     prometheus.Counter
	ringPolls   prometheus.Counter
	waiting     prometheus.Gauge
}

// newMetrics makes the hub's series; topics counts the known topics.
func newMetrics(reg prometheus.Registerer, topics func() int) *metrics {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_updates_received_total",
			Help: "Updates the hub received from the stream.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_deliveries_total",
			Help: "Live updates queued to subscribers (one per subscriber per update); resumes are tickerd_replayed_total.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_replayed_total",
			Help: "Updates queued to subscribers resuming from a cursor, from memory or the stream (every long poll resumes).",
		}),
		merged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_merged_total",
			Help: "State updates replaced by a newer one of their topic: in a full queue, in what a writer takes at once, or in a replay.",
		}),
		ringPolls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_polls_from_ring_total",
			Help: "Long polls answered from the ring of recent updates, without a session.",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_writers_waiting",
			Help: "Session writers out of the writer pool, waiting for a subscriber that did not take a write at once (at most the write timeout each).",
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_slow_consumers_total",
			Help: "Sessions closed because events overflowed their queue.",
		}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tickerd_sessions",
			Help: "Open subscriber sessions by transport.",
		}, []string{"transport"}),
		openedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_sessions_opened_total",
			Help: "Subscriber sessions opened, by transport (a long poll is one, unless the ring answered it at once).",
		}, []string{"transport"}),
		topics: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tickerd_topics",
			Help: "Topics the hub keeps a latest value of (at most --max-known-topics).",
		}, func() float64 { return float64(topics()) }),
		forgotten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_topics_forgotten_total",
			Help: "Topics forgotten because retention dropped their latest update from the stream.",
		}),
		notKept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_topics_not_kept_total",
			Help: "Updates of new topics routed live but not kept, because the hub keeps --max-known-topics topics already.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.deliveries, m.replayed, m.merged, m.slow, m.sessions, m.openedTotal,
			m.topics, m.forgotten, m.notKept, m.ringPolls, m.waiting)
	}
	return m
}

// delivered counts one update's fan-out: how many sessions it was queued
// on, how many of those merged it, how many overflowed.
func (m *metrics) delivered(queued, merged, slow int) {
	if queued > 0 {
		m.deliveries.Add(float64(queued))
	}
	if merged > 0 {
		m.merged.Add(float64(merged))
	}
	if slow > 0 {
		m.slow.Add(float64(slow))
	}
}

func (m *metrics) opened(transport string) {
	m.sessions.WithLabelValues(transport).Inc()
	m.openedTotal.WithLabelValues(transport).Inc()
}

func (m *metrics) closed(transport string) {
	m.sessions.WithLabelValues(transport).Dec()
}
