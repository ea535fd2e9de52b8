package persistence

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/actors/conversation"
)

// Console is what the business's console keeps in Postgres: its users, their sessions,
// and the inbox and thread views it reads.
type Console struct{ pool *pgxpool.Pool }

// NewConsole returns the console's store.
func NewConsole(pool *pgxpool.Pool) *Console { return &Console{pool: pool} }

var (
	// ErrNoUser: no such user, invite or session (or it expired, was used or revoked).
	ErrNoUser = errors.New("no such user, invite or session")
	// ErrEmailTaken refuses a second user with an email.
	ErrEmailTaken = errors.New("a console user with this email exists")
	// ErrNoConversation: no conversation of this id in this tenant.
	ErrNoConversation = errors.New("no such conversation")
)

// User is a console user of one tenant.
type User struct {
	ID           uuid.UUID
	TenantID     string
	Email, Name  string
	PasswordHash string // "" until the invite is used
}

// token is a random 32-byte secret, base64url, and the sha256 stored for it.
func token() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, hashToken(s)
}

func hashToken(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// CreateUser adds a user to a tenant with a one-time invite token valid for ttl. For an
// email the tenant already has, it issues a fresh invite instead (the way an operator
// resets a forgotten password; the old invite stops working); another tenant's email is
// ErrEmailTaken.
func (s *Console) CreateUser(ctx context.Context, tenantID, email, name string, ttl time.Duration) (User, string, error) {
	u := User{TenantID: tenantID, Email: strings.ToLower(email), Name: name}
	invite, hash := token()
	err := s.pool.QueryRow(ctx, `INSERT INTO console.users (id, tenant_id, email, name, invite_hash, invite_expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
		ON CONFLICT (email) DO UPDATE SET name = excluded.name, invite_hash = excluded.invite_hash, invite_expires_at = excluded.invite_expires_at
			WHERE console.users.tenant_id = excluded.tenant_id
		RETURNING id`, uuid.Must(uuid.NewV7()), tenantID, u.Email, name, hash, ttl.String()).Scan(&u.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, "", ErrEmailTaken
	}
	return u, invite, err
}

// InvitedUser returns the user an unused, unexpired invite is for.
func (s *Console) InvitedUser(ctx context.Context, invite string) (User, error) {
	return s.user(ctx, `WHERE invite_hash = $1 AND invite_expires_at > now()`, hashToken(invite))
}

// AcceptInvite sets the user's password hash and uses the invite up (once).
func (s *Console) AcceptInvite(ctx context.Context, invite, passwordHash string) (User, error) {
	var u User
	err := s.pool.QueryRow(ctx, `UPDATE console.users SET password_hash = $2, invite_hash = NULL, invite_expires_at = NULL
		WHERE invite_hash = $1 AND invite_expires_at > now() RETURNING id, tenant_id, email, name, password_hash`,
		hashToken(invite), passwordHash).Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &u.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNoUser
	}
	return u, err
}

// UserByEmail returns the user who signs in with email.
func (s *Console) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, `WHERE email = $1 AND password_hash IS NOT NULL`, strings.ToLower(email))
}

func (s *Console) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	var hash *string
	err := s.pool.QueryRow(ctx, `SELECT id, tenant_id, email, name, password_hash FROM console.users `+where, arg).
		Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNoUser
	}
	if hash != nil {
		u.PasswordHash = *hash
	}
	return u, err
}

// CreateSession opens a session for the user: the cookie's token and the session's CSRF
// token.
func (s *Console) CreateSession(ctx context.Context, userID uuid.UUID, ttl time.Duration) (tok, csrf string, err error) {
	tok, hash := token()
	csrf, _ = token()
	_, err = s.pool.Exec(ctx, `INSERT INTO console.sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, now() + $4::interval)`,
		hash, userID, csrf, ttl.String())
	return tok, csrf, err
}

// Session returns the user of a live session and its CSRF token.
func (s *Console) Session(ctx context.Context, tok string) (User, string, error) {
	var u User
	var csrf string
	err := s.pool.QueryRow(ctx, `SELECT u.id, u.tenant_id, u.email, u.name, s.csrf FROM console.sessions s JOIN console.users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`, hashToken(tok)).
		Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &csrf)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, "", ErrNoUser
	}
	return u, csrf, err
}

