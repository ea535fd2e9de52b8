package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ringback/internal/enginechild"
)

// The cluster form (--cluster): etcd, three engines and HAProxy in front of them, all on
// loopback; the driver sends its load to HAProxy. The faults are kill -9 of a random engine
// (restarted at once, as an orchestrator would) and a rolling restart (SIGTERM to each in
// turn: a graceful leave). The final checks are the single-process suite's.

const (
	clusterSize = 3
	// Membership and request timeouts of the run (docs/CLUSTER.md): a dead engine leaves
	// the membership one lease after its last keep-alive, and a request stuck on it is
	// given up after the request timeout.
	clusterTTL     = "1s"
	clusterTimeout = "2s"
)

// startCluster starts etcd, the engines and HAProxy, and returns the load balancer's URL
// and what stops them all.
func (s *suite) startCluster(ctx context.Context, bin string, client *http.Client, env map[string]string) (func(), string, error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	etcd, err := enginechild.StartEtcd(ctx, filepath.Join(s.dir, "etcd"))
	if err != nil {
		return stop, "", err
	}
	stops = append(stops, etcd.Stop)
	etcdURL := etcd.URL

	lbAddr, err := enginechild.FreeAddr()
	if err != nil {
		return stop, "", err
	}
	lb := "http://" + lbAddr
	name := make([]byte, 4)
	_, _ = rand.Read(name)
	var servers strings.Builder
	for i := range clusterSize {
		addr, err := enginechild.FreeAddr()
		if err != nil {
			return stop, "", err
		}
		clusterPort, err := freePort()
		if err != nil {
			return stop, "", err
		}
		vars := map[string]string{}
		for k, v := range env {
			vars[k] = v
		}
		vars["ENGINE_ADDR"], vars["PUBLIC_URL"] = addr, lb
		vars["CLUSTER_PROVIDER"], vars["CLUSTER_ETCD_ENDPOINTS"] = "etcd", etcdURL
		vars["CLUSTER_ADVERTISE_ADDR"] = fmt.Sprintf("127.0.0.1:%d", clusterPort)
		vars["CLUSTER_NAME"] = "chaos-" + hex.EncodeToString(name)
		vars["CLUSTER_TTL"], vars["CLUSTER_REQUEST_TIMEOUT"], vars["CLUSTER_DRAIN_DELAY"] = clusterTTL, clusterTimeout, "1s"
		e := &engine{bin: bin, url: "http://" + addr, logPath: filepath.Join(s.dir, fmt.Sprintf("engine%d.log", i+1)), client: client,
			env: engineEnv(os.Environ(), vars)}
		s.engines = append(s.engines, e)
		fmt.Fprintf(&servers, "    server engine%d %s check\n", i+1, addr)
	}
	s.logf("starting etcd on %s and %d engines behind HAProxy on %s (logs in %s)", etcdURL, clusterSize, lb, s.dir)
	for _, e := range s.engines {
		if err := e.Start(); err != nil {
			return stop, "", err
		}
		e := e
		stops = append(stops, func() {
			if gone, _ := e.Exited(); !gone {
				e.Kill()
			}
		})
	}
	for _, e := range s.engines {
		if err := e.WaitReady(readyTimeout); err != nil {
			return stop, "", err
		}
	}
	hp, err := exec.CommandContext(ctx, "scripts/haproxy.sh").Output()
	if err != nil {
		return stop, "", fmt.Errorf("scripts/haproxy.sh: %w", err)
	}
	cfg := filepath.Join(s.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(lbAddr, servers.String())), 0o644); err != nil {
		return stop, "", err
	}
	proxy := exec.Command(strings.TrimSpace(string(hp)), "-f", cfg, "-db")
	logf, err := os.Create(filepath.Join(s.dir, "haproxy.log"))
	if err != nil {
		return stop, "", err
	}
	proxy.Stdout, proxy.Stderr = logf, logf
	if err := proxy.Start(); err != nil {
		return stop, "", fmt.Errorf("starting HAProxy: %w", err)
	}
	stops = append(stops, func() { _ = proxy.Process.Kill(); _ = proxy.Wait(); logf.Close() })
	lbEngine := &engine{url: lb, client: client}
	if !poll(ctx, 10*time.Second, func() bool { return lbEngine.status("/readyz") == http.StatusOK }) {
		return stop, "", fmt.Errorf("HAProxy on %s did not answer /readyz", lb)
	}
	return stop, lb, nil
}

// haproxyConfig is the load balancer of the run: round robin over the engines that answer
// /readyz, a request an engine dropped (it died, or answered 503 while leaving) sent
// again to another: every request of the engine is safe to repeat (docs/CLUSTER.md).
func haproxyConfig(bind, servers string) string {
	return `global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout 502 503
    retries 3
    option redispatch 1
frontend ringback
    bind ` + bind + `
    default_backend engines
backend engines
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 250ms fall 1 rise 1
` + servers
}

func freePort() (int, error) {
	addr, err := enginechild.FreeAddr()
	if err != nil {
		return 0, err
	}
	var port int
	_, err = fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port)
	return port, err
}

