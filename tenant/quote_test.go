package tenant

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		price Price
		d     time.Duration
		want  int64
	}{
		{"base only", Price{Base: 120}, 90 * time.Minute, 12000},
		{"base with cents", Price{Base: 499.99}, 3 * time.Hour, 49999},
		{"free", Price{}, time.Hour, 0},
		{"per hour, whole quarters", Price{Base: 120, PerHour: 60}, 90 * time.Minute, 21000},
		{"per hour, partial quarter rounds up", Price{Base: 120, PerHour: 60}, 50 * time.Minute, 18000},
		{"one minute is a quarter hour", Price{PerHour: 60}, time.Minute, 1500},
		{"one second is a quarter hour", Price{PerHour: 60}, time.Second, 1500},
		{"exactly a quarter", Price{PerHour: 60}, 15 * time.Minute, 1500},
		{"a quarter and a second", Price{PerHour: 60}, 15*time.Minute + time.Second, 3000},
		{"half cent rounds up", Price{PerHour: 0.01}, 30 * time.Minute, 1},
		{"no float error", Price{PerHour: 19.99}, 20 * time.Minute, 1000},
		{"zero duration", Price{Base: 50, PerHour: 60}, 0, 5000},
		{"negative duration", Price{Base: 50, PerHour: 60}, -time.Hour, 5000},
		{"a day", Price{Base: 0.1, PerHour: 0.2}, 24 * time.Hour, 10 + 480},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.price.Quote(tc.d)
			require.Equal(t, tc.want, got)
		})
	}
}
