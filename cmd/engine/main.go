// Command engine is Ringback: `engine serve` runs the HTTP edge and the actors,
// `engine migrate` applies the schema, `engine apply -f FILE` configures tenants and
// `engine simulate` plays a carrier or a customer against a running engine.
//
// main only wires: it parses the configuration once, constructs the parts in a readable
// order, and shuts them down in reverse. Everything else lives in the packages it plugs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zone rules must not depend on the host's tz database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "engine:", err)
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "engine:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  engine [serve]                 migrate, then serve HTTP and run the actors
  engine migrate                 apply the database migrations and exit
  engine apply -f FILE [--server URL]
                                 apply tenant configs (YAML or JSON, ---separated)
  engine invite --tenant ID --email EMAIL [--name NAME] [--server URL]
                                 create a console user and print the sign-in link
  engine simulate missed-call --from E164 --to E164
  engine simulate sms --from E164 --to E164 --body TEXT
configuration comes from the environment; see README.md.
`

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrateOnly(ctx, cfg, log)
	case "apply":
		return apply(ctx, cfg, args, stdout)
	case "invite":
		return invite(ctx, cfg, args, stdout)
	case "simulate":
		return simulate(ctx, cfg, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
