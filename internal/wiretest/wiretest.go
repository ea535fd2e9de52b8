// Package wiretest helps the actor packages' wire tests prove that every message an actor
// accepts has a wire form: it reads the package's own source to list the message types
// its dispatch switches on, and checks that a wire sample sets every field.
package wiretest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// ParsePackage parses the non-test Go files of the current directory (a test's package),
// by base name.
func ParsePackage(t testing.TB) map[string]*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	return files
}

// SwitchedTypes lists the exported types that the type switches in the named methods of
// *Actor dispatch on (case *PlaceHold:).
func SwitchedTypes(files map[string]*ast.File, methods ...string) []string {
	var names []string
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !slices.Contains(methods, fn.Name.Name) {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || star.X.(*ast.Ident).Name != "Actor" {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if cc, ok := n.(*ast.CaseClause); ok {
					for _, e := range cc.List {
						if star, ok := e.(*ast.StarExpr); ok {
							if id, ok := star.X.(*ast.Ident); ok && ast.IsExported(id.Name) {
								names = append(names, id.Name)
							}
						}
					}
				}
				return true
			})
		}
	}
	return names
}

// RequireEveryFieldSet fails t unless every exported field of msg (a pointer to a
// struct), nested structs, slices and pointers included, holds a non-zero value: a wire
// sample with a zero field would round-trip even if its codec forgot that field.
func RequireEveryFieldSet(t testing.TB, msg any) {
	t.Helper()
	requireSet(t, reflect.ValueOf(msg).Elem(), fmt.Sprintf("%T", msg))
}

func requireSet(t testing.TB, v reflect.Value, path string) {
	t.Helper()
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		if v.Interface().(time.Time).IsZero() {
			t.Errorf("%s is the zero time", path)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				requireSet(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		for i := range v.Len() {
			requireSet(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case v.Kind() == reflect.Pointer && !v.IsNil():
		requireSet(t, v.Elem(), path)
	default: // an error (Err) counts as set when not nil
		if v.IsZero() {
			t.Errorf("%s is zero", path)
		}
	}
}

// Hop sends msg across the wire as Proto.Actor's remote layer does (its protobuf
// serializer, remote/proto_serializer.go: the bytes and the type's full name, the type
// found again by name in the global registry) and returns what the receiving node's
// fromWire makes of it.
func Hop(t testing.TB, msg any, toWire func(any) (proto.Message, error), fromWire func(proto.Message) (any, error)) any {
	t.Helper()
	w, err := toWire(msg)
	if err != nil {
		t.Fatalf("to wire: %v", err)
	}
	b, err := proto.Marshal(w)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(proto.MessageName(w))
	if err != nil {
		t.Fatalf("find %s: %v", proto.MessageName(w), err)
	}
	back := mt.New().Interface()
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	got, err := fromWire(back)
	if err != nil {
		t.Fatalf("from wire: %v", err)
	}
	return got
}
