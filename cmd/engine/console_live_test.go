package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/clock"
)

// The numbers of TestConsoleLiveStreamsCostBoundedMemory (docs/PERFORMANCE.md, "Console").
const (
	liveStreams = 200
	liveChanges = 10_000
)

// TestConsoleLiveStreamsCostBoundedMemory opens 200 signed-in /console/events streams
// on the engine's handler over loopback, half of them from clients that read nothing
// after the response's headers (a frozen tab behind a small receive window), publishes
// 10,000 changes of their tenant at once, and reads the process's heap and goroutines
// before, with the streams open, right after the burst, once every reading client has
// the last change, and after they all closed. The bounds hold for any buffer that does
// not grow with the changes; one that keeps a change per stream (a queue of events, a
// goroutine per pending send) fails them by orders of magnitude: 10,000 changes x 100
// stalled streams.
//
// Not parallel: it measures the whole process.
func TestConsoleLiveStreamsCostBoundedMemory(t *testing.T) {
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")
	u, err := url.Parse(e.srv.URL + "/console/")
	require.NoError(t, err)
	var cookie string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "rb_session" {
			cookie = c.String()
		}
	}
	require.NotEmpty(t, cookie)
	addr := u.Host
	// Open every connection of the pool now, so its growth is not counted as the streams'.
	conns := make([]func(), 0, e.pool.Config().MaxConns)
	for range e.pool.Config().MaxConns {
		c, err := e.pool.Acquire(context.Background())
		require.NoError(t, err)
		conns = append(conns, c.Release)
	}
	for _, release := range conns {
		release()
	}

	base := measure()
	clients := make([]*sseClient, liveStreams)
	for i := range clients {
		clients[i] = openStream(t, addr, cookie, i%2 == 0)
	}
	require.Equal(t, liveStreams, e.eng.live.Subscribers(), "each stream subscribed before its headers")
	open := measure()

	start := time.Now()
	for range liveChanges {
		e.eng.live.Publish("acme")
	}
	took := time.Since(start)
	burst := measure()

	deadline := time.After(30 * time.Second)
	for i, c := range clients {
		if !c.reads {
			continue
		}
		select {
		case <-c.caughtUp:
		case err := <-c.failed:
			t.Fatalf("stream %d: %v", i, err)
		case <-deadline:
			t.Fatalf("stream %d never received change %d (last %d)", i, liveChanges, c.lastID())
		}
	}
	drained := measure()

	for _, c := range clients {
		c.conn.Close()
	}
	require.Eventually(t, func() bool { return e.eng.live.Subscribers() == 0 }, 10*time.Second, 5*time.Millisecond,
		"every stream unsubscribes when its client goes")
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base.goroutines+2 }, 10*time.Second, 5*time.Millisecond,
		"the streams' goroutines end with them")
	closed := measure()

	var delivered int
	for _, c := range clients {
		delivered += c.events()
	}
	t.Logf("%d changes published in %s; the %d reading streams received %d events (changes coalesce)", liveChanges, took.Round(time.Microsecond),
		liveStreams/2, delivered)
	t.Logf("%-26s %12s %12s %12s %10s", "", "heap in use", "live heap", "stacks", "goroutines")
	for _, m := range []struct {
		name string
		s    snapshot
	}{{"before", base}, {fmt.Sprintf("%d streams open", liveStreams), open}, {"right after the burst", burst},
		{"readers caught up", drained}, {"all closed", closed}} {
		t.Logf("%-26s %12s %12s %12s %10d", m.name, kib(m.s.heapInuse), kib(m.s.heapAlloc), kib(m.s.stackInuse), m.s.goroutines)
	}
	perStream := func(from, to snapshot) int64 { return (int64(to.heapInuse) - int64(from.heapInuse)) / liveStreams }
	t.Logf("heap per stream: %s open, %s more after the burst; goroutines per stream: %.1f",
		kib(uint64(max(perStream(base, open), 0))), kib(uint64(max(perStream(open, burst), 0))), float64(open.goroutines-base.goroutines)/liveStreams)

	// An open stream: its connection's buffers, its request and the client's end of it.
	require.Less(t, perStream(base, open), int64(64<<10), "heap per open stream")
	// The burst may cost each stream an event in flight, not the 10,000 (a queue of them
	// measured 671 KiB a stream; this measures 0-5 KiB, the pool's buffers included).
	require.Less(t, perStream(open, burst), int64(16<<10), "heap per stream after %d changes", liveChanges)
	require.Less(t, perStream(open, drained), int64(16<<10), "heap per stream once the readers caught up")
	require.LessOrEqual(t, burst.goroutines, open.goroutines+4, "a burst starts no goroutines")
	// What stays is the engine's, not the streams': statements prepared on the pool's
	// connections, the server's pools of buffers (200 streams held 4 MiB).
	require.Less(t, int64(closed.heapInuse)-int64(base.heapInuse), int64(2<<20), "nothing of the streams stays")
}

