package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"ringback/tenant"
)

// apply validates every document of FILE locally, then PUTs each to the admin API. It stops
// at the first document the server refuses, printing the field errors.
func apply(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "tenant config file (YAML or JSON); - for standard input")
	server := fs.String("server", "http://"+cfg.Addr, "engine base URL")
	if err := fs.Parse(args); err != nil {
		return usageError{"apply: " + err.Error()}
	}
	if *file == "" {
		return usageError{"apply: -f FILE is required"}
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	docs, err := tenant.ParseAll(data)
	if err != nil {
		return fmt.Errorf("apply: %s is invalid:\n%s", *file, indentErrors(err))
	}
	// Every document is checked before any is sent, and every problem is reported, each
	// field path prefixed with its document's index.
	var problems []tenant.FieldError
	for i, c := range docs {
		c.Normalize()
		var ve *tenant.ValidationError
		if err := c.Validate(); errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("[%d].%s", i, fe.Field), Message: fe.Message})
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("apply: %s is invalid:\n%s", *file, indentErrors(&tenant.ValidationError{Errors: problems}))
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, c := range docs {
		body, _ := json.Marshal(c)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimRight(*server, "/")+"/admin/v1/tenants/"+c.ID, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("apply %s: %w", c.ID, err)
		}
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("apply %s: server answered %s:\n%s", c.ID, resp.Status, describeProblem(out))
		}
		var res tenant.ApplyResult
		_ = json.Unmarshal(out, &res)
		switch {
		case res.Created:
			fmt.Fprintf(stdout, "tenant %s created (version %d)\n", c.ID, res.Version)
		case res.Changed:
			fmt.Fprintf(stdout, "tenant %s updated (version %d)\n", c.ID, res.Version)
		default:
			fmt.Fprintf(stdout, "tenant %s unchanged (version %d)\n", c.ID, res.Version)
		}
	}
	return nil
}

func indentErrors(err error) string {
	if ve, ok := err.(*tenant.ValidationError); ok {
		var b strings.Builder
		for _, e := range ve.Errors {
			fmt.Fprintf(&b, "  %s: %s\n", e.Field, e.Message)
		}
		return strings.TrimRight(b.String(), "\n")
	}
	return "  " + err.Error()
}

// describeProblem renders a problem+json answer as lines for a terminal.
func describeProblem(body []byte) string {
	var p struct {
		Title  string              `json:"title"`
		Detail string              `json:"detail"`
		Errors []tenant.FieldError `json:"errors"`
	}
	if json.Unmarshal(body, &p) != nil {
		return "  " + strings.TrimSpace(string(body))
	}
	if len(p.Errors) > 0 {
		return indentErrors(&tenant.ValidationError{Errors: p.Errors})
	}
	return "  " + p.Title + ": " + p.Detail
}
