// Command chaos is Ringback's fault-injection suite. It builds the real engine, runs it as
// a child process against a fresh Postgres database reached through a TCP proxy it
// controls, with the repository's vendor fakes in-process, drives missed calls and
// bookings at a steady rate, and injects faults: kill -9 of the engine, a Postgres
// outage, vendor failures, a slow Postgres. It then checks that nothing accepted was lost
// or done twice and reports the numbers (docs/FAULTS.md). It exits 1 when a check fails.
//
//	go run ./cmd/chaos                  # short form (CI): each fault once, briefly
//	go run ./cmd/chaos --long           # full amounts (make chaos)
//	go run ./cmd/chaos --report out.md  # also write the report as Markdown
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// plan is how much of each fault a run injects.
type plan struct {
	name          string
	warmup        time.Duration
	kills         int
	killGapMin    time.Duration // time between kills: uniform in [min, max)
	killGapMax    time.Duration
	outage        time.Duration
	vendorFault   time.Duration
	vendorBase    time.Duration // healthy window measured before the vendor fault
	slowLatency   time.Duration // per forwarded chunk, each direction
	slowFor       time.Duration // how long Postgres stays slow
	burst         int
	burstParallel int
	drain         time.Duration
	callRate      int
	holdRate      int
	// cluster runs three engines as a cluster (etcd, HAProxy in front): the faults are
	// kill -9 of a random engine and a rolling restart (docs/CLUSTER.md).
	cluster bool
}

var (
	shortPlan = plan{name: "short", warmup: 2 * time.Second, kills: 3, killGapMin: 1500 * time.Millisecond, killGapMax: 3 * time.Second,
		outage: 5 * time.Second, vendorFault: 10 * time.Second, vendorBase: 5 * time.Second,
		slowLatency: 50 * time.Millisecond, slowFor: 6 * time.Second, burst: 600, burstParallel: 300, drain: 90 * time.Second, callRate: 20, holdRate: 20}
	clusterShortPlan = plan{name: "cluster short", warmup: 3 * time.Second, kills: 3, killGapMin: 3 * time.Second, killGapMax: 5 * time.Second,
		drain: 90 * time.Second, callRate: 20, holdRate: 20, cluster: true}
	clusterLongPlan = plan{name: "cluster long", warmup: 10 * time.Second, kills: 10, killGapMin: 4 * time.Second, killGapMax: 10 * time.Second,
		drain: 3 * time.Minute, callRate: 20, holdRate: 20, cluster: true}
	longPlan = plan{name: "long", warmup: 10 * time.Second, kills: 20, killGapMin: 2 * time.Second, killGapMax: 8 * time.Second,
		outage: 30 * time.Second, vendorFault: 3 * time.Minute, vendorBase: 15 * time.Second,
		slowLatency: 100 * time.Millisecond, slowFor: 30 * time.Second, burst: 3000, burstParallel: 400, drain: 6 * time.Minute, callRate: 20, holdRate: 20}
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	long := fs.Bool("long", false, "run the full amounts (≥ 20 kills, 30 s outage, minutes of vendor faults)")
	clustered := fs.Bool("cluster", false, "run three engines as a cluster behind HAProxy: kill -9 of random engines and a rolling restart")
	reportPath := fs.String("report", "", "also write the report as Markdown to this file")
	dbURL := fs.String("database-url", "", "Postgres URL of a role that may CREATE DATABASE (default $CHAOS_DATABASE_URL, else `scripts/pg.sh url`)")
	keep := fs.Bool("keep", false, "keep the database and the work directory (engine log) after the run")
	seed := fs.Int64("seed", 0, "random seed of the kill moments (default: time)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p := shortPlan
	switch {
	case *clustered && *long:
		p = clusterLongPlan
	case *clustered:
		p = clusterShortPlan
	case *long:
		p = longPlan
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	s := &suite{plan: p, seed: *seed, keep: *keep, log: stderr}
	rep, err := s.run(ctx, *dbURL)
	if rep != nil {
		rep.Text(stdout)
		if *reportPath != "" {
			ferr := os.MkdirAll(filepath.Dir(*reportPath), 0o755)
			var f *os.File
			if ferr == nil {
				f, ferr = os.Create(*reportPath)
			}
			if ferr == nil {
				rep.Markdown(f)
				ferr = f.Close()
			}
			if ferr != nil {
				fmt.Fprintf(stderr, "chaos: writing the report: %v\n", ferr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		return 1
	}
	if rep.Failed() > 0 {
		return 1
	}
	return 0
}
