package grains

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"ringback/actors"
)

// BenchmarkGrainRequest is one request and its answer to a grain through the cluster,
// on the member asked (local) or on the other member over loopback (remote): the codec
// on both sides, Proto.Actor's placement and, for remote, its gRPC stream. Reports the
// p50 and p99 of one call. Run without the race detector: two Proto.Actor remotes in one
// process race on gRPC's global logger (docs/CLUSTER.md).
//
//	go test -run '^$' -bench GrainRequest ./actors/grains/
func BenchmarkGrainRequest(b *testing.B) {
	agent := test.NewInMemAgent()
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })
	var dirs [2]*actors.Directory
	for i := range dirs {
		system := actor.NewActorSystem(quiet)
		dirs[i] = actors.NewDirectory(system)
		dirs[i].Register("echo", actors.Kind{Produce: func(identity string) actor.Actor { return &echo{identity: identity} }, Codec: echoCodec{}})
		node, err := join(Config{Name: "bench", RequestTimeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}, system, dirs[i],
			test.NewTestProvider(agent), "127.0.0.1", freePort(b), func() {})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { node.Leave(func() { dirs[i].StopAll(5 * time.Second) }) })
	}
	// Activate 200 identities through member 0, then sort them by where they live.
	var local, remote []string
	for i := range 200 {
		id := fmt.Sprintf("id-%d", i)
		if _, err := dirs[0].Request(context.Background(), "echo", id, &ask{text: "warm"}, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	for id := range dirs[0].Live("echo") {
		local = append(local, id)
	}
	for id := range dirs[1].Live("echo") {
		remote = append(remote, id)
	}
	for _, c := range []struct {
		name string
		ids  []string
	}{{"local", local}, {"remote", remote}} {
		b.Run(c.name, func(b *testing.B) {
			if len(c.ids) == 0 {
				b.Fatalf("no identity lives %s", c.name)
			}
			took := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := dirs[0].Request(context.Background(), "echo", c.ids[i%len(c.ids)], &ask{text: "hi"}, 5*time.Second); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				i++
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
		})
	}
}
