package sync

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestShortenCutsOnARuneBoundary(t *testing.T) {
	t.Parallel()
	require.Equal(t, "vendor said no", shorten("vendor said no", 200))
	long := strings.Repeat("é", 150) // 300 bytes
	got := shorten(long, 201)
	require.True(t, utf8.ValidString(got), "%q", got)
	require.Equal(t, strings.Repeat("é", 100)+"…", got, "the half rune at byte 201 is dropped")
	require.Equal(t, strings.Repeat("x", 200)+"…", shorten(strings.Repeat("x", 500), 200))
}
