package main

import (
	"log/slog"

	"ringback/fakes/googlefake"
	"ringback/fakes/jobberfake"
	"ringback/fakes/oauthfake"
)

// Sandbox vendor apps: used when a vendor's OAuth app is not configured, so connections
// in a tenant config work on a laptop (and in the load harness) without the network.
const (
	sandboxClientID     = "sandbox"
	sandboxClientSecret = "sandbox"
)

// startSandboxVendors points every vendor whose OAuth app is not configured at an
// in-process fake on loopback (the same fakes the tests use): calendar events and Jobber
// visits land there, any refresh token is accepted, and Jobber webhooks are verified
// with the secret "sandbox". It returns a function that stops them.
func startSandboxVendors(cfg *Config, log *slog.Logger) (stop func()) {
	var stops []func()
	if cfg.GoogleClientID == "" || cfg.GoogleClientSecret == "" {
		auth := oauthfake.New(sandboxClientID, sandboxClientSecret, false)
		auth.AcceptAnyRefreshToken()
		g := googlefake.New(auth)
		cfg.GoogleCalendarURL, cfg.GoogleTokenURL = g.Endpoint(), g.TokenURL()
		cfg.GoogleClientID, cfg.GoogleClientSecret = sandboxClientID, sandboxClientSecret
		stops = append(stops, g.Close)
		log.Info("google sandbox: calendar connections use an in-process fake Google Calendar", "url", g.URL())
	}
	if cfg.JobberClientID == "" || cfg.JobberClientSecret == "" {
		j := jobberfake.New(sandboxClientID, sandboxClientSecret)
		j.OAuth().AcceptAnyRefreshToken()
		cfg.JobberAPIURL, cfg.JobberTokenURL = j.URL()+"/api/graphql", j.URL()+"/api/oauth/token"
		cfg.JobberClientID, cfg.JobberClientSecret = sandboxClientID, sandboxClientSecret
		stops = append(stops, j.Close)
		log.Info("jobber sandbox: jobber connections use an in-process fake Jobber", "url", j.URL())
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
