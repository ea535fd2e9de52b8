package tenant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// MaxConfigSize is the largest input Parse and ParseAll accept: 1 MiB, far above any real
// tenant, and a bound on the work a hostile body can cause (about a second of parsing).
// HTTP handlers should cap request bodies at the same size.
const MaxConfigSize = 1 << 20

// Parse decodes one tenant configuration written in YAML or JSON (JSON is YAML). It does
// not normalise or validate; call Normalize and Validate next.
//
// Decoding is strict: unknown fields, duplicate keys, and a value of the wrong type are
// errors. Unlike sigs.k8s.io/yaml's own Unmarshal, a number or boolean is not turned
// into a string where a string is expected, because YAML 1.1 would quietly make
// `+15125550100` into "15125550100" and `yes` into "true". Field names match exactly
// (encoding/json alone would accept "Name" for "name").
//
// Every error is a *ValidationError whose field paths locate the problem
// ("policies.hold_ttl", "services[0].bogus"); a syntax error has an empty path and a line
// number in its message. Input with more than one document is refused: ParseAll reads
// several.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, tooLarge()
	}
	var (
		docs [][]byte
		errs errorList
	)
	for _, d := range splitDocuments(data) {
		j, err := d.toJSON()
		switch {
		case err != nil:
			errs.add("", "%v", err)
		case j != nil:
			docs = append(docs, j)
		}
		if len(docs) > 1 {
			return nil, &ValidationError{Errors: []FieldError{{Message: "found more than one document where one tenant configuration was expected"}}}
		}
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	if len(docs) == 0 {
		return nil, &ValidationError{Errors: []FieldError{{Message: "empty document: want a tenant configuration"}}}
	}
	cfg, fieldErrs := decodeConfig(docs[0])
	if len(fieldErrs) > 0 {
		return nil, &ValidationError{Errors: fieldErrs}
	}
	return cfg, nil
}

// ParseAll decodes every tenant configuration in data: YAML documents separated by
// "---" lines, or a single JSON object. Empty documents (only comments or blank lines)
// are skipped. Each document is decoded as by Parse, and the problems of all documents
// are reported together, their field paths prefixed with the document's index among the
// non-empty ones, which is also its index in the result: "[1].timezone". Like Parse it
// neither normalises nor validates.
func ParseAll(data []byte) ([]*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, tooLarge()
	}
	var (
		cfgs []*Config
		errs errorList
		n    int
	)
	for _, d := range splitDocuments(data) {
		j, err := d.toJSON()
		if err == nil && j == nil {
			continue
		}
		prefix := indexPath("", n)
		n++
		if err != nil {
			errs.add(prefix, "%v", err)
			continue
		}
		cfg, fieldErrs := decodeConfig(j)
		errs.addAll(prefix, fieldErrs)
		cfgs = append(cfgs, cfg)
	}
	if n == 0 {
		errs.add("", "no tenant configuration found")
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	return cfgs, nil
}

func tooLarge() error {
	return &ValidationError{Errors: []FieldError{{Message: fmt.Sprintf(
		"configuration is larger than %d bytes", MaxConfigSize)}}}
}

// document is one YAML document cut out of a multi-document input.
type document struct {
	firstLine int // line of the whole input on which the document's text begins (1-based)
	text      []byte
}

// splitDocuments cuts data at YAML document markers: a line that starts with "---" or
// "..." followed by a blank or the end of the line. The YAML spec forbids such a line
// inside any content (block scalars and quoted strings included), and JSON cannot have
// one, so cutting the text there is exact. Cutting the text ourselves lets each document
// go through the same decoder as Parse, which reads only one.
//
// Text after "---" on the marker line ("--- {id: x}") belongs to the next document; the
// marker itself is blanked out so columns in error messages stay right.
func splitDocuments(data []byte) []document {
	var (
		docs []document
		cur  bytes.Buffer
	)
	first := 1
	flush := func() {
		docs = append(docs, document{firstLine: first, text: bytes.Clone(cur.Bytes())})
		cur.Reset()
	}
	for lineNo := 1; len(data) > 0; lineNo++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		switch {
		case isDocumentMarker(line, "---"):
			flush()
			first = lineNo
			cur.WriteString("   ")
			cur.Write(line[3:])
		case isDocumentMarker(line, "..."):
			cur.WriteString("   ")
			cur.Write(line[3:])
			flush()
			first = lineNo + 1
		default:
			cur.Write(line)
		}
	}
	flush()
	return docs
}

func isDocumentMarker(line []byte, marker string) bool {
	if !bytes.HasPrefix(line, []byte(marker)) {
		return false
	}
	rest := line[len(marker):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}

// toJSON converts the document to JSON, refusing duplicate keys. It returns nil JSON and
// no error for an empty document. Line numbers in errors are those of the whole input.
func (d document) toJSON() ([]byte, error) {
	if isBlank(d.text) {
		return nil, nil
	}
	j, err := yaml.YAMLToJSONStrict(d.text)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:")
		msg = strings.Join(strings.Fields(msg), " ")
		return nil, fmt.Errorf("invalid YAML or JSON: %s", shiftLineNumbers(msg, d.firstLine-1))
	}
	if string(j) == "null" {
		return nil, nil
	}
	return j, nil
}

