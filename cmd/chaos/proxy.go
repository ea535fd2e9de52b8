package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is a TCP proxy on loopback between the engine and Postgres that the suite
// controls: Cut simulates "Postgres stopped" (every connection closed, new ones closed
// as soon as they are accepted, which a client sees as the server going away), Heal ends
// that, and SetLatency holds every forwarded chunk, in both directions, for a while
// ("slow Postgres": a query round trip then costs about twice the latency).
type proxy struct {
	ln      net.Listener
	target  string
	latency atomic.Int64 // time.Duration per forwarded chunk

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup

	accepted atomic.Int64 // connections forwarded
	refused  atomic.Int64 // connections closed on arrival while cut
}

// newProxy listens on a free loopback port and forwards to target ("host:port").
func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's listen address.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every forwarded connection and refuses new ones until Heal.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Heal lets connections through again.
func (p *proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// IsCut reports whether the proxy refuses connections.
func (p *proxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// SetLatency holds every forwarded chunk for d (0: none).
func (p *proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Close stops the proxy and closes every connection.
func (p *proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// track registers c (and reports false when the proxy is cut: the caller closes it).
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
		_ = c.Close()
	}
}

func (p *proxy) handle(client net.Conn) {
	defer p.wg.Done()
	if p.IsCut() {
		p.refused.Add(1)
		_ = client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		p.refused.Add(1)
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.accepted.Add(1)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	p.untrack(client, server) // one direction ended: end both
	<-done
}

// pipe copies src to dst chunk by chunk, each held for the current latency.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.latency.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF included: the other side is done
			return
		}
	}
}
