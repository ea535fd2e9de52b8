package persistence_test

import (
	"os"
	"path/filepath"
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
