package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"ringback/tenant"
)

// The generated businesses: every tenant sells one service, an hour long on a 30-minute
// grid, and its resources are open around the clock every day. The engine runs on the real
// clock, so whatever "now" is there are slots from now+minNotice to the horizon.
const (
	serviceID         = "visit"
	serviceDuration   = time.Hour
	slotStep          = 30 * time.Minute
	minNotice         = time.Hour
	horizonDays       = 30
	holdTTL           = 10 * time.Minute
	autoReplyCooldown = 24 * time.Hour
	// sendRate is each business number's SMS rate: the validator's maximum, so that the
	// per-sender token bucket is not what a run measures (one auto-reply per caller).
	sendRate = 100
)

// The scenarios book disjoint days, counted from today (UTC) so that none of them take
// slots another one needs: conversations take the earliest open slots (today and
// tomorrow), booking-api days [bookingFirstDay, hotSlotFirstDay), hot-slot the days after.
const (
	bookingFirstDay = 3
	hotSlotFirstDay = 20
)

// tenantInfo is one generated tenant.
type tenantInfo struct {
	ID        string
	Resources []string
	Numbers   []string
}

// endpoint is one business number and the tenant that owns it.
type endpoint struct {
	tenant int
	number string
}

// world is the generated multi-tenant configuration.
type world struct {
	tenants []tenantInfo
	// baseline mirrors each tenant (same resources, no numbers) for --baseline: the
	// baseline writes their claims straight into Postgres and the engine never serves them.
	baseline   []tenantInfo
	endpoints  []endpoint // every business number, interleaved across tenants
	bookingKey string
	day0       time.Time // midnight UTC of the day the world was made
}

// newWorld generates `tenants` tenants sharing `resources` resources as evenly as possible,
// each with numbersPer business numbers.
func newWorld(tenants, resources, numbersPer int, baseline bool, bookingKey string, now time.Time) (*world, error) {
	switch {
	case tenants < 1 || tenants > 1000:
		return nil, fmt.Errorf("--tenants %d: want 1 to 1000", tenants)
	case resources < tenants:
		return nil, fmt.Errorf("--resources %d: want at least one per tenant (%d)", resources, tenants)
	case numbersPer < 1 || tenants*numbersPer > maxBusinessNumbers:
		return nil, fmt.Errorf("--numbers %d: want 1 to %d business numbers per tenant", numbersPer, maxBusinessNumbers/tenants)
	}
	w := &world{bookingKey: bookingKey, day0: now.UTC().Truncate(24 * time.Hour)}
	for t := range tenants {
		info := tenantInfo{ID: fmt.Sprintf("lt-%03d", t)}
		n := resources / tenants
		if t < resources%tenants {
			n++
		}
		for r := range n {
			info.Resources = append(info.Resources, fmt.Sprintf("r%03d", r))
		}
		for n := range numbersPer {
			info.Numbers = append(info.Numbers, businessNumber(t*numbersPer+n))
		}
		w.tenants = append(w.tenants, info)
		if baseline {
			w.baseline = append(w.baseline, tenantInfo{ID: fmt.Sprintf("lb-%03d", t), Resources: info.Resources})
		}
	}
	for n := range numbersPer {
		for t := range w.tenants {
			w.endpoints = append(w.endpoints, endpoint{tenant: t, number: w.tenants[t].Numbers[n]})
		}
	}
	return w, nil
}

// tenantIDs lists the ids of the generated tenants (baseline mirrors included).
func (w *world) tenantIDs() []string {
	var ids []string
	for _, t := range append(append([]tenantInfo(nil), w.tenants...), w.baseline...) {
		ids = append(ids, t.ID)
	}
	return ids
}

func (w *world) resourceCount() int {
	n := 0
	for _, t := range w.tenants {
		n += len(t.Resources)
	}
	return n
}

// config is the tenant configuration of t.
func (w *world) config(t tenantInfo) tenant.Config {
	allDay := map[string][]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		allDay[d] = []string{"00:00-24:00"}
	}
	c := tenant.Config{
		ID:       t.ID,
		Name:     "Load " + strings.ToUpper(t.ID),
		Timezone: "UTC",
		Services: []tenant.Service{{ID: serviceID, Name: "Visit", Duration: tenant.Duration(serviceDuration),
			Price: tenant.Price{Base: 100, PerHour: 40, Currency: "USD"}}},
		Policies: tenant.Policies{
			HoldTTL: tenant.Duration(holdTTL), SlotStep: tenant.Duration(slotStep), MinNotice: tenant.Duration(minNotice),
			Horizon: tenant.Duration(horizonDays * 24 * time.Hour), OfferCount: 3, AutoReplyCooldown: tenant.Duration(autoReplyCooldown),
		},
		BookingAPIKey: w.bookingKey,
	}
	for _, n := range t.Numbers {
		c.Endpoints = append(c.Endpoints, tenant.Endpoint{Number: n, DefaultService: serviceID, SendRate: sendRate})
	}
	for i, r := range t.Resources {
		c.Resources = append(c.Resources, tenant.Resource{ID: r, Name: fmt.Sprintf("Resource %d", i), Services: []string{serviceID}, Hours: allDay})
	}
	return c
}

// slot returns the start of the i-th slot of day `day` (counted from day0).
func (w *world) slot(day, i int) time.Time {
	return w.day0.Add(time.Duration(day)*24*time.Hour + time.Duration(i)*slotStep)
}

// slotsPerDay is how many slot starts a day has on the grid.
const slotsPerDay = int(24 * time.Hour / slotStep)

// apply puts every generated tenant config through the admin API, a few at a time.
func (w *world) apply(ctx context.Context, client *http.Client, base, adminToken string) error {
	all := append(append([]tenantInfo(nil), w.tenants...), w.baseline...)
	work := make(chan tenantInfo)
	errs := make(chan error, len(all))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				errs <- applyTenant(ctx, client, base, adminToken, w.config(t))
			}
		}()
	}
	for _, t := range all {
		work <- t
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func applyTenant(ctx context.Context, client *http.Client, base, adminToken string, cfg tenant.Config) error {
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/admin/v1/tenants/"+cfg.ID, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("applying tenant %s: %w", cfg.ID, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("applying tenant %s: HTTP %d: %s", cfg.ID, resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return nil
}

// Phone numbers. Business numbers are in area code 512 and callers in 737 (both Austin,
// valid NANP numbers), so the two never meet; exchanges ending in 11 (service codes) and
// 555 are skipped.
var exchanges = func() []int {
	var out []int
	for e := 200; e <= 999; e++ {
		if e%100 != 11 && e != 555 {
			out = append(out, e)
		}
	}
	return out
}()

// Business numbers take the upper half of the exchanges, callers all of them.
const (
	businessExchangeBase = 360
	maxBusinessNumbers   = 10000 * 300
)

// businessNumber is the i-th business number.
func businessNumber(i int) string {
	return fmt.Sprintf("+1512%03d%04d", exchanges[businessExchangeBase+i/10000], i%10000)
}

// maxCallers is how many distinct caller numbers there are.
var maxCallers = 10000 * len(exchanges)

// callerNumber is the k-th caller number (k modulo maxCallers).
func callerNumber(k int) string {
	k %= maxCallers
	return fmt.Sprintf("+1737%03d%04d", exchanges[k/10000], k%10000)
}
