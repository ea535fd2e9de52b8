package persistence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/secrets"
	"ringback/tenant"
)

// applyLock serialises config applies across engines: applies are rare, and one lock makes
// "E.164 numbers are unique across tenants" and "the same file twice is a no-op" obvious.
const applyLock = 7215001

// Tenants stores applied tenant configs. It is the one store that writes both schemas:
// an apply projects one config into the fulfillment side (services, resources, policies,
// connections) and the conversation side (business numbers, messaging settings) in one
// transaction, so nothing is ever half-applied.
type Tenants struct {
	pool *pgxpool.Pool
	box  *secrets.Box
	// keyHashes caches booking key hashes by tenant (every booking API request checks
	// one); an apply through this store drops its tenant's entry.
	keyHashes sync.Map
}

// NewTenants returns the tenant store; box seals credentials and PBX secrets.
func NewTenants(pool *pgxpool.Pool, box *secrets.Box) *Tenants {
	return &Tenants{pool: pool, box: box}
}

// stored is what the store keeps of a tenant between applies.
type stored struct {
	version    int64
	hash       []byte
	bookingKey []byte
	resources  []string                     // active resource ids
	creds      map[string]map[string]string // connection id → plaintext credentials (as rotated since)
	applied    map[string][]byte            // connection id → hash of the credentials last applied
	pbx        map[string]string            // endpoint number → plaintext secret
}

// Apply stores cfg, which must already be normalised and valid on its own. Rules that need
// the database (numbers owned by another tenant, resources with future claims, secrets to
// keep) are checked here and reported as *tenant.ValidationError; on any error nothing is
// written. Credentials and booking_api_key left out or sent back as tenant.Redacted keep
// their stored values.
func (s *Tenants) Apply(ctx context.Context, cfg *tenant.Config) (tenant.ApplyResult, error) {
	var res tenant.ApplyResult
	err := inTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, applyLock); err != nil {
			return err
		}
		old, err := s.load(ctx, tx, cfg.ID)
		if err != nil {
			return err
		}
		full, keyHash, problems := s.resolveSecrets(cfg, old)
		more, err := checkAgainstDatabase(ctx, tx, cfg, old)
		if err != nil {
			return err
		}
		if problems = append(problems, more...); len(problems) > 0 {
			return &tenant.ValidationError{Errors: problems}
		}
		hash := configHash(full, keyHash)
		if old != nil && slices.Equal(old.hash, hash) {
			res = tenant.ApplyResult{Version: old.version}
			return nil
		}
		res.Created, res.Changed = old == nil, true
		if res.Version, err = s.write(ctx, tx, full, old, keyHash, hash); err != nil {
			return err
		}
		// Every engine of a cluster hears of it when the apply commits (ListenConfig).
		_, err = tx.Exec(ctx, `SELECT pg_catalog.pg_notify($1, $2)`, configChannel, cfg.ID)
		return err
	})
	if res.Changed {
		s.keyHashes.Delete(cfg.ID)
	}
	return res, err
}

// Forget drops what this process caches of tenant id (its booking key's hash): another
// engine applied a new config.
func (s *Tenants) Forget(id string) {
	if id == "" {
		s.keyHashes.Clear()
		return
	}
	s.keyHashes.Delete(id)
}

// configChannel is the Postgres notification channel of applied tenant configs.
const configChannel = "ringback_config"

// ListenConfig calls changed with the id of every tenant config applied from now on, by
// any engine, until ctx ends, and with "" whenever it may have missed some (at start and
// after its connection dropped): then everything cached is to be read again.
func ListenConfig(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, changed func(tenantID string)) {
	for wait := time.Second; ctx.Err() == nil; {
		err := listenConfig(ctx, pool, changed)
		if ctx.Err() != nil {
			return
		}
		log.Warn("config notifications: connection lost; listening again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func listenConfig(ctx context.Context, pool *pgxpool.Pool, changed func(string)) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN `+configChannel); err != nil {
		return err
	}
	changed("") // whatever was applied while nobody listened
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			// The connection may be mid-LISTEN or broken: never return it to the pool.
			_ = conn.Hijack().Close(context.Background())
			return err
		}
		changed(n.Payload)
	}
}

