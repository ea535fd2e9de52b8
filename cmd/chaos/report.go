package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// report is the suite's outcome: one section per fault plus the final checks.
type report struct {
	Title    string
	Preamble []string
	Sections []*section
}

// section is one fault: how it was injected, the numbers measured, the checks made.
type section struct {
	Name     string
	Injected string
	Numbers  []kv
	Checks   []check
}

type kv struct{ Key, Value string }

type check struct {
	Name   string
	OK     bool
	Detail string
}

func (s *section) num(key string, format string, args ...any) {
	s.Numbers = append(s.Numbers, kv{key, fmt.Sprintf(format, args...)})
}

func (s *section) check(name string, ok bool, format string, args ...any) {
	s.Checks = append(s.Checks, check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *report) add(name, injected string) *section {
	s := &section{Name: name, Injected: injected}
	r.Sections = append(r.Sections, s)
	return s
}

// Failed counts the violated checks.
func (r *report) Failed() int {
	n := 0
	for _, s := range r.Sections {
		for _, c := range s.Checks {
			if !c.OK {
				n++
			}
		}
	}
	return n
}

func (r *report) checks() int {
	n := 0
	for _, s := range r.Sections {
		n += len(s.Checks)
	}
	return n
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// Text writes the report for a terminal.
func (r *report) Text(w io.Writer) {
	fmt.Fprintf(w, "%s\n%s\n", r.Title, strings.Repeat("=", len(r.Title)))
	for _, p := range r.Preamble {
		fmt.Fprintln(w, p)
	}
	for _, s := range r.Sections {
		fmt.Fprintf(w, "\n%s\n%s\n", s.Name, strings.Repeat("-", len(s.Name)))
		if s.Injected != "" {
			fmt.Fprintf(w, "injected: %s\n", s.Injected)
		}
		width := 0
		for _, n := range s.Numbers {
			width = max(width, len(n.Key))
		}
		for _, n := range s.Numbers {
			fmt.Fprintf(w, "  %-*s  %s\n", width, n.Key, n.Value)
		}
		for _, c := range s.Checks {
			fmt.Fprintf(w, "  [%s] %s", verdict(c.OK), c.Name)
			if c.Detail != "" {
				fmt.Fprintf(w, ": %s", c.Detail)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n%d checks, %d failed: %s\n", r.checks(), r.Failed(), verdict(r.Failed() == 0))
}

// Markdown writes the same report as Markdown.
func (r *report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# %s\n\n", r.Title)
	for _, p := range r.Preamble {
		fmt.Fprintf(w, "%s  \n", mdEscape(p))
	}
	for _, s := range r.Sections {
		fmt.Fprintf(w, "\n## %s\n\n", s.Name)
		if s.Injected != "" {
			fmt.Fprintf(w, "Injected: %s\n\n", mdEscape(s.Injected))
		}
		if len(s.Numbers) > 0 {
			fmt.Fprintf(w, "| measure | value |\n|---|---|\n")
			for _, n := range s.Numbers {
				fmt.Fprintf(w, "| %s | %s |\n", mdCell(n.Key), mdCell(n.Value))
			}
			fmt.Fprintln(w)
		}
		if len(s.Checks) > 0 {
			fmt.Fprintf(w, "| check | result | detail |\n|---|---|---|\n")
			for _, c := range s.Checks {
				fmt.Fprintf(w, "| %s | **%s** | %s |\n", mdCell(c.Name), verdict(c.OK), mdCell(c.Detail))
			}
		}
	}
	fmt.Fprintf(w, "\n**%d checks, %d failed: %s**\n", r.checks(), r.Failed(), verdict(r.Failed() == 0))
}

func mdEscape(s string) string { return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s) }

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(mdEscape(s))
}

// formatCounts renders a status histogram in a stable order: "200=12 503=3".
func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// mib formats a byte count.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
