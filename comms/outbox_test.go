package comms_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/comms"
	"ringback/comms/twilio"
	"ringback/fakes/twiliofake"
	"ringback/metrics"
	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
)

const (
	accountSID = "AC00000000000000000000000000000000"
	authToken  = "testtoken123"
	business   = "+15125550100" // the tenant's sending number
	other      = "+15125550101" // another sending number of the tenant
	customer   = "+15125550199"
	callback   = "https://ringback.example/webhooks/twilio/sms-status"

	// patience bounds every wait on a signal; running out of it means the behaviour under
	// test broke, never that the machine was slow.
	patience = 10 * time.Second
)

// signalClock is a fake clock that announces every timer the outbox schedules (a
// rate-limit wait or a retry backoff), so a test knows a delivery has been put off
// before it moves time, without sleeping.
type signalClock struct {
	*clock.Fake
	scheduled chan time.Duration
}

func (c *signalClock) AfterFunc(d time.Duration, f func()) func() bool {
	stop := c.Fake.AfterFunc(d, f)
	c.scheduled <- d
	return stop
}

// unlimited is a send rate no test exceeds, for tests whose subject is not the rate: a
// second send then shows at once instead of waiting for a token.
func unlimited(string) float64 { return 100 }

// harness is one outbox on a fresh database, sending through the real Twilio client to a
// fake Twilio.
type harness struct {
	pool    *pgxpool.Pool
	store   *persistence.Conversations
	twilio  *twiliofake.Server
	clock   *signalClock
	metrics *metrics.Metrics
	outbox  *comms.Outbox
}

func newHarness(t *testing.T, cfg comms.Config) *harness {
	t.Helper()
	pool := pgtest.Pool(t)
	box, err := secrets.NewBox("")
	require.NoError(t, err)

	fake := twiliofake.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	sender, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: fake.URL()})
	require.NoError(t, err)
	t.Cleanup(sender.Close)

	clk := &signalClock{
		Fake:      clock.NewFake(time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)),
		scheduled: make(chan time.Duration, 64),
	}
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{TenantLabels: true})
	store := persistence.NewConversations(pool, box)
	o := comms.NewOutbox(cfg, store, sender, clk, m, slog.New(slog.NewTextHandler(t.Output(), nil)))
	// Registered after the pool and the fake, so it runs before they close.
	t.Cleanup(o.Close)
	return &harness{pool: pool, store: store, twilio: fake, clock: clk, metrics: m, outbox: o}
}

// conversationOf starts a conversation between a sending number and the customer.
func conversationOf(endpoint string) *conversation.State {
	return &conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: endpoint, Phone: customer, Stage: conversation.Idle}
}

// commit saves the next version of st with its outgoing messages, as a conversation step does.
func (h *harness) commit(t *testing.T, st *conversation.State, out ...conversation.Outgoing) {
	t.Helper()
	st.Version++
	require.NoError(t, h.store.Save(context.Background(), conversation.Commit{State: *st, Outgoing: out}))
}

// idle waits until the outbox has handled everything enqueued.
func (h *harness) idle(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		h.outbox.Idle()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("the outbox did not become idle")
	}
}

// putOff waits until the outbox has scheduled n timers and returns their durations, sorted.
func (h *harness) putOff(t *testing.T, n int) []time.Duration {
	t.Helper()
	var got []time.Duration
	timeout := time.After(patience)
	for len(got) < n {
		select {
		case d := <-h.clock.scheduled:
			got = append(got, d)
		case <-timeout:
			t.Fatalf("the outbox put off %d deliveries (%v), want %d", len(got), got, n)
		}
	}
	slices.Sort(got)
	return got
}

// noMorePutOff asserts that no timer was scheduled beyond those already taken.
func (h *harness) noMorePutOff(t *testing.T) {
	t.Helper()
	require.Empty(t, h.clock.scheduled, "unexpected timers scheduled by the outbox")
	require.Zero(t, h.clock.Pending(), "timers still pending on the clock")
}