// load reads what is stored of tenant id, with secrets opened; nil when it does not exist.
func (s *Tenants) load(ctx context.Context, tx pgx.Tx, id string) (*stored, error) {
	old := &stored{creds: map[string]map[string]string{}, applied: map[string][]byte{}, pbx: map[string]string{}}
	err := tx.QueryRow(ctx, `SELECT version, config_hash, booking_key_hash FROM fulfillment.tenants WHERE id = $1`, id).
		Scan(&old.version, &old.hash, &old.bookingKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load tenant: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id FROM fulfillment.resources WHERE tenant_id = $1 AND active`, id)
	if err != nil {
		return nil, err
	}
	if old.resources, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT id, credentials, applied_hash FROM fulfillment.connections WHERE tenant_id = $1`, id)
	if err != nil {
		return nil, err
	}
	type conn struct {
		ID      string
		Sealed  []byte
		Applied []byte
	}
	conns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[conn])
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		old.applied[c.ID] = c.Applied
		if c.Sealed == nil {
			continue
		}
		plain, err := s.box.Open(c.Sealed, connectionContext(id, c.ID))
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", c.ID, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(plain, &m); err != nil {
			return nil, fmt.Errorf("connection %s credentials: %w", c.ID, err)
		}
		old.creds[c.ID] = m
	}
	rows, err = tx.Query(ctx, `SELECT number, pbx_secret FROM conversation.endpoints WHERE tenant_id = $1 AND pbx_secret IS NOT NULL`, id)
	if err != nil {
		return nil, err
	}
	type pbx struct {
		Number string
		Sealed []byte
	}
	secretsByNumber, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pbx])
	if err != nil {
		return nil, err
	}
	for _, p := range secretsByNumber {
		plain, err := s.box.Open(p.Sealed, endpointContext(p.Number))
		if err != nil {
			return nil, fmt.Errorf("endpoint %s pbx_secret: %w", p.Number, err)
		}
		old.pbx[p.Number] = string(plain)
	}
	return old, nil
}

// resolveSecrets returns a copy of cfg in which every kept secret (left out, or sent back
// redacted) is replaced by its stored plaintext, and the booking key hash to store.
func (s *Tenants) resolveSecrets(cfg *tenant.Config, old *stored) (*tenant.Config, []byte, []tenant.FieldError) {
	var problems []tenant.FieldError
	full := *cfg
	full.Connections = make([]tenant.Connection, len(cfg.Connections))
	full.Endpoints = slices.Clone(cfg.Endpoints)

	var keyHash []byte
	switch cfg.BookingAPIKey {
	case "", tenant.Redacted:
		if old != nil {
			keyHash = old.bookingKey
		}
		if keyHash == nil && cfg.BookingAPIKey == tenant.Redacted {
			problems = append(problems, tenant.FieldError{Field: "booking_api_key", Message: "is redacted but no key is stored to keep; send the key"})
		}
	default:
		keyHash = secrets.HashKey(cfg.BookingAPIKey)
	}
	full.BookingAPIKey = ""

	for i, c := range cfg.Connections {
		kept := map[string]string{}
		if old != nil {
			kept = old.creds[c.ID]
		}
		creds := map[string]string{}
		for k, v := range c.Credentials {
			if v == tenant.Redacted {
				stored, ok := kept[k]
				if !ok {
					problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("connections[%d].credentials.%s", i, k), Message: "is redacted but nothing is stored to keep; send the value"})
					continue
				}
				v = stored
			}
			creds[k] = v
		}
		if len(c.Credentials) == 0 {
			maps.Copy(creds, kept)
		}
		if len(creds) > 0 && !s.box.HasKey() {
			problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("connections[%d].credentials", i), Message: secrets.ErrNoKey.Error()})
		}
		c.Credentials = creds
		full.Connections[i] = c
	}
	for i, e := range full.Endpoints {
		// pbx_secret is optional: left out, the endpoint has none; redacted, it keeps its own.
		if e.PBXSecret == tenant.Redacted {
			stored, ok := "", false
			if old != nil {
				stored, ok = old.pbx[e.Number]
			}
			if !ok {
				problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("endpoints[%d].pbx_secret", i), Message: "is redacted but no secret is stored to keep; send the secret"})
				continue
			}
			full.Endpoints[i].PBXSecret = stored
		}
		if full.Endpoints[i].PBXSecret != "" && !s.box.HasKey() {
			problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("endpoints[%d].pbx_secret", i), Message: secrets.ErrNoKey.Error()})
		}
	}
	return &full, keyHash, problems
}

