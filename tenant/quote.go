package tenant

import (
	"math"
	"time"
)

// quarterHour is the unit in which Quote charges PerHour.
const quarterHour = 15 * time.Minute

// Quote is the price of a service lasting d, in minor units (cents):
//
//	round(Base×100) + round(PerHour×100 × h)
//
// where h is d in hours rounded up to the next quarter hour (90m is 1.5, 50m is 1,
// 20m is 0.5); halves round away from zero and d ≤ 0 quotes Base alone. For a validated
// Price both amounts are whole cents, so the sum is computed in integers and is exact:
// 19.99 per hour for 20 minutes is 1000 cents, not 999 as float arithmetic would give.
// The factor 100 assumes a currency with two minor digits.
func (p Price) Quote(d time.Duration) int64 {
	base := int64(math.Round(p.Base * 100))
	if d <= 0 {
		return base
	}
	quarters := int64(d / quarterHour)
	if d%quarterHour != 0 {
		quarters++
	}
	perHour := int64(math.Round(p.PerHour * 100))
	return base + divRound(perHour*quarters, 4)
}

// divRound is x/n rounded to the nearest integer, halves away from zero (n > 0).
func divRound(x, n int64) int64 {
	if x < 0 {
		return -divRound(-x, n)
	}
	return (x + n/2) / n
}
