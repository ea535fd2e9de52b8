package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/tenant"
)

func TestWorldSharesResourcesAndNumbers(t *testing.T) {
	t.Parallel()
	w, err := newWorld(3, 10, 2, true, "lt-booking-key-0123456789", time.Date(2026, 11, 20, 15, 4, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, w.tenants, 3)
	require.Equal(t, 10, w.resourceCount())
	require.Equal(t, []int{4, 3, 3}, []int{len(w.tenants[0].Resources), len(w.tenants[1].Resources), len(w.tenants[2].Resources)})
	require.Len(t, w.baseline, 3)
	require.Equal(t, "lb-001", w.baseline[1].ID)
	require.Empty(t, w.baseline[1].Numbers, "the baseline mirrors own no number")
	require.Equal(t, []string{"lt-000", "lt-001", "lt-002", "lb-000", "lb-001", "lb-002"}, w.tenantIDs())
	// Numbers are interleaved across tenants, so consecutive calls reach different tenants.
	require.Len(t, w.endpoints, 6)
	require.Equal(t, []int{0, 1, 2, 0, 1, 2}, []int{w.endpoints[0].tenant, w.endpoints[1].tenant, w.endpoints[2].tenant,
		w.endpoints[3].tenant, w.endpoints[4].tenant, w.endpoints[5].tenant})
	require.Equal(t, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), w.day0)
	require.Equal(t, time.Date(2026, 11, 22, 1, 30, 0, 0, time.UTC), w.slot(2, 3))

	for _, bad := range []struct{ tenants, resources, numbers int }{{0, 10, 1}, {5, 4, 1}, {2, 2, 0}, {1, 1, maxBusinessNumbers + 1}} {
		_, err := newWorld(bad.tenants, bad.resources, bad.numbers, false, "k", time.Now())
		require.Error(t, err, "%+v", bad)
	}
}

// Every generated config passes the engine's own validation.
func TestWorldConfigsAreValid(t *testing.T) {
	t.Parallel()
	w, err := newWorld(4, 9, 3, true, "lt-booking-key-0123456789", time.Now())
	require.NoError(t, err)
	for _, ti := range append(w.tenants, w.baseline...) {
		cfg := w.config(ti)
		cfg.Normalize()
		require.NoError(t, cfg.Validate(), ti.ID)
		require.Equal(t, tenant.Duration(autoReplyCooldown), cfg.Policies.AutoReplyCooldown)
	}
}

// Generated numbers are valid E.164 numbers the engine accepts, and never repeat.
func TestPhoneNumbersAreValidAndDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	check := func(n string) {
		require.Empty(t, tenant.PhoneProblem(n), n)
		require.False(t, seen[n], "%s generated twice", n)
		seen[n] = true
	}
	for _, i := range []int{0, 1, 9999, 10000, 123456, maxBusinessNumbers - 1} {
		check(businessNumber(i))
	}
	for _, k := range []int{0, 1, 9999, 10000, 2_000_000, maxCallers - 1} {
		check(callerNumber(k))
	}
	// Sample every exchange in use.
	for e := range exchanges {
		check(callerNumber(e*10000 + 4321))
	}
	require.Equal(t, callerNumber(0), callerNumber(maxCallers), "caller numbers wrap around")
}