// messages waits until the fake holds at least n messages and returns them.
func (h *harness) messages(t *testing.T, n int) []twiliofake.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	msgs, err := h.twilio.WaitForMessages(ctx, n)
	require.NoError(t, err)
	return msgs
}

// delivery is an outbox row as Postgres holds it.
type delivery struct {
	Status      string
	Attempts    int
	ErrorCode   *int
	ProviderSID *string
}

func (h *harness) delivery(t *testing.T, id string) delivery {
	t.Helper()
	var d delivery
	require.NoError(t, h.pool.QueryRow(context.Background(),
		`SELECT status, attempts, error_code, provider_sid FROM conversation.deliveries WHERE client_message_id = $1`, id).
		Scan(&d.Status, &d.Attempts, &d.ErrorCode, &d.ProviderSID))
	return d
}

func (h *harness) deliveries(status string) float64 {
	return testutil.ToFloat64(h.metrics.SMSDeliveries.WithLabelValues(status))
}

func TestCommittedDeliveryIsSentOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{StatusCallback: callback, RateFor: unlimited})
	h.twilio.DisableCallbacks() // receipts are not the subject here, and the URL leads nowhere
	st := conversationOf(business)
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "m1", Body: "hi", Kind: "reply"})

	// A redelivered webhook or a recovery can enqueue the same delivery twice.
	h.outbox.Enqueue("m1", "m1")
	h.idle(t)

	msgs := h.twilio.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, 1, h.twilio.Requests(), "requests made to Twilio")
	got := msgs[0]
	require.Equal(t, business, got.From)
	require.Equal(t, customer, got.To)
	require.Equal(t, "hi", got.Body)
	require.Equal(t, callback, got.StatusCallback)

	d := h.delivery(t, "m1")
	require.Equal(t, "queued", d.Status)
	require.Equal(t, 1, d.Attempts)
	require.NotNil(t, d.ProviderSID)
	require.Equal(t, got.SID, *d.ProviderSID)
	require.Nil(t, d.ErrorCode)
	var messageSID string
	require.NoError(t, h.pool.QueryRow(context.Background(),
		`SELECT d.provider_sid FROM conversation.messages m JOIN conversation.deliveries d USING (client_message_id)
		WHERE m.client_message_id = 'm1'`).Scan(&messageSID))
	require.Equal(t, got.SID, messageSID)

	require.Equal(t, 1.0, h.deliveries("queued"))
	require.Zero(t, h.deliveries("failed"))
	h.noMorePutOff(t)
}

func TestEachSenderHasItsOwnTokenBucket(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	asked := map[string]int{}
	h := newHarness(t, comms.Config{RateFor: func(from string) float64 {
		mu.Lock()
		defer mu.Unlock()
		asked[from]++
		return 1
	}})
	busy, quiet := conversationOf(business), conversationOf(other)
	h.commit(t, busy,
		conversation.Outgoing{ClientMessageID: "a1", Body: "one", Kind: "reply"},
		conversation.Outgoing{ClientMessageID: "a2", Body: "two", Kind: "reply"},
		conversation.Outgoing{ClientMessageID: "a3", Body: "three", Kind: "reply"})
	h.commit(t, quiet, conversation.Outgoing{ClientMessageID: "b1", Body: "other", Kind: "reply"})

	h.outbox.Enqueue("a1", "a2", "a3", "b1")

	// At 1 msg/s with a burst of one, each sender sends one now and the busy sender's
	// other two wait for tokens. The quiet sender is not held back by the busy one.
	h.messages(t, 2)
	// A waiting delivery keeps the token it reserved: the two wait one and two seconds,
	// each for its own turn, in the order they came (no herd waking for one token).
	require.ElementsMatch(t, []time.Duration{time.Second, 2 * time.Second}, h.putOff(t, 2))
	msgs := h.twilio.Messages()
	require.Len(t, msgs, 2, "sent before the clock moved")
	require.ElementsMatch(t, []string{business, other}, []string{msgs[0].From, msgs[1].From})

	h.clock.Advance(time.Second)
	msgs = h.messages(t, 3)
	require.Equal(t, business, msgs[2].From)
	require.Equal(t, 1, h.clock.Pending(), "the last one waits for its own second")
	require.Len(t, h.twilio.Messages(), 3, "one second lets exactly one more through")

	h.clock.Advance(time.Second)
	msgs = h.messages(t, 4)
	require.Equal(t, business, msgs[3].From)
	h.idle(t)
	h.noMorePutOff(t)

	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.Body)
	}
	require.ElementsMatch(t, []string{"one", "two", "three", "other"}, bodies)
	for _, id := range []string{"a1", "a2", "a3", "b1"} {
		d := h.delivery(t, id)
		require.Equal(t, "queued", d.Status, id)
		require.Equal(t, 1, d.Attempts, "%s: waiting for a token is not an attempt", id)
	}
	require.Equal(t, 4.0, h.deliveries("queued"))
	mu.Lock()
	defer mu.Unlock()
	var senders []string
	for from := range asked {
		senders = append(senders, from)
	}
	require.ElementsMatch(t, []string{business, other}, senders, "the senders whose rate was asked")
}

