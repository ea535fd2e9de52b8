package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with the same line until the connection closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) (string, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	p, err := newProxy(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	got, err := roundTrip(t, c, "hello")
	require.NoError(t, err)
	require.Equal(t, "hello\n", got)
}

func TestProxyCutClosesAndRefusesUntilHeal(t *testing.T) {
	t.Parallel()
	p, err := newProxy(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	before, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer before.Close()
	_, err = roundTrip(t, before, "one")
	require.NoError(t, err)

	p.Cut()
	_, err = roundTrip(t, before, "two")
	require.Error(t, err, "a connection open at the cut is closed")
	during, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err) // accepted, then closed at once
	defer during.Close()
	_, err = roundTrip(t, during, "three")
	require.Error(t, err, "a connection made while cut is refused")
	require.Positive(t, p.refused.Load())

	p.Heal()
	after, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer after.Close()
	got, err := roundTrip(t, after, "four")
	require.NoError(t, err)
	require.Equal(t, "four\n", got)
}

func TestProxyLatency(t *testing.T) {
	t.Parallel()
	p, err := newProxy(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()

	p.SetLatency(100 * time.Millisecond)
	start := time.Now()
	_, err = roundTrip(t, c, "slow")
	require.NoError(t, err)
	// One chunk each way: at least twice the latency.
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	p.SetLatency(0)
	start = time.Now()
	_, err = roundTrip(t, c, "fast")
	require.NoError(t, err)
	require.Less(t, time.Since(start), 100*time.Millisecond)
}
