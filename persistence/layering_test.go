package persistence_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStoresNeverNameTheOtherContextsSchema enforces design rule 7: the conversation and
// fulfillment contexts talk through actor messages only, so no SQL in one store may name
// the other's schema. (tenants.go is the config projection that writes both by design.)
func TestStoresNeverNameTheOtherContextsSchema(t *testing.T) {
	t.Parallel()
	forbidden := map[string]string{"fulfillment": "conversation.", "conversation": "fulfillment."}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for ctx, other := range forbidden {
			if !strings.HasPrefix(f, ctx) {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			checked++
			for i, line := range strings.Split(string(src), "\n") {
				require.NotContains(t, line, other, "%s:%d names %s", f, i+1, other)
			}
		}
	}
	require.Positive(t, checked, "no store files found to check")
}

// TestAnalyticsSQLStaysInItsStore: the event log (schema analytics) is written and read by
// analytics.go alone, and that store names neither domain schema, so the log can never
// become a back door for joining them. SQL names are lowercase after the dot; Go
// identifiers of the analytics package (analytics.Event) are not.
func TestAnalyticsSQLStaysInItsStore(t *testing.T) {
	t.Parallel()
	sqlName := func(schema string) *regexp.Regexp { return regexp.MustCompile(`\b` + schema + `\.[a-z_"]`) }
	analyticsSQL, domainSQL := sqlName("analytics"), sqlName("(conversation|fulfillment)")
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	sawStore := false
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(src), "\n") {
			if f == "analytics.go" {
				sawStore = true
				require.False(t, domainSQL.MatchString(line), "%s:%d names a domain schema: %s", f, i+1, line)
			} else {
				require.False(t, analyticsSQL.MatchString(line), "%s:%d names the analytics schema: %s", f, i+1, line)
			}
		}
	}
	require.True(t, sawStore, "analytics.go not found")
}