// A delivery that waited for its sender's token still has all its attempts: with
// MaxAttempts 2, one server error after the wait is retried, not final.
func TestWaitingForATokenDoesNotUseAnAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{MaxAttempts: 2})
	h.commit(t, conversationOf(business),
		conversation.Outgoing{ClientMessageID: "a1", Body: "one", Kind: "reply"},
		conversation.Outgoing{ClientMessageID: "a2", Body: "two", Kind: "reply"})

	h.outbox.Enqueue("a1", "a2")
	first := h.messages(t, 1)[0]
	h.putOff(t, 1)
	h.twilio.FailNext(1, twiliofake.ServerError())
	// Far past the wait, so the bucket is full again however the wait was booked.
	h.clock.Advance(time.Minute)
	h.putOff(t, 1) // the backoff after the server error
	h.clock.Advance(10 * time.Minute)
	msgs := h.messages(t, 2)
	h.idle(t)
	h.noMorePutOff(t)

	require.Equal(t, 3, h.twilio.Requests(), "one send, one server error, one retry")
	waited := "a1"
	if first.Body == "one" {
		waited = "a2"
	}
	d := h.delivery(t, waited)
	require.Equal(t, "queued", d.Status)
	require.Equal(t, 2, d.Attempts)
	require.NotNil(t, d.ProviderSID)
	require.Equal(t, msgs[1].SID, *d.ProviderSID)
	require.Zero(t, h.deliveries("failed"))
}

func TestServerErrorsAreRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{})
	h.twilio.FailNext(2, twiliofake.ServerError())
	h.commit(t, conversationOf(business), conversation.Outgoing{ClientMessageID: "m1", Body: "hi", Kind: "reply"})

	h.outbox.Enqueue("m1")
	// Backoff after attempt n is between 2^(n-1) and 2^n seconds.
	first := h.putOff(t, 1)[0]
	require.GreaterOrEqual(t, first, time.Second)
	require.Less(t, first, 2*time.Second)
	require.Empty(t, h.twilio.Messages())
	d := h.delivery(t, "m1")
	require.Equal(t, "pending", d.Status, "waiting for its retry")
	require.Equal(t, 1, d.Attempts)

	h.clock.Advance(10 * time.Minute)
	second := h.putOff(t, 1)[0]
	require.GreaterOrEqual(t, second, 2*time.Second)
	require.Less(t, second, 4*time.Second)
	require.Empty(t, h.twilio.Messages())

	h.clock.Advance(10 * time.Minute)
	msgs := h.messages(t, 1)
	h.idle(t)
	h.noMorePutOff(t)

	require.Len(t, h.twilio.Messages(), 1)
	require.Equal(t, 3, h.twilio.Requests(), "two failed requests and one accepted")
	d = h.delivery(t, "m1")
	require.Equal(t, "queued", d.Status)
	require.Equal(t, 3, d.Attempts)
	require.NotNil(t, d.ProviderSID)
	require.Equal(t, msgs[0].SID, *d.ProviderSID)
	require.Equal(t, 1.0, h.deliveries("queued"))
	require.Zero(t, h.deliveries("failed"))
}

