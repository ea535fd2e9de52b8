package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/*/stat CPU times (USER_HZ, 100 on Linux everywhere).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time used so far by the engine, Postgres, the harness and the
// whole machine.
type cpuSample struct {
	at       time.Time
	engine   time.Duration         // -1 when unknown (--target)
	postgres map[int]time.Duration // by pid, every process named postgres; nil when /proc cannot be read
	harness  time.Duration
	machine  time.Duration // all CPUs busy (not idle, not waiting for I/O); -1 when unknown
}

// CPUShare is CPU used during a scenario, in percent of one core (200 % is both cores of
// a two-core machine). Other is what the rest of the machine used meanwhile: anything
// else running skews the numbers, and this says how much ran.
type CPUShare struct {
	Engine   float64 `json:"engine_pct"` // -1: unknown
	Postgres float64 `json:"postgres_pct"`
	Harness  float64 `json:"harness_pct"`
	Other    float64 `json:"other_pct"` // -1: unknown
}

func sampleCPU(enginePID int) cpuSample {
	s := cpuSample{at: time.Now(), engine: -1}
	if enginePID > 0 {
		if d, _, ok := procCPU(filepath.Join("/proc", strconv.Itoa(enginePID), "stat")); ok {
			s.engine = d
		}
	}
	if matches, err := filepath.Glob("/proc/[0-9]*/stat"); err == nil && len(matches) > 0 {
		s.postgres = map[int]time.Duration{}
		for _, m := range matches {
			if d, name, ok := procCPU(m); ok && name == "postgres" {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
				s.postgres[pid] = d
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.harness = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.machine = machineBusy()
	return s
}

// machineBusy reads the time all CPUs spent busy from /proc/stat: every state of the "cpu"
// line but idle and iowait.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, f := range fields[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return -1
		}
		// user nice system idle iowait irq softirq steal guest guest_nice: guest time is
		// already counted in user and nice.
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

// procCPU reads user+system time and the command name from a /proc/PID/stat file.
func procCPU(path string) (time.Duration, string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	// "pid (comm) state ppid …": comm may hold spaces and parentheses; it ends at the last ')'.
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return 0, "", false
	}
	fields := strings.Fields(s[close+1:])
	// After comm: state(0) … utime is field 14 of the whole line, index 11 here; stime 12.
	if len(fields) < 13 {
		return 0, "", false
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", false
	}
	return time.Duration(ut+st) * clockTick, s[open+1 : close], true
}

// share is the CPU used between two samples. A postgres process that started in between
// counts whole; one that ended in between is missed (its time is no longer in /proc).
func (s cpuSample) share(before cpuSample) CPUShare {
	wall := s.at.Sub(before.at)
	pct := func(a, b time.Duration) float64 {
		if a < 0 || b < 0 || wall <= 0 {
			return -1
		}
		return math.Round(float64(a-b)/float64(wall)*1000) / 10
	}
	pg := time.Duration(-1)
	if s.postgres != nil && before.postgres != nil {
		pg = 0
		for pid, d := range s.postgres {
			pg += d - before.postgres[pid]
		}
	}
	c := CPUShare{Engine: pct(s.engine, before.engine), Postgres: pct(pg, 0), Harness: pct(s.harness, before.harness), Other: -1}
	if total := pct(s.machine, before.machine); total >= 0 && c.Postgres >= 0 {
		c.Other = math.Max(0, math.Round((total-max(c.Engine, 0)-c.Postgres-c.Harness)*10)/10)
	}
	return c
}
