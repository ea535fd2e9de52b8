// Package persistence holds Ringback's Postgres stores (pgx/v5), one file per schema,
// and the embedded, numbered migrations that create them. Stores return domain types of
// the packages that own them; SQL never crosses from one schema's store into the other's.
package persistence

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the embedded migration files, numbered 001_, 002_, ….
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}

// versionTable is where tern records the applied migration number.
const versionTable = "public.ringback_schema_version"

// Migrate applies every embedded migration not yet applied. tern takes an advisory lock,
// so engines starting together migrate once.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigratePool runs Migrate on a connection borrowed from pool.
func MigratePool(ctx context.Context, pool *pgxpool.Pool) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer c.Release()
	return Migrate(ctx, c.Conn())
}

// PoolConfig parses url and applies the engine's pool settings.
func PoolConfig(url string, maxConns int32) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	return cfg, nil
}

// Open connects a pool and checks the server answers.
func Open(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return pool, nil
}

// IsCode reports whether err is a Postgres error with one of the given SQLSTATEs.
func IsCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// retryable reports whether a transaction failed only because of concurrency and may be
// run again as is.
func retryable(err error) bool {
	return IsCode(err, pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected)
}

// inTx runs fn in a transaction and commits it, retrying a few times when Postgres reports a
// serialization failure or deadlock.
func inTx(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginTxFunc(ctx, pool, opts, fn)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// SweepLock is the advisory lock the engines of a cluster take for their periodic sweeps,
// so that one engine at a time runs them.
const SweepLock int64 = 0x52696e6753776570 // "RingSwep"

// TryLocked runs fn while holding the session advisory lock key, if no other session
// holds it, and reports whether it ran. The lock lives on one pooled connection and is
// released when fn returns (or with the connection if the process dies).
func TryLocked(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(ctx context.Context) error) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_catalog.pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		return false, err
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_catalog.pg_advisory_unlock($1)`, key); err != nil {
			_ = conn.Hijack().Close(context.Background()) // never pool a connection still holding it
		}
	}()
	return true, fn(ctx)
}