func TestHoldAttempts(t *testing.T) {
	t.Parallel()
	w, err := newWorld(3, 12, 1, false, "k", time.Now())
	require.NoError(t, err)
	h := &harness{opts: options{Duration: 4 * time.Second, HotSlots: 3, Seed: 7}, world: w}

	hot := h.attempts(scenarioSpec{Name: scHotSlot, Rate: 10})
	require.Len(t, hot, 40)
	waves := map[int]map[time.Time]bool{}
	for i, a := range hot {
		require.Zero(t, a.tenant)
		require.Zero(t, a.resource)
		require.True(t, a.start.Sub(w.day0) >= hotSlotFirstDay*24*time.Hour)
		require.True(t, a.start.Sub(w.day0) < (horizonDays-1)*24*time.Hour, "inside the horizon")
		require.Zero(t, a.start.Sub(w.day0)%time.Hour, "hot slots are an hour apart: they never overlap")
		if waves[i/10] == nil {
			waves[i/10] = map[time.Time]bool{}
		}
		waves[i/10][a.start] = true
	}
	require.Len(t, waves, 4, "one wave per second of load")
	all := map[time.Time]bool{}
	for _, slots := range waves {
		require.Len(t, slots, 3, "each wave races for --hot-slots slots")
		for s := range slots {
			require.False(t, all[s], "each wave races for new slots")
			all[s] = true
		}
	}

	api := h.attempts(scenarioSpec{Name: scBookingAPI, Rate: 10})
	require.Len(t, api, 40)
	require.Equal(t, api, h.attempts(scenarioSpec{Name: scBookingAPI, Rate: 10}), "the same seed makes the same attempts (engine and baseline)")
	tenants := map[int]bool{}
	for _, a := range api {
		tenants[a.tenant] = true
		require.Less(t, a.resource, len(w.tenants[a.tenant].Resources))
		day := int(a.start.Sub(w.day0) / (24 * time.Hour))
		require.True(t, day >= bookingFirstDay && day < hotSlotFirstDay, "booking-api stays on its days: %d", day)
		require.Zero(t, a.start.Sub(w.day0)%slotStep, "on the slot grid")
	}
	require.Len(t, tenants, 3, "spread over every tenant")
}

// The harness reads the engine's texts as a customer would: the default templates,
// rendered by the engine's own code.
func TestClassifyTheEnginesTexts(t *testing.T) {
	t.Parallel()
	texts := conversation.NewTexts("Load LT-000", time.UTC, tenant.Templates{}, "")
	opt := func(h int) conversation.Option {
		return conversation.Option{Start: time.Date(2026, 11, 20, h, 0, 0, 0, time.UTC), QuoteMinor: 14000, Currency: "USD"}
	}
	three := []conversation.Option{opt(9), opt(10), opt(11)}
	for _, tc := range []struct {
		body    string
		want    replyKind
		options int
	}{
		{texts.Offer(three), replyOptions, 3},
		{texts.Expired(three[:2]), replyOptions, 2},
		{texts.Held(opt(9)), replyHeld, 0},
		{texts.Booked(opt(9)), replyBooked, 0},
		{texts.OptOut(), replyOptOut, 0},
		{texts.NoSlots(), replyNoSlots, 0},
		{texts.Ack(), replyOther, 0},
	} {
		require.Equal(t, tc.want, classify(tc.body), tc.body)
		require.Equal(t, tc.options, countOptions(tc.body), tc.body)
	}
}

func TestStopsSpreadsTheShare(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 0.05, 0.25, 1} {
		n := 0
		for i := range 1000 {
			if stops(i, f) {
				n++
			}
		}
		require.Equal(t, int(f*1000), n, "share %v", f)
	}
	require.True(t, stops(3, 0.25))
	require.False(t, stops(0, 0.25))
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	o, err := parseArgs([]string{"--rate", "200", "missed-calls", "--duration", "5s", "conversations:10", "--baseline"},
		env(map[string]string{"DATABASE_URL": "postgres://db"}))
	require.NoError(t, err)
	require.Equal(t, []scenarioSpec{{scMissedCalls, 200}, {scConversations, 10}}, o.Scenarios)
	require.Equal(t, 5*time.Second, o.Duration)
	require.True(t, o.Baseline)
	require.Equal(t, "postgres://db", o.DatabaseURL)
	require.Equal(t, "sandbox", o.TwilioToken, "an unset token is sandbox mode's")

	o, err = parseArgs([]string{"all"}, env(nil))
	require.NoError(t, err)
	require.Len(t, o.Scenarios, 5)
	require.Equal(t, 50.0, o.Scenarios[3].Rate)
	require.Equal(t, scenarioSpec{scReminders, 50}, o.Scenarios[4], "under all, reminders:RATE is that many reminders")

	for _, bad := range [][]string{
		{}, {"nope"}, {"missed-calls:0"}, {"missed-calls:x"}, {"--rate", "-1", "all"}, {"--bogus", "all"},
		{"--stop-fraction", "2", "all"}, {"--target", "http://x", "all"},
	} {
		_, err := parseArgs(bad, env(nil))
		var ue usageError
		require.ErrorAs(t, err, &ue, fmt.Sprint(bad))
	}
}