// checkAgainstDatabase reports the rules only the database can answer.
func checkAgainstDatabase(ctx context.Context, tx pgx.Tx, cfg *tenant.Config, old *stored) ([]tenant.FieldError, error) {
	var problems []tenant.FieldError
	numbers := make([]string, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		numbers[i] = e.Number
	}
	rows, err := tx.Query(ctx, `SELECT number, tenant_id FROM conversation.endpoints WHERE number = ANY($1) AND tenant_id <> $2`, numbers, cfg.ID)
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		owners[n] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, n := range numbers {
		if _, taken := owners[n]; taken {
			problems = append(problems, tenant.FieldError{Field: fmt.Sprintf("endpoints[%d].number", i), Message: "is already used by another tenant"})
		}
	}

	if old == nil {
		return problems, nil
	}
	var removed []string
	for _, id := range old.resources {
		if _, ok := cfg.Resource(id); !ok {
			removed = append(removed, id)
		}
	}
	if len(removed) == 0 {
		return problems, nil
	}
	rows, err = tx.Query(ctx, `
		SELECT resource_id, count(*) FROM fulfillment.claims
		WHERE tenant_id = $1 AND resource_id = ANY($2) AND ends_at > now()
		  AND (status = 'booked' OR (status = 'held' AND expires_at > now()))
		GROUP BY resource_id ORDER BY resource_id`, cfg.ID, removed)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		problems = append(problems, tenant.FieldError{Field: "resources", Message: fmt.Sprintf("resource %q cannot be removed: it has %d future appointment(s) or live hold(s); cancel or move them first", id, n)})
	}
	return problems, rows.Err()
}

// configHash fingerprints a config with its secrets, so any change (a rotated credential
// included) is a change, and the same file twice is not.
// credentialsHash identifies a set of credentials as applied (never the secrets themselves).
func credentialsHash(creds map[string]string) []byte {
	b, _ := json.Marshal(creds) // map keys are sorted
	sum := sha256.Sum256(b)
	return sum[:]
}

func configHash(full *tenant.Config, keyHash []byte) []byte {
	h := sha256.New()
	b, _ := json.Marshal(full) // plain structs and maps: cannot fail; map keys are sorted
	h.Write(b)
	h.Write(keyHash)
	return h.Sum(nil)
}