func TestCarrierOptOutFailsTheDeliveryAndTellsTheConversation(t *testing.T) {
	t.Parallel()
	type optOut struct{ tenant, from, to string }
	var mu sync.Mutex
	var told []optOut
	h := newHarness(t, comms.Config{OnOptedOut: func(tenantID, from, to string) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, optOut{tenantID, from, to})
	}, RateFor: unlimited})
	h.twilio.OptOut(customer)
	h.commit(t, conversationOf(business), conversation.Outgoing{ClientMessageID: "m1", Body: "hi", Kind: "reply"})

	h.outbox.Enqueue("m1")
	h.idle(t)
	h.noMorePutOff(t)

	require.Empty(t, h.twilio.Messages())
	require.Equal(t, 1, h.twilio.Requests(), "an opt-out is permanent: no retry")
	d := h.delivery(t, "m1")
	require.Equal(t, "failed", d.Status)
	require.NotNil(t, d.ErrorCode)
	require.Equal(t, 21610, *d.ErrorCode)
	require.Equal(t, 1.0, h.deliveries("failed"))
	require.Zero(t, h.deliveries("queued"))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []optOut{{"acme", business, customer}}, told)
}

func TestOptOutBeforeTheSendSuppressesAllButCompliance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{RateFor: unlimited})
	st := conversationOf(business)
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "offer", Body: "1) Tue 9:00", Kind: "reply"})
	// The customer's STOP is committed, with its confirmation, before the outbox gets to
	// the offer.
	st.Caller.OptedOut = true
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "stop", Body: "You are unsubscribed.", Kind: "compliance"})

	h.outbox.Enqueue("offer", "stop")
	h.idle(t)
	h.noMorePutOff(t)

	msgs := h.twilio.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, 1, h.twilio.Requests())
	require.Equal(t, "You are unsubscribed.", msgs[0].Body)
	require.Equal(t, customer, msgs[0].To)
	require.Equal(t, "suppressed", h.delivery(t, "offer").Status)
	require.Equal(t, "queued", h.delivery(t, "stop").Status)
	require.Equal(t, 1.0, h.deliveries("queued"))
}

func TestAutoReplyLatencyIsObservedForAutoRepliesOnly(t *testing.T) {
	t.Parallel()
	// A wait for a token would add to the latency.
	h := newHarness(t, comms.Config{RateFor: unlimited})
	received := h.clock.Now().Add(-1500 * time.Millisecond) // the missed-call webhook
	st := conversationOf(business)
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "auto", Body: "Sorry we missed you", Kind: "auto_reply", TriggerAt: received})
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "reply", Body: "Booked", Kind: "reply"})

	h.outbox.Enqueue("reply")
	h.idle(t)
	require.Len(t, h.twilio.Messages(), 1)
	require.Zero(t, testutil.CollectAndCount(h.metrics.AutoSMSLatency), "a reply is not an auto-reply")

	h.outbox.Enqueue("auto")
	h.idle(t)
	h.noMorePutOff(t)
	require.Len(t, h.twilio.Messages(), 2)
	require.Equal(t, 1, testutil.CollectAndCount(h.metrics.AutoSMSLatency, "ringback_auto_sms_latency_seconds"))
	var got dto.Metric
	require.NoError(t, h.metrics.AutoSMSLatency.WithLabelValues("acme").(prometheus.Metric).Write(&got))
	require.Equal(t, uint64(1), got.GetHistogram().GetSampleCount())
	require.InDelta(t, 1.5, got.GetHistogram().GetSampleSum(), 1e-6, "seconds from the webhook to the provider's acceptance")
}

func TestRetryableFailuresBecomePermanentAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{MaxAttempts: 2})
	h.twilio.FailAlways(twiliofake.ServerError())
	h.commit(t, conversationOf(business), conversation.Outgoing{ClientMessageID: "m1", Body: "hi", Kind: "reply"})

	h.outbox.Enqueue("m1")
	h.putOff(t, 1)
	h.clock.Advance(10 * time.Minute)
	h.idle(t)
	h.noMorePutOff(t)

	require.Empty(t, h.twilio.Messages())
	require.Equal(t, 2, h.twilio.Requests())
	d := h.delivery(t, "m1")
	require.Equal(t, "failed", d.Status)
	require.Equal(t, 2, d.Attempts)
	require.Nil(t, d.ProviderSID)
	require.Equal(t, 1.0, h.deliveries("failed"))
	require.Zero(t, h.deliveries("queued"))
}