// isBlank reports whether text holds nothing but blank lines and comments, which saves
// running the YAML parser on the empty documents around "---" markers.
func isBlank(text []byte) bool {
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// shiftLineNumbers adds offset to every "line N" in a go-yaml error message, turning a
// line of one document into a line of the whole input.
func shiftLineNumbers(msg string, offset int) string {
	if offset == 0 {
		return msg
	}
	const word = "line "
	var b strings.Builder
	for {
		i := strings.Index(msg, word)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i+len(word)])
		msg = msg[i+len(word):]
		n := 0
		for n < len(msg) && msg[n] >= '0' && msg[n] <= '9' {
			n++
		}
		if v, err := strconv.Atoi(msg[:n]); err == nil {
			b.WriteString(strconv.Itoa(v + offset))
			msg = msg[n:]
		}
	}
}

// decodeConfig decodes one document's JSON. The shape check runs first because it
// reports every misplaced field with its full path (encoding/json stops at the first
// and names neither list indices nor the field a custom unmarshaler failed on); once
// the shape is right, encoding/json does the decoding.
func decodeConfig(data []byte) (*Config, []FieldError) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, []FieldError{{Message: fmt.Sprintf("invalid JSON: %v", err)}}
	}
	var errs errorList
	checkShape(tree, reflect.TypeFor[Config](), "", &errs)
	if len(errs) > 0 {
		return nil, errs
	}

	// Policies left out take their defaults here, so that an explicit zero (min_notice: 0,
	// auto_reply_cooldown: 0) stays zero rather than being taken for "left out".
	cfg := Config{Policies: DefaultPolicies}
	// A list the document gives is decoded into the default's backing array: give it its
	// own, or parsing would rewrite DefaultPolicies.
	cfg.Policies.Reminders = slices.Clone(DefaultPolicies.Reminders)
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		// Only reached if checkShape misses a case; keep the best path encoding/json has.
		var typeErr *json.UnmarshalTypeError
		field := ""
		if errors.As(err, &typeErr) {
			field = typeErr.Field
		}
		return nil, []FieldError{{Field: field, Message: err.Error()}}
	}
	return &cfg, nil
}

// checkShape compares a decoded JSON value with the Go type it is to be decoded into and
// reports what does not fit: unknown fields, wrong JSON types, invalid durations. It
// follows the json tags, so it cannot drift from the structs. A null fits anything and
// leaves the zero value, as in encoding/json.
func checkShape(v any, t reflect.Type, path string, errs *errorList) {
	if v == nil {
		return
	}
	if t == reflect.TypeFor[Duration]() {
		s, ok := v.(string)
		if !ok {
			errs.add(path, `want a duration such as "90m" or "14d", got %s`, describeJSON(v))
			return
		}
		if _, err := ParseDuration(s); err != nil {
			errs.add(path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(v, t.Elem(), path, errs)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "want an object, got %s", describeJSON(v))
			return
		}
		fields := jsonFields(t)
		for _, f := range fields {
			if fv, ok := obj[f.name]; ok {
				checkShape(fv, f.typ, joinPath(path, f.name), errs)
			}
		}
		for _, k := range sortedKeys(obj) {
			if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.name == k }) {
				errs.add(joinPath(path, k), "unknown field%s", suggestField(k, fields))
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "want an object, got %s", describeJSON(v))
			return
		}
		for _, k := range sortedKeys(obj) {
			checkShape(obj[k], t.Elem(), joinPath(path, k), errs)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			errs.add(path, "want a list, got %s", describeJSON(v))
			return
		}
		for i, e := range list {
			checkShape(e, t.Elem(), indexPath(path, i), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			errs.add(path, "want a string, got %s (quote it)", describeJSON(v))
		}
	case reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			errs.add(path, "want a number, got %s", describeJSON(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			errs.add(path, "want a whole number, got %s", describeJSON(v))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 0); err != nil {
			errs.add(path, "want a whole number, got %s", n)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.add(path, "want true or false, got %s", describeJSON(v))
		}
	default:
		// A field of a kind added to Config without teaching checkShape about it: let
		// encoding/json decide.
	}
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists a struct's fields by their JSON names, in declaration order.
func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields = append(fields, jsonField{name: name, typ: f.Type})
	}
	return fields
}

// suggestField names the field an unknown key probably meant, when they differ only in case.
func suggestField(key string, fields []jsonField) string {
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return fmt.Sprintf(" (did you mean %q?)", f.name)
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func describeJSON(v any) string {
	switch v := v.(type) {
	case string:
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