// clusterKills kills a random engine at random moments, restarting it at once, and
// measures how long the resources it owned took to answer from another engine.
func (s *suite) clusterKills(ctx context.Context) error {
	s.drv.setPhase("kills")
	sec := s.rep.add("1. kill -9 of a random engine",
		fmt.Sprintf("SIGKILL to one of the %d engines, chosen at random, %d times, %s–%s apart, under load through HAProxy; each restarted at once", clusterSize, s.plan.kills, s.plan.killGapMin, s.plan.killGapMax))
	var failovers []time.Duration
	failures := 0
	for i := range s.plan.kills {
		gap := s.plan.killGapMin + time.Duration(s.rng.Int64N(int64(s.plan.killGapMax-s.plan.killGapMin)))
		if err := sleep(ctx, gap); err != nil {
			return err
		}
		victim := s.rng.IntN(clusterSize)
		e := s.engines[victim]
		e.Kill()
		s.killed++
		killedAt := time.Now()
		s.logf("kill %d/%d: engine %d", i+1, s.plan.kills, victim+1)
		failover := s.waitEveryResourceAnswers(ctx, killedAt, 30*time.Second)
		if failover > 0 {
			failovers = append(failovers, failover)
		}
		if err := e.Start(); err != nil {
			return err
		}
		if err := e.WaitReady(readyTimeout); err != nil {
			failures++
			sec.check(fmt.Sprintf("engine %d ready again after kill %d", victim+1, i+1), false, "%v", err)
			return nil
		}
	}
	calls, holds := s.drv.snapshot()
	sec.num("kill → every resource answering again (through HAProxy)", "%s", formatDurations(failovers))
	sec.num("missed-call webhooks in the phase", "%s", formatCounts(callStatuses(calls, "kills")))
	sec.num("holds in the phase", "%s", formatCounts(holdStatuses(holds, "kills")))
	sec.check("every engine restarts and rejoins after every kill", failures == 0, "%d kills", s.plan.kills)
	sec.check("the killed engine's resources answer from the others", len(failovers) == s.plan.kills, "%d of %d kills measured", len(failovers), s.plan.kills)
	return nil
}

// waitEveryResourceAnswers asks every resource for its open times, through HAProxy, until
// each has answered 200, and returns how long after since the last resource's first 200
// came (0 when one did not answer within timeout). A request is sent every 100 ms without
// waiting for the one before: a request that went to the dead engine's actor before the
// cluster dropped it waits out the request timeout, while the ones sent after it show
// when the resource answers again.
func (s *suite) waitEveryResourceAnswers(ctx context.Context, since time.Time, timeout time.Duration) time.Duration {
	answered := make([]time.Duration, resourceCount)
	deadline := since.Add(timeout)
	var wg sync.WaitGroup
	for r := range resourceCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			done := make(chan struct{})
			for time.Now().Before(deadline) && ctx.Err() == nil {
				go func() {
					from := s.drv.day0.Add(48 * time.Hour)
					u := fmt.Sprintf("%s/api/v1/tenants/%s/availability?service=%s&resource=%s&from=%s&to=%s", s.drv.base, tenantID, serviceID,
						resourceID(r), from.Format(time.RFC3339), from.Add(2*time.Hour).Format(time.RFC3339))
					req, _ := http.NewRequest(http.MethodGet, u, nil)
					req.Header.Set("Authorization", "Bearer "+bookingKey)
					if st, _ := s.drv.do(req); st == http.StatusOK {
						once.Do(func() {
							answered[r] = time.Since(since)
							close(done)
						})
					}
				}()
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	var last time.Duration
	for _, a := range answered {
		if a == 0 {
			return 0
		}
		last = max(last, a)
	}
	return last
}

// rollingRestart stops each engine gracefully in turn (SIGTERM: it leaves the cluster)
// and starts it again, under load: not one request may fail.
func (s *suite) rollingRestart(ctx context.Context) error {
	s.drv.setPhase("rolling")
	sec := s.rep.add("2. Rolling restart", fmt.Sprintf("SIGTERM to each of the %d engines in turn (a graceful leave), restarted once it has exited, under load", clusterSize))
	start := time.Now()
	var stopErrs []string
	for i, e := range s.engines {
		s.logf("rolling restart: engine %d", i+1)
		if err := e.Stop(60 * time.Second); err != nil {
			stopErrs = append(stopErrs, fmt.Sprintf("engine %d: %v", i+1, err))
		}
		if err := e.Start(); err != nil {
			return err
		}
		if err := e.WaitReady(readyTimeout); err != nil {
			return err
		}
	}
	took := time.Since(start)
	// Let the requests sent during the last restart come back.
	if err := sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	calls, holds := s.drv.snapshot()
	failed := 0
	for _, c := range calls {
		if c.phase == "rolling" && c.status != http.StatusOK {
			failed++
		}
	}
	for _, h := range holds {
		if h.phase != "rolling" {
			continue
		}
		if h.status/100 != 2 && h.status != http.StatusConflict {
			failed++
		}
		if h.confirmSent && h.confirmStatus/100 != 2 {
			failed++
		}
	}
	sec.num("restart of all engines", "%s", took.Round(time.Millisecond))
	sec.num("missed-call webhooks in the phase", "%s", formatCounts(callStatuses(calls, "rolling")))
	sec.num("holds in the phase", "%s", formatCounts(holdStatuses(holds, "rolling")))
	sec.check("every engine leaves gracefully (exit 0 on SIGTERM)", len(stopErrs) == 0, "%s", strings.Join(stopErrs, "; "))
	sec.check("no request fails during the rolling restart", failed == 0, "%d failed (webhooks not 200, holds not 2xx/409, confirms not 2xx)", failed)
	return nil
}

// formatDurations is "n: min / median / max".
func formatDurations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none measured"
	}
	sorted := append([]time.Duration(nil), ds...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	return fmt.Sprintf("%d kills: min %s, median %s, max %s", len(ds), r(sorted[0]), r(sorted[len(sorted)/2]), r(sorted[len(sorted)-1]))
}
