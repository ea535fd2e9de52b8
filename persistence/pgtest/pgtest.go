// Package pgtest gives each test a fresh, migrated Postgres database cloned from a
// template (pgtestdb), on the server named by TEST_DATABASE_URL (`make test` starts a
// project-local one and sets it). Tests talk to a real Postgres, never a mock.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"
	"github.com/stretchr/testify/require"

	"ringback/persistence"
)

// URL returns a fresh database's URL; the database is dropped when the test passes.
func URL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run `make test`, which starts a project-local Postgres, or point it at a server where you may create databases")
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, "TEST_DATABASE_URL")
	pw, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      u.Hostname(),
		Port:                      u.Port(),
		User:                      u.User.Username(),
		Password:                  pw,
		Database:                  u.Path[1:],
		Options:                   "sslmode=disable",
		ForceTerminateConnections: true,
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// Pool returns a pool on a fresh, migrated database, closed when the test ends. The
// search_path is empty, so SQL that forgets its schema fails here rather than in production.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = ""
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// migrator runs the embedded migrations on pgtestdb's template database.
type migrator struct{}

// Hash changes whenever a migration file does, so a new template is built.
func (migrator) Hash() (string, error) {
	h := sha256.New()
	names, err := fs.Glob(persistence.Migrations(), "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(persistence.Migrations(), n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	conn, err := pgx.Connect(ctx, conf.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return persistence.Migrate(ctx, conn)
}
