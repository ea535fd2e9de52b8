package tenant

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse checks that no input makes Parse panic or return anything but a
// *ValidationError, that whatever parses can be normalised, validated, redacted and
// compiled without panicking, and that it survives a JSON round trip (the form in which
// configs are stored and served).
func FuzzParse(f *testing.F) {
	f.Add([]byte(contractExample))
	for _, name := range []string{"acme.yaml", "acme.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("id: a\n---\nid: b\n"))
	f.Add([]byte("resources: [{hours: {fri: [22:00-02:00], sat: [01:00-05:00]}}]"))
	f.Add([]byte(`{"policies": {"hold_ttl": "14d", "offer_count": 3}, "services": [{"price": {"base": 1.5}}]}`))
	f.Add([]byte("endpoints: [{number: '+15125550100', quiet_hours: {start: '21:00', end: '08:00'}}]"))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "Parse error %v is not a *ValidationError", err)
			require.NotEmpty(t, verr.Errors)
			return
		}
		cfg.Normalize()
		_ = cfg.Validate()
		_ = cfg.Redact()
		for _, r := range cfg.Resources {
			_ = r.Weekly()
		}

		first, err := json.Marshal(cfg)
		require.NoError(t, err)
		again, err := Parse(first)
		require.NoError(t, err, "%s", first)
		second, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(first), string(second))
	})
}
