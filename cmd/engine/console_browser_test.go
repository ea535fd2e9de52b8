package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"ringback/clock"
)

// chromium starts a headless Chromium (CHROMIUM, set by `make test` through
// scripts/chromium.sh) and returns a browser context.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		t.Fatal("CHROMIUM is not set: run `make test`, which finds or installs Debian's chromium (scripts/chromium.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 860), chromedp.Flag("lang", "en-US"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// shoot writes a screenshot to $CONSOLE_SCREENSHOTS/name.png when that is set (`make
// screenshots`).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// TestConsoleInABrowser drives the console in a real headless Chromium: sign in from an
// invite, a missed call and a customer's question appear without a reload, a person's
// reply reaches the fake Twilio and keeps the bot quiet, handing back lets it answer,
// an opted-out customer's reply box is disabled, and the pages fit a phone.
// hover moves the mouse to the middle of the first element sel matches.
func hover(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(r => [r.x + r.width / 2, r.y + r.height / 2])(document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect())`))
	require.NoError(t, err)
	require.Len(t, at, 2)
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1])))
}

func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(withOwner(plumber))
	r := e.do(http.MethodPost, "/admin/v1/tenants/acme/users", adminToken, map[string]string{"email": "dana@acme.example", "name": "Dana"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	invite := r.json(t)["invite_url"].(string)
	ctx := chromium(t)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(invite),
		chromedp.WaitVisible(`#password`),
		chromedp.SendKeys(`#password`, "correct horse battery"),
		chromedp.SendKeys(`#confirm`, "correct horse battery"),
		chromedp.Submit(`#confirm`),
		chromedp.WaitVisible(`.empty`),
	))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Equal(t, "Inbox · Ringback", title)

	// A missed call through the Twilio webhook appears in the open page, live.
	e.missedCall(customer)
	e.settle(customer)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(`a.row`)))
	e.sms("+15125550142", "Hi, do you also fix water heaters? Mine is leaking a little")
	e.settle("+15125550142")
	e.sms(customer, "can you come earlier?")
	e.settle(customer)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(`.tag.attention`),
		chromedp.WaitVisible(`.meta .count`),
	))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.title.startsWith("(2)")`))
	require.NoError(t, err)
	title, err = chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(title, "(2) Inbox"), "the tab title carries the unread count: %q", title)
	shoot(t, ctx, "inbox")

	// While the pointer is over the list, a live change waits: no row moves under it.
	rows := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("a.row").length`))
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 2, rows())
	hover(t, ctx, `a.row`)
	e.sms("+15125550143", "Do you service tankless heaters?")
	e.settle("+15125550143")
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.pending === "1"`))
	require.NoError(t, err)
	require.Equal(t, 2, rows(), "the list holds still under the pointer")
	hover(t, ctx, `h1`)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("a.row").length === 3`))
	require.NoError(t, err)

	// Open the thread, reply: the fake Twilio receives it and the bot stays quiet.
	// The inbox reorders itself live, so the row is found by its phone, not its place.
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("a.row")].find(a => a.querySelector(".phone").textContent === "`+customer+`").getAttribute("href")`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+href),
		chromedp.WaitVisible(`textarea#body`),
	))
	thread, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	shoot(t, ctx, "thread")
	before := len(e.texts(customer))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(`textarea#body`, "Yes, Mike can come at 7:30 instead. See you then!"),
		chromedp.Click(`form.reply button[type=submit]`),
		chromedp.WaitVisible(`p.notice[role=status]`),
	))
	e.settle(customer)
	require.Equal(t, "Yes, Mike can come at 7:30 instead. See you then!", e.last(customer))
	e.sms(customer, "great, thanks")
	e.settle(customer)
	require.Len(t, e.texts(customer), before+1, "the bot says nothing while a person answers")

	// Hand back: the bot answers the next reply.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`form[action$="/hand-back"] button`),
		chromedp.WaitVisible(`form[action$="/take-over"]`),
	))
	e.sms(customer, "MORE")
	e.settle(customer)
	require.Contains(t, e.last(customer), "1) ")

	// The customer books; the week's appointments show the visit, with its actions.
	e.sms(customer, "1")
	e.settle(customer)
	e.sms(customer, "yes")
	e.settle(customer)
	require.Contains(t, e.last(customer), "You're booked")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/console/appointments?from=2030-01-07"),
		chromedp.WaitVisible(`li.appt`),
	))
	what, err := chromedp.Run(ctx, chromedp.Text(`li.appt .what`))
	require.NoError(t, err)
	require.Contains(t, what, customer)
	require.Contains(t, what, "Booked")
	shoot(t, ctx, "appointments")
	// Cancel asks first, and offers to text the customer (checked by default).
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`li.appt details.confirm summary`),
		chromedp.WaitVisible(`li.appt details.confirm input[name=notify]`),
	))
	notify, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("li.appt details.confirm input[name=notify]").checked`))
	require.NoError(t, err)
	require.True(t, notify, "texting the customer is the default")
	shoot(t, ctx, "appointments-cancel")
	// Reschedule lists open times, with the same offer.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`li.appt a[href$="/reschedule"]`),
		chromedp.WaitVisible(`label.slot input[name=starts_at]`), // on the reschedule page, not the one it left
	))
	notify, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("form input[name=notify]").checked`))
	require.NoError(t, err)
	require.True(t, notify)
	shoot(t, ctx, "reschedule")

	// The phone viewport: the thread and the inbox fit 390 px without sideways scrolling.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(thread),
		chromedp.WaitVisible(`textarea#body`),
	))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	if width > 390 {
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("*")].filter(e => e.getBoundingClientRect().right > 391).slice(0, 8).map(e => e.tagName + "." + e.className + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`))
		t.Logf("wider than the phone: %s", wide)
	}
	require.LessOrEqual(t, width, 390, "no sideways scrolling on a phone")
	shoot(t, ctx, "thread-phone")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/console/"),
		chromedp.WaitVisible(`a.row`),
	))
	width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 390)
	shoot(t, ctx, "inbox-phone")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/console/appointments?from=2030-01-07"),
		chromedp.WaitVisible(`li.appt`),
	))
	width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 390)
	shoot(t, ctx, "appointments-phone")

	// An opted-out customer: the reply box is disabled, with the reason.
	e.sms(customer, "STOP")
	e.settle(customer)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 860),
		chromedp.Navigate(thread),
		chromedp.WaitVisible(`#why`),
	))
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("textarea#body").disabled`))
	require.NoError(t, err)
	why, err := chromedp.Run(ctx, chromedp.Text(`#why`))
	require.NoError(t, err)
	require.True(t, disabled)
	require.Contains(t, why, "opted out")

	// Another tenant's thread by URL is not found.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/console/conversations/00000000-0000-7000-8000-000000000000")))
	heading, err := chromedp.Run(ctx, chromedp.Text(`h1`))
	require.NoError(t, err)
	require.Equal(t, "Not Found", heading)

	// The sign-in page, signed out.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/console/"),
		chromedp.Click(`form[action="/console/logout"] button`),
		chromedp.WaitVisible(`#email`),
	))
	shoot(t, ctx, "sign-in")
}