// write stores full (secrets in plaintext, to be sealed here) and returns the new version.
func (s *Tenants) write(ctx context.Context, tx pgx.Tx, full *tenant.Config, old *stored, keyHash, hash []byte) (int64, error) {
	shown := full.Redact()
	shown.BookingAPIKey = ""
	if keyHash != nil {
		shown.BookingAPIKey = tenant.Redacted
	}
	var version int64
	err := tx.QueryRow(ctx, `
		INSERT INTO fulfillment.tenants (id, name, timezone, policies, config, config_hash, booking_key_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
			policies = excluded.policies, config = excluded.config, config_hash = excluded.config_hash,
			booking_key_hash = excluded.booking_key_hash,
			version = fulfillment.tenants.version + 1, updated_at = now()
		RETURNING version`,
		full.ID, full.Name, full.Timezone, full.Policies, shown, hash, keyHash).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("write tenant: %w", err)
	}

	b := &pgx.Batch{}
	b.Queue(`DELETE FROM fulfillment.services WHERE tenant_id = $1`, full.ID)
	for _, svc := range full.Services {
		b.Queue(`INSERT INTO fulfillment.services (tenant_id, id, name, duration, price) VALUES ($1, $2, $3, $4, $5)`,
			full.ID, svc.ID, svc.Name, svc.Duration.Std(), svc.Price)
	}
	ids := make([]string, len(full.Resources))
	for i, r := range full.Resources {
		ids[i] = r.ID
		var conn, cal *string
		if r.Calendar != nil {
			conn, cal = &r.Calendar.Connection, &r.Calendar.CalendarID
		}
		b.Queue(`
			INSERT INTO fulfillment.resources (tenant_id, id, name, services, hours, calendar_connection, calendar_id, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true)
			ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, services = excluded.services,
				hours = excluded.hours, calendar_connection = excluded.calendar_connection,
				calendar_id = excluded.calendar_id, active = true`,
			full.ID, r.ID, r.Name, r.Services, r.Hours, conn, cal)
	}
	b.Queue(`UPDATE fulfillment.resources SET active = false WHERE tenant_id = $1 AND NOT (id = ANY($2))`, full.ID, ids)

	connIDs := make([]string, len(full.Connections))
	for i, c := range full.Connections {
		connIDs[i] = c.ID
		applied := credentialsHash(c.Credentials)
		if old != nil && old.applied[c.ID] != nil && (bytes.Equal(old.applied[c.ID], applied) || maps.Equal(old.creds[c.ID], c.Credentials)) {
			// The same credentials as before, or the ones the vendor rotated them to: keep
			// the stored (possibly rotated) tokens and the connection's health.
			b.Queue(`UPDATE fulfillment.connections SET provider = $3 WHERE tenant_id = $1 AND id = $2`, full.ID, c.ID, c.Provider)
			continue
		}
		var sealed []byte
		if len(c.Credentials) > 0 {
			plain, _ := json.Marshal(c.Credentials)
			var err error
			if sealed, err = s.box.Seal(plain, connectionContext(full.ID, c.ID)); err != nil {
				return 0, err
			}
		}
		// New credentials give a parked connection a fresh start.
		b.Queue(`
			INSERT INTO fulfillment.connections (tenant_id, id, provider, credentials, applied_hash)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, id) DO UPDATE SET provider = excluded.provider, credentials = excluded.credentials,
				applied_hash = excluded.applied_hash, account_id = NULL, state = 'active', state_reason = NULL, updated_at = now()`,
			full.ID, c.ID, c.Provider, sealed, applied)
	}
	b.Queue(`DELETE FROM fulfillment.connections WHERE tenant_id = $1 AND NOT (id = ANY($2))`, full.ID, connIDs)

	settings := map[string]any{
		"offer_count":         full.Policies.OfferCount,
		"auto_reply_cooldown": full.Policies.AutoReplyCooldown,
		"templates":           full.Templates,
	}
	b.Queue(`
		INSERT INTO conversation.tenants (id, name, timezone, settings) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
			settings = excluded.settings, updated_at = now()`,
		full.ID, full.Name, full.Timezone, settings)
	numbers := make([]string, len(full.Endpoints))
	for i, e := range full.Endpoints {
		numbers[i] = e.Number
		var sealed []byte
		if e.PBXSecret != "" {
			var err error
			if sealed, err = s.box.Seal([]byte(e.PBXSecret), endpointContext(e.Number)); err != nil {
				return 0, err
			}
		}
		e.PBXSecret = ""
		b.Queue(`
			INSERT INTO conversation.endpoints (number, tenant_id, default_service, pbx_secret, settings)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (number) DO UPDATE SET default_service = excluded.default_service,
				pbx_secret = excluded.pbx_secret, settings = excluded.settings, updated_at = now()`,
			e.Number, full.ID, e.DefaultService, sealed, e)
	}
	b.Queue(`DELETE FROM conversation.endpoints WHERE tenant_id = $1 AND NOT (number = ANY($2))`, full.ID, numbers)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("write tenant %s: %w", full.ID, err)
	}
	return version, nil
}

