package actors_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"ringback/actors"
	"ringback/metrics"
)

type (
	ping struct{}
	// block is answered at once; then the actor waits for release, holding its mailbox.
	block struct{ release chan struct{} }
)

func receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *block:
		c.Respond(true)
		<-m.release
	case *ping:
		if c.Sender() != nil {
			c.Respond(true)
		}
	}
}

func newSystem(t testing.TB) *actor.ActorSystem {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(system.Shutdown)
	return system
}

// blockActor sends a block and waits for its answer: when it returns, every earlier
// message has been fully received and the actor holds its mailbox until release.
func blockActor(t *testing.T, system *actor.ActorSystem, pid *actor.PID) chan struct{} {
	t.Helper()
	release := make(chan struct{})
	_, err := system.Root.RequestFuture(pid, &block{release: release}, 5*time.Second).Result()
	require.NoError(t, err)
	return release
}

func TestInstrumentCountsTimesAndMeasuresTheMailbox(t *testing.T) {
	t.Parallel()
	system := newSystem(t)
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{})
	pid := system.Root.Spawn(actor.PropsFromFunc(receive, actors.Instrument("resource", m)))

	release := blockActor(t, system, pid)
	require.Equal(t, 1.0, testutil.ToFloat64(m.ActorMessages.WithLabelValues("resource")), "Started")
	require.Equal(t, uint64(1), histogramCount(t, reg, "resource"))
	require.Zero(t, mailboxDepth(t, reg, "resource"))

	for range 5 {
		system.Root.Send(pid, &ping{})
	}
	require.Equal(t, 5.0, mailboxDepth(t, reg, "resource"), "five pings wait behind the block")

	close(release)
	release = blockActor(t, system, pid)
	defer close(release)
	require.Equal(t, 7.0, testutil.ToFloat64(m.ActorMessages.WithLabelValues("resource")), "Started, block, 5 pings")
	require.Equal(t, uint64(7), histogramCount(t, reg, "resource"))
	require.Zero(t, mailboxDepth(t, reg, "resource"))
	require.Zero(t, testutil.ToFloat64(m.ActorMessages.WithLabelValues("conversation")), "kinds are apart")
}

func TestInstrumentedActorsStillAnswerAndRestart(t *testing.T) {
	t.Parallel()
	system := newSystem(t)
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{})
	started := 0
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			started++
		case string:
			panic("boom")
		default:
			receive(c)
		}
	}, actors.Instrument("conversation", m))
	pid := system.Root.Spawn(props)
	system.Root.Send(pid, "crash")
	_, err := system.Root.RequestFuture(pid, &ping{}, 5*time.Second).Result()
	require.NoError(t, err)
	require.Equal(t, 2, started, "the mailbox survives the restart")
}

func histogramCount(t *testing.T, g prometheus.Gatherer, kind string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "ringback_actor_message_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label(s.GetLabel(), "kind") == kind {
				return s.GetHistogram().GetSampleCount()
			}
		}
	}
	t.Fatalf("no ringback_actor_message_seconds{kind=%q}", kind)
	return 0
}

func mailboxDepth(t *testing.T, g prometheus.Gatherer, kind string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "ringback_actor_mailbox_messages" {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label(s.GetLabel(), "kind") == kind {
				return s.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no ringback_actor_mailbox_messages{kind=%q}", kind)
	return 0
}

func label(ls []*dto.LabelPair, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// BenchmarkReceive measures what instrumenting costs per message: messages sent without
// a sender (the common Send) in batches of 1000, each closed by a request, so the
// mailbox stays short and the benchmark times the actor, not a growing queue.
func BenchmarkReceive(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []actor.PropsOption
	}{
		{"plain", nil},
		{"instrumented", []actor.PropsOption{actors.Instrument("resource", metrics.New(prometheus.NewRegistry(), metrics.Options{}))}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			system := newSystem(b)
			pid := system.Root.Spawn(actor.PropsFromFunc(receive, tc.opts...))
			msg := &ping{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if i%1000 != 0 && i != b.N {
					system.Root.Send(pid, msg)
					continue
				}
				if _, err := system.Root.RequestFuture(pid, msg, 30*time.Second).Result(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
