package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// invite creates a console user of a tenant through the admin API, or invites them again,
// and prints the one-time sign-in link: `make run` uses it for the demo tenant.
func invite(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("invite", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenantID := fs.String("tenant", "", "tenant id")
	email := fs.String("email", "", "the user's email")
	name := fs.String("name", "", "the user's name (default: the email's local part)")
	server := fs.String("server", "http://"+cfg.Addr, "engine base URL")
	if err := fs.Parse(args); err != nil {
		return usageError{"invite: " + err.Error()}
	}
	if *tenantID == "" || *email == "" {
		return usageError{"invite: --tenant and --email are required"}
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	body, _ := json.Marshal(map[string]string{"email": *email, "name": *name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*server, "/")+"/admin/v1/tenants/"+*tenantID+"/users", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("invite %s: server answered %s:\n%s", *email, resp.Status, describeProblem(out))
	}
	var res struct {
		InviteURL string `json:"invite_url"`
		ExpiresIn string `json:"invite_expires_in"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.InviteURL == "" {
		return fmt.Errorf("invite %s: the server's answer has no invite_url", *email)
	}
	fmt.Fprintf(stdout, "console: sign in as %s at %s (the link works once, for %s)\n", *email, res.InviteURL, res.ExpiresIn)
	return nil
}
