package tenant

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// FuzzValidConfigIsStorable checks that a configuration Validate accepts can be stored:
// every string in it, map keys included, is valid UTF-8 without U+0000, which Postgres
// text and jsonb refuse (secrets excepted: they are sealed and stored as bytes). A config that passes validation and then fails in the database is
// a 500 on the admin API instead of a 422 naming the field.
func FuzzValidConfigIsStorable(f *testing.F) {
	f.Add([]byte(contractExample))
	for _, name := range []string{"acme.yaml", "acme.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(data)
	}
	base := string(readFuzzSeed(f, "acme.yaml"))
	for _, s := range []string{
		strings.Replace(base, "name: Acme Plumbing", `name: "Acme\0Plumbing"`, 1),
		strings.Replace(base, "Reply with a number", `Reply\0with a number`, 1),
		`{"id":"ab","name":"A","timezone":"UTC","templates":{"ack":"hi \u0000"}}`,
		`{"id":"ab","name":"A","timezone":"UTC","services":[{"id":"s","name":"S","duration":"1h","price":{"base":1,"currency":"USD"}}],` +
			`"resources":[{"id":"r","name":"R","services":["s"],"calendar":{"connection":"g","calendar_id":"x\u0000"}}],` +
			`"connections":[{"id":"g","provider":"google","credentials":{"refresh_token":"t"}}]}`,
		`{"id":"ab","name":"A","timezone":"UTC","templates":{"help":"'); DROP TABLE fulfillment.tenants; --"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		cfg.Normalize()
		if cfg.Validate() != nil {
			return
		}
		walkStrings(reflect.ValueOf(cfg), "config", func(path, s string) {
			if strings.HasSuffix(path, ".PBXSecret") || strings.HasSuffix(path, ".Credentials{}") {
				return // secrets are sealed and stored as bytes
			}
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("Validate accepted %s = %q, which Postgres cannot store", path, s)
			}
		})
	})
}

func readFuzzSeed(f *testing.F, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(f, err)
	return data
}

// walkStrings calls fn with every string reachable from v (struct fields, slice
// elements, map keys and values) and a path naming it.
func walkStrings(v reflect.Value, path string, fn func(path, s string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, fn)
		}
	case reflect.String:
		fn(path, v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), path+"[]", fn)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walkStrings(it.Key(), path+"{key}", fn)
			walkStrings(it.Value(), path+"{}", fn)
		}
	}
}

// FuzzPhoneProblem checks that every number PhoneProblem accepts is E.164 written with
// ASCII digits only, and is the canonical E.164 form libphonenumber prints for it, so two
// spellings of one number can never both be accepted (endpoints are unique by number and
// conversations are keyed by it).
func FuzzPhoneProblem(f *testing.F) {
	for _, s := range []string{
		"+15125550100", "+1512555", "+1512555010x", "0015125550100", "+1 512 555 0100",
		"+15125550100;ext=12", "+15125550100x12", "+1234567890123456", "+１５１２５５５０１００",
		"+١٥١٢٥٥٥٠١٠٠", "", "+", "+0", "+4930123456", "+390612345678", "+15125550100\x00",
		"\xff", "+1-512-555-0100", "+(512)5550100",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, number string) {
		if PhoneProblem(number) != "" {
			return
		}
		digits, ok := strings.CutPrefix(number, "+")
		require.True(t, ok, "%q accepted without +", number)
		require.True(t, len(digits) >= 8 && len(digits) <= 15, "%q accepted with %d digits", number, len(digits))
		for i := range len(digits) {
			require.True(t, digits[i] >= '0' && digits[i] <= '9', "%q accepted with a non-ASCII digit", number)
		}
		n, err := phonenumbers.Parse(number, "")
		require.NoError(t, err)
		require.Equal(t, number, phonenumbers.Format(n, phonenumbers.E164), "accepted a non-canonical spelling")
	})
}

// FuzzParseDuration checks that ParseDuration never panics, never yields a negative
// duration, and that what it accepts prints (String) as text that parses back to the same
// duration: configs are stored as their JSON and read again.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90m", "2h30m", "14d", "0", "-1m", "1.5h", "106751d", "106752d", " 1d ", "1d1h", "d", "9223372036854775807ns", "1e3s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, int64(d), int64(0), "%q", s)
		again, err := ParseDuration(d.String())
		require.NoError(t, err, "%q printed as %q", s, d.String())
		require.Equal(t, d, again, "%q printed as %q", s, d.String())
	})
}

// FuzzParseWeekly checks that any opening hours compile without panicking into a Weekly
// that keeps its invariant (ranges in bounds, sorted, not overlapping), whatever errors
// are reported, and that clean hours report none.
func FuzzParseWeekly(f *testing.F) {
	f.Add("mon", "08:00-12:00", "13:00-17:00")
	f.Add("sun", "22:00-02:00", "01:00-03:00")
	f.Add("sat", "00:00-24:00", "24:00-01:00")
	f.Add("fri", " 08:00 - 09:00 ", "0800-0900")
	f.Add("tue", "23:59-00:00", "12:00-12:00")
	f.Fuzz(func(t *testing.T, day, first, second string) {
		hours := map[string][]string{day: {first, second}, "sun": {first}}
		w, errs := ParseWeekly(hours)
		for d, ranges := range w {
			for i, r := range ranges {
				require.True(t, r.Start >= 0 && r.Start < minutesPerDay && r.Start < r.End && r.End <= 2*minutesPerDay,
					"day %d range %+v out of bounds from %q", d, r, hours)
				if i > 0 {
					require.LessOrEqual(t, ranges[i-1].End, r.Start, "day %d ranges overlap or are unsorted from %q", d, hours)
				}
			}
		}
		for _, e := range errs {
			require.True(t, strings.HasPrefix(e.Field, "hours"), "error %+v has no hours path", e)
		}
	})
}