// Get returns the stored config of tenant id with every secret redacted, and its version.
func (s *Tenants) Get(ctx context.Context, id string) (*tenant.Config, int64, error) {
	var cfg tenant.Config
	var version int64
	err := s.pool.QueryRow(ctx, `SELECT config, version FROM fulfillment.tenants WHERE id = $1`, id).Scan(&cfg, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, tenant.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return &cfg, version, nil
}

// IDs lists every tenant id.
func (s *Tenants) IDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM fulfillment.tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// BookingKeyMatches reports whether key is tenant id's booking_api_key. An unknown tenant
// and a tenant without a key both answer false (the caller cannot tell them apart).
func (s *Tenants) BookingKeyMatches(ctx context.Context, id, key string) (bool, error) {
	if h, ok := s.keyHashes.Load(id); ok {
		return secrets.KeyMatches(key, h.([]byte)), nil
	}
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT booking_key_hash FROM fulfillment.tenants WHERE id = $1`, id).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.keyHashes.Store(id, hash)
	return secrets.KeyMatches(key, hash), nil
}

// ConnectionCredentials returns the opened credentials of a tenant's connection.
func (s *Tenants) ConnectionCredentials(ctx context.Context, tenantID, connectionID string) (map[string]string, error) {
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT credentials FROM fulfillment.connections WHERE tenant_id = $1 AND id = $2`, tenantID, connectionID).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if sealed == nil {
		return m, nil
	}
	plain, err := s.box.Open(sealed, connectionContext(tenantID, connectionID))
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(plain, &m)
}

func connectionContext(tenantID, connectionID string) string {
	return "connection/" + tenantID + "/" + connectionID
}

func endpointContext(number string) string { return "endpoint/" + number }

// SaveRefreshToken stores the refresh token a vendor rotated a connection's to, sealed,
// keeping the connection's other credentials. It is called before the new token is used:
// a vendor that rotates invalidates the old one, so losing the new one loses the account.
func (s *Tenants) SaveRefreshToken(ctx context.Context, tenantID, connectionID, token string) error {
	return s.RotateRefreshToken(ctx, tenantID, connectionID, func(string) (string, error) { return token, nil })
}

// RotateRefreshToken calls refresh with the connection's refresh token as stored now
// while holding the connection's row lock, and stores the token refresh returns before
// the lock is let go. Every engine refreshes a connection's access token through it, so
// that two engines never spend one refresh token (a vendor that rotates refuses the
// second with invalid_grant, and the connection would be parked for nothing): the second
// waits, then refreshes with the token the first stored.
func (s *Tenants) RotateRefreshToken(ctx context.Context, tenantID, connectionID string, refresh func(current string) (string, error)) error {
	return inTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var sealed []byte
		err := tx.QueryRow(ctx, `SELECT credentials FROM fulfillment.connections WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			tenantID, connectionID).Scan(&sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			return tenant.ErrNotFound
		}
		if err != nil {
			return err
		}
		creds := map[string]string{}
		if sealed != nil {
			plain, err := s.box.Open(sealed, connectionContext(tenantID, connectionID))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(plain, &creds); err != nil {
				return err
			}
		}
		current := creds[tenant.CredentialRefreshToken]
		next, err := refresh(current)
		if err != nil || next == current {
			return err
		}
		creds[tenant.CredentialRefreshToken] = next
		plain, _ := json.Marshal(creds)
		if sealed, err = s.box.Seal(plain, connectionContext(tenantID, connectionID)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE fulfillment.connections SET credentials = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, connectionID, sealed)
		return err
	})
}

// SetAccountID records the vendor's id of the account behind a connection.
func (s *Tenants) SetAccountID(ctx context.Context, tenantID, connectionID, accountID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE fulfillment.connections SET account_id = $3 WHERE tenant_id = $1 AND id = $2`,
		tenantID, connectionID, accountID)
	return err
}

// ConnectionByAccount finds the connection of provider whose vendor account is accountID.
func (s *Tenants) ConnectionByAccount(ctx context.Context, provider, accountID string) (tenantID, connectionID string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT tenant_id, id FROM fulfillment.connections WHERE provider = $1 AND account_id = $2`,
		provider, accountID).Scan(&tenantID, &connectionID)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tenant.ErrNotFound
	}
	return tenantID, connectionID, err
}