// RevokeSession ends a session (sign-out); RevokeUserSessions ends all of a user's.
func (s *Console) RevokeSession(ctx context.Context, tok string) error {
	_, err := s.pool.Exec(ctx, `UPDATE console.sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, hashToken(tok))
	return err
}

// RevokeUserSessions ends every session of a user of tenantID, and reports how many
// it ended; ErrNoUser when the tenant has no such user.
func (s *Console) RevokeUserSessions(ctx context.Context, tenantID string, userID uuid.UUID) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH u AS (SELECT id FROM console.users WHERE id = $2 AND tenant_id = $1),
			r AS (UPDATE console.sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL RETURNING 1)
		SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN (SELECT count(*) FROM r) ELSE -1 END`, tenantID, userID).Scan(&n)
	if err == nil && n < 0 {
		return 0, ErrNoUser
	}
	return n, err
}

// Inbox filters.
const (
	FilterAll       = ""
	FilterAttention = "attention"
	FilterBooked    = "booked"
	FilterOptedOut  = "opted_out"
)

// InboxRow is one conversation in the inbox.
type InboxRow struct {
	ID             uuid.UUID
	Endpoint       string
	Phone          string
	Stage          string
	NeedsAttention bool
	OptedOut       bool
	TakenOver      bool
	UpdatedAt      time.Time
	LastBody       string
	LastDirection  string // in, out (Ringback) or person; alerts to the business are not shown
	Unread         int
}

// InboxCursor is where a page of the inbox ends: the keyset of its last row.
type InboxCursor struct {
	NeedsAttention bool
	UpdatedAt      time.Time
	ID             uuid.UUID
}

// String encodes the cursor for a URL; ParseInboxCursor reads it back.
func (c InboxCursor) String() string {
	a := "0"
	if c.NeedsAttention {
		a = "1"
	}
	return a + "." + c.UpdatedAt.UTC().Format(time.RFC3339Nano) + "." + c.ID.String()
}

// ParseInboxCursor reads a cursor written by String. The time has a dot of its own
// before its fraction of a second, so the id is what follows the last dot.
func ParseInboxCursor(s string) (InboxCursor, error) {
	attention, rest, ok := strings.Cut(s, ".")
	i := strings.LastIndexByte(rest, '.')
	if !ok || i < 0 || (attention != "0" && attention != "1") {
		return InboxCursor{}, fmt.Errorf("malformed cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, rest[:i])
	if err != nil {
		return InboxCursor{}, fmt.Errorf("malformed cursor time")
	}
	id, err := uuid.Parse(rest[i+1:])
	if err != nil {
		return InboxCursor{}, fmt.Errorf("malformed cursor id")
	}
	return InboxCursor{NeedsAttention: attention == "1", UpdatedAt: at, ID: id}, nil
}

// Inbox lists a page of a tenant's conversations, those needing a person first, then by
// latest activity, after the cursor (nil: from the start). next is nil on the last page.
// The keyset walks conversations_inbox (conversations_inbox_opted_out for that filter),
// so a page costs the same at any depth (docs/PERFORMANCE.md, "Console").
func (s *Console) Inbox(ctx context.Context, tenantID, filter string, after *InboxCursor, limit int) ([]InboxRow, *InboxCursor, error) {
	query, args := inboxQuery(tenantID, filter, after, limit)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxRow, error) {
		var v InboxRow
		err := r.Scan(&v.ID, &v.Endpoint, &v.Phone, &v.Stage, &v.NeedsAttention, &v.OptedOut, &v.TakenOver, &v.UpdatedAt,
			&v.LastBody, &v.LastDirection, &v.Unread)
		return v, err
	})
	if err != nil || len(out) <= limit {
		return out, nil, err
	}
	last := out[limit-1]
	return out[:limit], &InboxCursor{NeedsAttention: last.NeedsAttention, UpdatedAt: last.UpdatedAt, ID: last.ID}, nil
}

// inboxQuery is the statement of an inbox page and its arguments: limit+1 rows, the one
// past the page saying there is a next. The limit is written into the statement: as a
// parameter, the plan a prepared statement keeps assumed a tenth of the tenant's rows
// (10,000 of 100,000), which costs it past jit_above_cost, and compiling it took longer
// than running it.
func inboxQuery(tenantID, filter string, after *InboxCursor, limit int) (string, []any) {
	where := ""
	switch filter {
	case FilterAttention:
		where = " AND c.needs_attention"
	case FilterBooked:
		where = " AND c.state = 'booked'"
	case FilterOptedOut:
		where = " AND c.opted_out"
	}
	args := []any{tenantID}
	if after != nil {
		where += " AND (c.needs_attention, c.updated_at, c.id) < ($2, $3, $4)"
		args = append(args, after.NeedsAttention, after.UpdatedAt, after.ID)
	}
	return `
		SELECT c.id, c.endpoint, c.customer_phone, c.state, c.needs_attention, c.opted_out, c.taken_over, c.updated_at,
			COALESCE(l.body, ''), COALESCE(l.direction, ''),
			(SELECT count(*) FROM conversation.messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
				AND m.created_at > COALESCE(c.last_read_at, '-infinity'))
		FROM conversation.conversations c
		LEFT JOIN LATERAL (SELECT m.body, CASE WHEN d.kind = 'person' THEN 'person' ELSE m.direction END AS direction
			FROM conversation.messages m LEFT JOIN conversation.deliveries d ON d.client_message_id = m.client_message_id
			WHERE m.conversation_id = c.id AND d.kind IS DISTINCT FROM 'alert'
			ORDER BY m.created_at DESC, m.id DESC LIMIT 1) l ON true
		WHERE c.tenant_id = $1` + where + `
		ORDER BY c.needs_attention DESC, c.updated_at DESC, c.id DESC LIMIT ` + strconv.Itoa(limit+1), args
}