// Reminders take only the tokens conversation messages leave: a burst of reminders at a
// busy sender never delays a missed call's answer there by more than one token, and the
// reminders go in the order they came, one token interval apart.
func TestRemindersWaitBehindConversationMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, comms.Config{RateFor: func(string) float64 { return 1 }})
	st := conversationOf(business)
	h.commit(t, st,
		conversation.Outgoing{ClientMessageID: "r1", Body: "reminder one", Kind: "reminder"},
		conversation.Outgoing{ClientMessageID: "r2", Body: "reminder two", Kind: "reminder"},
		conversation.Outgoing{ClientMessageID: "r3", Body: "reminder three", Kind: "reminder"})
	h.outbox.Enqueue("r1", "r2", "r3")
	// r1 takes the free token; r2 and r3 join the sender's line, whose tick is armed once.
	h.messages(t, 1)
	require.Equal(t, []time.Duration{time.Second}, h.putOff(t, 1), "one tick for the whole line")

	// A missed call's answer arrives while reminders wait: it reserves the next token.
	h.commit(t, st, conversation.Outgoing{ClientMessageID: "auto", Body: "sorry we missed your call", Kind: "auto_reply"})
	h.outbox.Enqueue("auto")
	require.Equal(t, []time.Duration{time.Second}, h.putOff(t, 1))

	h.clock.Advance(time.Second) // the auto-reply's token; the line's tick finds none free
	msgs := h.messages(t, 2)
	require.Equal(t, "sorry we missed your call", msgs[1].Body, "the conversation message goes first")
	require.Equal(t, []time.Duration{time.Second}, h.putOff(t, 1), "the line waits another interval")

	h.clock.Advance(time.Second)
	h.messages(t, 3)
	require.Equal(t, []time.Duration{time.Second}, h.putOff(t, 1))
	h.clock.Advance(time.Second)
	msgs = h.messages(t, 4)
	// The three reminders reached the workers together, so their order among themselves
	// is theirs; the answer to the missed call went second whatever it was.
	require.ElementsMatch(t, []string{"reminder one", "reminder two", "reminder three"}, []string{msgs[0].Body, msgs[2].Body, msgs[3].Body})
	h.idle(t)
	h.noMorePutOff(t)
	for _, id := range []string{"r1", "r2", "r3", "auto"} {
		require.Equal(t, "queued", h.delivery(t, id).Status, id)
	}
}

// A reminder whose visit changed after it was queued is suppressed at the last moment,
// never sent.
func TestAStaleReminderIsSuppressed(t *testing.T) {
	t.Parallel()
	var asked []string
	var mu sync.Mutex
	h := newHarness(t, comms.Config{RateFor: unlimited, Current: func(_ context.Context, d comms.Delivery) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, d.ClientMessageID)
		return d.ClientMessageID != "stale", nil
	}})
	st := conversationOf(business)
	h.commit(t, st,
		conversation.Outgoing{ClientMessageID: "stale", Body: "old time", Kind: "reminder"},
		conversation.Outgoing{ClientMessageID: "fresh", Body: "new time", Kind: "reminder"},
		conversation.Outgoing{ClientMessageID: "reply", Body: "a reply", Kind: "reply"})
	h.outbox.Enqueue("stale", "fresh", "reply")
	h.idle(t)
	var bodies []string
	for _, m := range h.twilio.Messages() {
		bodies = append(bodies, m.Body)
	}
	require.ElementsMatch(t, []string{"new time", "a reply"}, bodies)
	require.Equal(t, "suppressed", h.delivery(t, "stale").Status)
	mu.Lock()
	defer mu.Unlock()
	require.ElementsMatch(t, []string{"stale", "fresh"}, asked, "only reminders are checked")
}
