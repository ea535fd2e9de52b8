// Package wiretest helps the actor packages' wire tests prove that every message an actor
// accepts has a wire form: it reads the package's own source to list the message types
// its dispatch switches on.
package wiretest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
