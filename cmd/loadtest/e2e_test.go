package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/persistence/pgtest"
)

// buildTestEngine compiles the engine into a temporary directory, with the race detector
// when the tests have it (the build cache then already holds most of it).
func buildTestEngine(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "engine")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "ringback/cmd/engine")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func scenario(t *testing.T, rep *Report, name, system string) ScenarioReport {
	t.Helper()
	for _, s := range rep.Scenarios {
		if s.Name == name && s.System == system {
			return s
		}
	}
	t.Fatalf("no %s (%s) in the report", name, system)
	return ScenarioReport{}
}

func opCount(t *testing.T, s ScenarioReport, op string) int64 {
	t.Helper()
	o, ok := s.op(op)
	require.True(t, ok, "%s has no operation %q", s.Name, op)
	return o.Count
}

// A short run of every scenario, the baseline included, at a low rate against a real
// engine child process on a fresh database: the report counts what was sent and answered,
// and the invariants read from Postgres hold.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the engine")
	}
	t.Parallel()
	dbURL := pgtest.URL(t)
	bin := buildTestEngine(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{
		"--engine", bin, "--build=false", "--database-url", dbURL, "--fresh-db=false",
		"--tenants", "4", "--resources", "12", "--numbers", "2",
		"--rate", "10", "--duration", "2s", "--think", "50ms", "--stop-fraction", "0.25",
		"--timeout", "20s", "--engine-log-level", "info", "--out", out, "--quiet", "--baseline", "all",
	}, os.Environ(), &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	require.Empty(t, stderr.String(), "--quiet")

	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.True(t, rep.OK)
	require.Empty(t, rep.Problems)
	require.Equal(t, "subprocess", rep.Mode)
	require.Positive(t, rep.EnginePID)
	require.Contains(t, stdout.String(), "OK: every invariant held")
	for _, name := range []string{"report.txt", "report.html", "engine.log"} {
		_, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err, name)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	require.Greater(t, strings.Count(string(html), "<svg"), 10)

	t.Run("warm-up", func(t *testing.T) {
		require.NotNil(t, rep.Warmup)
		require.Equal(t, 8, rep.Warmup.Started, "one call per business number")
		require.Zero(t, rep.Warmup.ErrorCount)
	})

	t.Run(scMissedCalls, func(t *testing.T) {
		s := scenario(t, &rep, scMissedCalls, sysRingback)
		require.Equal(t, 20, s.Planned)
		require.Equal(t, 20, s.Started)
		require.Zero(t, s.ErrorCount, "%v", s.Errors)
		require.EqualValues(t, 20, opCount(t, s, "webhook → 200"))
		require.EqualValues(t, 20, opCount(t, s, "webhook → SMS at fake Twilio"))
		require.EqualValues(t, 20, s.Outcomes["auto-reply with options"])
		// The engine's histogram, scraped around the scenario: an observation is made just
		// after the SMS reaches the fake, so one may fall on either side of a scrape.
		require.NotNil(t, s.EngineAutoSMS)
		require.InDelta(t, 20, s.EngineAutoSMS.Count, 2)
	})

	t.Run(scConversations, func(t *testing.T) {
		s := scenario(t, &rep, scConversations, sysRingback)
		require.Equal(t, 20, s.Started)
		require.Zero(t, s.ErrorCount, "%v", s.Errors)
		require.EqualValues(t, 20, opCount(t, s, "missed call → options"))
		require.EqualValues(t, 5, s.Outcomes["opted out, then called again"], "a quarter text STOP")
		require.EqualValues(t, 5, opCount(t, s, "STOP → confirmation"))
		finished := s.Outcomes["booked"] + s.Outcomes["hold expired before YES (fresh options)"] + s.Outcomes["gave up after 3 lost picks"] +
			s.Outcomes["no options left after a lost pick"]
		require.EqualValues(t, 15, finished, "%v", s.Outcomes)
		require.Positive(t, s.Outcomes["booked"])
		require.EqualValues(t, s.Outcomes["booked"], opCount(t, s, "YES → booked"))
	})

	t.Run(scHotSlot, func(t *testing.T) {
		for _, system := range []string{sysRingback, sysBaseline} {
			s := scenario(t, &rep, scHotSlot, system)
			require.Equal(t, 20, s.Started, system)
			require.Zero(t, s.ErrorCount, "%s: %v", system, s.Errors)
			// 10 attempts a second race for 3 slots a second: 6 slots over 2 s, one winner each.
			require.EqualValues(t, 6, s.Outcomes["slots raced for"], system)
			require.EqualValues(t, 6, s.Outcomes["slots won"], system)
			require.EqualValues(t, 6, s.Outcomes["reserve 201 held"], system)
			require.EqualValues(t, 14, s.Outcomes["reserve 409 taken"], system)
			require.EqualValues(t, 6, s.Outcomes["confirm 201 booked"], system)
		}
	})

	t.Run(scBookingAPI, func(t *testing.T) {
		for _, system := range []string{sysRingback, sysBaseline} {
			s := scenario(t, &rep, scBookingAPI, system)
			require.Equal(t, 20, s.Started, system)
			require.Zero(t, s.ErrorCount, "%s: %v", system, s.Errors)
			held := s.Outcomes["reserve 201 held"]
			require.EqualValues(t, 20, held+s.Outcomes["reserve 409 taken"], system)
			require.EqualValues(t, held, s.Outcomes["confirm 201 booked"], system)
			require.EqualValues(t, 20, opCount(t, s, "reserve"), system)
		}
		require.Len(t, rep.Comparisons, 4, "hot-slot and booking-api, reserve and confirm")
	})

	t.Run(scReminders, func(t *testing.T) {
		s := scenario(t, &rep, scReminders, sysRingback)
		require.Equal(t, 10, s.Started, "reminders:10 under all at --rate 10")
		require.Zero(t, s.ErrorCount, "%v", s.Errors)
		require.EqualValues(t, 10, s.Outcomes["sent"])
		require.EqualValues(t, 10, opCount(t, s, reminderOp))
		require.EqualValues(t, 10, invariant(t, rep.Invariants, "every due reminder sent exactly once (none to an opted-out customer)").Checked)
	})

	t.Run("invariants", func(t *testing.T) {
		replies := invariant(t, rep.Invariants, invReplies)
		// warm-up 8 + missed-calls 20 + conversations 20 + the 5 who called again after STOP.
		require.EqualValues(t, 53, replies.Checked)
		require.EqualValues(t, 5, replies.Outcomes["no reply: opted out"])
		require.EqualValues(t, 48, replies.Outcomes["auto-reply delivered"]+replies.Outcomes["auto-reply sent"]+replies.Outcomes["auto-reply queued"])
		require.EqualValues(t, 5, invariant(t, rep.Invariants, invOptOut).Checked)
		require.Positive(t, invariant(t, rep.Invariants, invOverlap).Checked)
		for _, inv := range rep.Invariants {
			require.True(t, inv.OK, "%+v", inv)
		}
	})
}

// An engine that does not start fails the run with its reason and the end of its log.
func TestEngineThatDoesNotStart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	t.Parallel()
	dbURL := pgtest.URL(t)
	bin := filepath.Join(t.TempDir(), "engine")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho 'engine: DATABASE_URL: planted start-up failure' >&2\nexit 3\n"), 0o755))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--engine", bin, "--build=false", "--database-url", dbURL, "--fresh-db=false",
		"--tenants", "1", "--resources", "1", "--numbers", "1", "--quiet", "missed-calls"}, os.Environ(), &stdout, &stderr)
	require.Error(t, err)
	require.ErrorContains(t, err, "the engine exited during start-up (exit status 3)")
	require.ErrorContains(t, err, "planted start-up failure")
	require.Empty(t, stdout.String(), "no report without an engine")
}