type snapshot struct {
	heapInuse, heapAlloc, stackInuse uint64
	goroutines                       int
}

// measure reads the process's memory after collecting garbage, so it counts what is
// reachable.
func measure() snapshot {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return snapshot{heapInuse: m.HeapInuse, heapAlloc: m.HeapAlloc, stackInuse: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

func kib(b uint64) string { return strconv.FormatUint(b>>10, 10) + " KiB" }

// sseClient is one /console/events stream on a raw connection, so the client's side
// costs the process little: the connection and, for a reader, a goroutine and a buffer.
type sseClient struct {
	conn     net.Conn
	reads    bool
	caughtUp chan struct{} // closed once it received the last change of the burst
	failed   chan error

	mu       sync.Mutex
	last, ev int
}

func (c *sseClient) lastID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *sseClient) events() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ev
}

// openStream asks for the event stream with the session cookie and returns once its
// headers arrived (by then the stream is subscribed). A client that does not read
// shrinks its receive window, so that whatever the engine would write past a few KiB
// waits in the engine.
func openStream(t *testing.T, addr, cookie string, reads bool) *sseClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	if !reads {
		require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	}
	_, err = fmt.Fprintf(conn, "GET /console/events HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nAccept: text/event-stream\r\n\r\n", addr, cookie)
	require.NoError(t, err)
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	c := &sseClient{conn: conn, reads: reads, caughtUp: make(chan struct{}), failed: make(chan error, 1)}
	if reads {
		go c.read(resp)
	}
	return c
}

// read follows the stream until the connection closes, noting each event's id.
func (c *sseClient) read(resp *http.Response) {
	sc := bufio.NewScanner(resp.Body)
	caughtUp := false
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "id: ")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(v)
		if err != nil {
			c.failed <- fmt.Errorf("event id %q: %w", v, err)
			return
		}
		c.mu.Lock()
		c.last, c.ev = id, c.ev+1
		c.mu.Unlock()
		if id == liveChanges && !caughtUp {
			caughtUp = true
			close(c.caughtUp)
		}
	}
}

// A live stream is not cut by the server's WriteTimeout (engine serve sets 30 s): each
// write has its own deadline. Here the server's is 100 ms and the stream keeps delivering
// changes for five times that.
func TestConsoleLiveStreamOutlivesTheServersWriteTimeout(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")
	u, err := url.Parse(e.srv.URL + "/console/")
	require.NoError(t, err)
	var cookie string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "rb_session" {
			cookie = c.String()
		}
	}
	srv := httptest.NewUnstartedServer(e.eng.handler)
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET /console/events HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n", cookie)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ids := make(chan int, 16)
	go func() {
		defer close(ids)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				id, _ := strconv.Atoi(v)
				ids <- id
			}
		}
	}()
	start := time.Now()
	for i := 1; time.Since(start) < 5*srv.Config.WriteTimeout; i++ {
		e.eng.live.Publish("acme")
		select {
		case id, open := <-ids:
			require.True(t, open, "the stream was cut after %s", time.Since(start))
			require.GreaterOrEqual(t, id, i)
		case <-time.After(10 * time.Second):
			t.Fatalf("no change %d on the stream", i)
		}
	}
}
