package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ringback/comms/twilio"
	"ringback/tenant"
)

// simulate plays the carrier (a missed call) or a customer (an SMS) against a running
// engine: it posts a correctly signed Twilio webhook to ENGINE_ADDR, signed over
// PUBLIC_URL plus the path with the Twilio auth token (the token "sandbox" in sandbox
// mode), then prints the engine's replies to that phone as they arrive (this needs
// ADMIN_TOKEN, to read them from the admin API).
func simulate(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"simulate: want missed-call or sms"}
	}
	what, args := args[0], args[1:]
	fs := flag.NewFlagSet("simulate "+what, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "the customer's number (E.164)")
	to := fs.String("to", "", "the business number (E.164)")
	body := fs.String("body", "", "the SMS text (sms only)")
	server := fs.String("server", "http://"+cfg.Addr, "engine base URL")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for replies")
	if err := fs.Parse(args); err != nil {
		return usageError{"simulate: " + err.Error()}
	}
	for name, v := range map[string]string{"--from": *from, "--to": *to} {
		if msg := tenant.PhoneProblem(v); msg != "" {
			return usageError{fmt.Sprintf("simulate: %s %s", name, msg)}
		}
	}
	var path string
	form := url.Values{"AccountSid": {cfg.TwilioAccountSID}, "From": {*from}, "To": {*to}, "ApiVersion": {"2010-04-01"}}
	switch what {
	case "missed-call":
		path = "/webhooks/twilio/voice"
		form.Set("CallSid", "CA"+randomHex(16))
		form.Set("CallStatus", "no-answer")
		form.Set("Direction", "inbound")
	case "sms":
		if *body == "" {
			return usageError{"simulate sms: --body is required"}
		}
		path = "/webhooks/twilio/sms"
		form.Set("MessageSid", "SM"+randomHex(16))
		form.Set("Body", *body)
		form.Set("NumMedia", "0")
	default:
		return usageError{fmt.Sprintf("simulate: unknown %q: want missed-call or sms", what)}
	}
	if form.Get("AccountSid") == "" {
		form.Set("AccountSid", "AC"+strings.Repeat("0", 32))
	}
	started := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*server, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(cfg.webhookToken(), cfg.PublicURL+path, form))
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulate: the engine answered %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	fmt.Fprintf(stdout, "%s → %s: accepted (%s)\n", *from, *to, what)
	if cfg.AdminToken == "" {
		fmt.Fprintln(stdout, "(set ADMIN_TOKEN to see the engine's replies here)")
		return nil
	}
	inbound := ""
	if what == "sms" {
		inbound = *body
	}
	return printReplies(ctx, client, cfg, *server, *from, *to, started, *wait, inbound, stdout)
}

// printReplies polls the admin API for messages the engine sent to phone since `since`
// and prints each once. It returns as soon as the step that answered the webhook is
// committed: for an SMS, when the inbound message (inbound, stored in the same
// transaction as the replies) is there; for a missed call, at the first reply. With
// nothing committed it gives up after wait (a suppressed auto-reply writes no message).
func printReplies(ctx context.Context, client *http.Client, cfg Config, server, phone, endpoint string, since time.Time, wait time.Duration, inbound string, stdout io.Writer) error {
	tenantID, err := tenantOf(ctx, client, cfg, server, endpoint)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/admin/v1/tenants/"+tenantID+"/conversations?phone="+url.QueryEscape(phone), nil)
		req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			Conversations []struct {
				Endpoint string `json:"endpoint"`
				Messages []struct {
					Direction string    `json:"direction"`
					Body      string    `json:"body"`
					Status    string    `json:"status"`
					At        time.Time `json:"at"`
					Kind      string    `json:"kind"`
					To        string    `json:"to"`
				} `json:"messages"`
			} `json:"conversations"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("simulate: reading replies: %w", err)
		}
		committed := false
		for _, c := range out.Conversations {
			if c.Endpoint != endpoint {
				continue
			}
			for _, m := range c.Messages {
				if m.At.Before(since.Add(-time.Second)) {
					continue
				}
				if m.Direction == "in" {
					committed = committed || inbound != "" && m.Body == inbound
					continue
				}
				key := m.At.String() + m.Body
				if seen[key] {
					continue
				}
				seen[key] = true
				committed = committed || inbound == ""
				to := phone
				if m.To != "" {
					to = m.To + " (the business's " + m.Kind + ")"
				}
				fmt.Fprintf(stdout, "%s ← %s [%s]:\n%s\n\n", to, endpoint, m.Status, m.Body)
			}
		}
		if committed {
			if len(seen) == 0 {
				fmt.Fprintln(stdout, "(no reply: the engine kept the message without answering)")
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	if len(seen) == 0 {
		fmt.Fprintln(stdout, "(no reply: the engine may have suppressed it; see its log)")
	}
	return nil
}

// tenantOf finds which tenant owns a business number by asking the engine.
func tenantOf(ctx context.Context, client *http.Client, cfg Config, server, number string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/admin/v1/endpoints/"+url.PathEscape(number), nil)
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		TenantID string `json:"tenant_id"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return "", errors.New("simulate: the engine does not know the business number " + number)
	}
	return out.TenantID, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
