package analytics_test

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/analytics"
)

// TestEveryKindAndFieldIsDocumented keeps docs/EVENTS.md in step with the code: each kind
// has a section (### `kind`) naming every JSON field of its data, nested ones included,
// and the doc describes no kind the code does not have.
func TestEveryKindAndFieldIsDocumented(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../docs/EVENTS.md")
	require.NoError(t, err)
	doc := string(raw)
	heading := regexp.MustCompile("(?m)^### `([a-z_]+\\.[a-z_]+)`")
	documented := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(doc, -1) {
		documented[m[1]] = true
		require.True(t, analytics.Kind(m[1]).Valid(), "docs/EVENTS.md documents unknown kind %s", m[1])
	}
	for kind, data := range analytics.Schema {
		start := strings.Index(doc, "### `"+string(kind)+"`")
		require.GreaterOrEqual(t, start, 0, "docs/EVENTS.md has no section for %s", kind)
		section := doc[start+4:]
		if end := strings.Index(section, "\n#"); end >= 0 {
			section = section[:end]
		}
		for _, f := range jsonFields(reflect.TypeOf(data)) {
			require.Contains(t, section, "`"+f+"`", "the section of %s does not describe data field %s", kind, f)
		}
	}
	require.Len(t, documented, len(analytics.Schema))
}

// jsonFields lists the JSON names of a struct's fields, and of structs in its slices.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type.Elem())...)
		}
	}
	return out
}

func TestEncodeDataKeepsOnlyJSONObjects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   any
		want string // "" for an error
	}{
		{"nil", nil, `{}`},
		{"null", json.RawMessage(`null`), `{}`},
		{"struct", analytics.HoldEndedData{ResourceID: "r"}, `{"resource_id":"r"}`},
		{"raw object", json.RawMessage(` {"a":1} `), `{"a":1}`},
		{"bytes", []byte(`{"b":[1]}`), `{"b":[1]}`},
		{"map", map[string]int{"c": 2}, `{"c":2}`},
		{"array", []int{1}, ""},
		{"string", "x", ""},
		{"broken", []byte(`{"a":`), ""},
		{"unmarshalable", make(chan int), ""},
	}
	for _, c := range cases {
		got, err := analytics.EncodeData(c.in)
		if c.want == "" {
			require.ErrorIs(t, err, analytics.ErrInvalid, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, string(got), c.name)
	}
}

func TestCheckRefusesIncompleteEvents(t *testing.T) {
	t.Parallel()
	ok := analytics.Event{TenantID: "acme", Kind: analytics.AppointmentBooked, Subject: "a1"}
	require.NoError(t, ok.Check())
	for _, e := range []analytics.Event{
		{Kind: analytics.AppointmentBooked, Subject: "a1"},
		{TenantID: "acme", Kind: "appointment.lost", Subject: "a1"},
		{TenantID: "acme", Kind: analytics.AppointmentBooked},
	} {
		require.ErrorIs(t, e.Check(), analytics.ErrInvalid, "%+v", e)
	}
}