// unreadSQL counts, over a tenant's conversations needing a person, the inbound messages
// no person has read, and the conversations. The count is correlated per conversation so
// that each is one probe of messages_conversation reading the index only (migration
// 010); written as a join, it was planned as a hash of every tenant's inbound messages.
const unreadSQL = `
	SELECT COALESCE(sum((SELECT count(*) FROM conversation.messages m
			WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.created_at > COALESCE(c.last_read_at, '-infinity'))), 0)::bigint,
		count(*)
	FROM conversation.conversations c WHERE c.tenant_id = $1 AND c.needs_attention`

// Unread counts a tenant's inbound messages no person has read in the conversations
// needing a person, and those conversations, for the tab title and the badge.
func (s *Console) Unread(ctx context.Context, tenantID string) (unread, attention int, err error) {
	err = s.pool.QueryRow(ctx, unreadSQL, tenantID).Scan(&unread, &attention)
	return unread, attention, err
}

// ThreadMessage is one message of a thread with its delivery.
type ThreadMessage struct {
	Direction string    `json:"direction"`
	Body      string    `json:"body"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	ErrorCode int       `json:"error_code"`
	To        string    `json:"to"`
}

// Thread is one conversation for the console: its state and every message.
type Thread struct {
	InboxRow
	State    conversation.State
	Messages []ThreadMessage
	// Sync is the newest sync state per connection of the booked visit, if any.
	Sync map[string]string
}

// Thread returns a tenant's conversation; ErrNoConversation when it is not the tenant's.
func (s *Console) Thread(ctx context.Context, tenantID string, id uuid.UUID) (Thread, error) {
	var t Thread
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT id, endpoint, customer_phone, state, needs_attention, opted_out, taken_over, updated_at, data
		FROM conversation.conversations WHERE id = $1 AND tenant_id = $2`, id, tenantID).
		Scan(&t.ID, &t.Endpoint, &t.Phone, &t.Stage, &t.NeedsAttention, &t.OptedOut, &t.TakenOver, &t.UpdatedAt, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Thread{}, ErrNoConversation
	}
	if err != nil {
		return Thread{}, err
	}
	if err := json.Unmarshal(data, &t.State); err != nil {
		return Thread{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT m.direction, m.body, m.created_at, COALESCE(d.kind, ''), COALESCE(d.status, ''),
			COALESCE(d.error_code, 0), CASE WHEN d.to_number <> $2 THEN d.to_number ELSE '' END
		FROM conversation.messages m LEFT JOIN conversation.deliveries d ON d.client_message_id = m.client_message_id
		WHERE m.conversation_id = $1 ORDER BY m.created_at, m.id`, id, t.Phone)
	if err != nil {
		return Thread{}, err
	}
	t.Messages, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ThreadMessage, error) {
		var m ThreadMessage
		err := r.Scan(&m.Direction, &m.Body, &m.At, &m.Kind, &m.Status, &m.ErrorCode, &m.To)
		return m, err
	})
	if err != nil {
		return Thread{}, err
	}
	t.Sync = map[string]string{}
	if t.State.AppointmentID != uuid.Nil {
		// A job a worker has claimed is, to a person, still pending.
		rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (connection_id) connection_id,
				CASE state WHEN 'running' THEN 'pending' ELSE state END FROM fulfillment.sync_jobs
			WHERE appointment_id = $1 ORDER BY connection_id, seq DESC`, t.State.AppointmentID)
		if err != nil {
			return Thread{}, err
		}
		for rows.Next() {
			var c, st string
			if err := rows.Scan(&c, &st); err != nil {
				rows.Close()
				return Thread{}, err
			}
			t.Sync[c] = st
		}
		rows.Close()
	}
	return t, nil
}

// MarkRead records that a person opened the thread now.
func (s *Console) MarkRead(ctx context.Context, tenantID string, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.conversations SET last_read_at = now() WHERE id = $1 AND tenant_id = $2`, id, tenantID)
	return err
}
