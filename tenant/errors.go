package tenant

import (
	"fmt"
	"strings"
)

// FieldError is one problem with a configuration, located by a field path in the
// config's JSON/YAML names: "id", "endpoints[0].number", "resources[0].hours.mon[1]",
// "policies.hold_ttl". An empty Field means the problem concerns the input as a whole
// (a syntax error, an empty document). ParseAll prefixes paths with the document index:
// "[1].timezone".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// ValidationError is every problem found in a configuration, in a stable order that
// follows the order of Config's fields. Parse, ParseAll and Validate return it; callers
// detect it with errors.As and turn it into a 422 with the field paths.
type ValidationError struct {
	Errors []FieldError
}

// Error lists the problems as "field: message; field: message".
func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid tenant configuration"
	}
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return strings.Join(parts, "; ")
}

// errorList collects FieldErrors while a config is checked, so that every problem is
// reported at once rather than only the first.
type errorList []FieldError

func (l *errorList) add(field, format string, args ...any) {
	*l = append(*l, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// addAll appends errs with their paths under prefix ("resources[0]" + "hours.mon[1]").
func (l *errorList) addAll(prefix string, errs []FieldError) {
	for _, fe := range errs {
		*l = append(*l, FieldError{Field: joinPath(prefix, fe.Field), Message: fe.Message})
	}
}

// err is nil when nothing was collected, so that a clean config yields a nil error
// rather than a non-nil interface holding an empty *ValidationError.
func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return &ValidationError{Errors: l}
}

// joinPath appends a field name to a path: joinPath("", "id") is "id",
// joinPath("services[0]", "price") is "services[0].price". A child that is an index
// ("[2]") attaches without a dot.
func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case strings.HasPrefix(child, "["):
		return parent + child
	default:
		return parent + "." + child
	}
}

// indexPath is "name[i]".
func indexPath(name string, i int) string {
	return fmt.Sprintf("%s[%d]", name, i)
}
