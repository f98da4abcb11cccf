package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// DefaultAccountName names the account created on first use.
const DefaultAccountName = "Default"

// DefaultAccount implements spoke.TokenService. Processes starting
// together create one account: the insert takes a transaction-scoped
// advisory lock first.
func (db *DB) DefaultAccount(ctx context.Context) (int64, bool, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `SELECT id FROM accounts ORDER BY id LIMIT 1`).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("load default account: %w", err)
	}
	created := false
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		created = false
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(1397771078)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM accounts ORDER BY id LIMIT 1`).Scan(&id); err == nil {
			return nil
		}
		if err := tx.QueryRow(ctx, `INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id`, DefaultAccountName, db.nowMs()).Scan(&id); err != nil {
			return fmt.Errorf("create default account: %w", err)
		}
		created = true
		return nil
	})
	return id, created, err
}

// hashToken is how a token's secret is stored: hex SHA-256, as on SQLite,
// so a database can move between the stores with its tokens.
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate implements spoke.TokenService.
func (db *DB) Authenticate(ctx context.Context, secret string) (*spoke.Token, error) {
	var t spoke.Token
	var scopes string
	var created int64
	err := db.pool.QueryRow(ctx, `SELECT id, account_id, name, scopes, admin, created_at FROM tokens WHERE hash = $1`, hashToken(secret)).
		Scan(&t.ID, &t.AccountID, &t.Name, &scopes, &t.Admin, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.Errorf(spoke.EUNAUTHORIZED, "The access token provided is not valid. Check the Authorization header (Bearer TOKEN).")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	t.CreatedAt = time.UnixMilli(created)
	return &t, nil
}

// CreateToken implements spoke.TokenService.
func (db *DB) CreateToken(ctx context.Context, account int64, name string, scopes []string, admin bool) (string, *spoke.Token, error) {
	for _, s := range scopes {
		if !spoke.ValidScope(s) {
			return "", nil, spoke.Invalidf("unknown scope %q; known scopes: %s", s, strings.Join(spoke.Scopes, ", "))
		}
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := "pat-spk-" + hex.EncodeToString(b)
	tok, err := db.StoreToken(ctx, account, name, secret, scopes, admin)
	return secret, tok, err
}

// StoreToken stores a token with a secret the caller chose; storing the
// same secret again updates its scopes and returns the same token.
func (db *DB) StoreToken(ctx context.Context, account int64, name, secret string, scopes []string, admin bool) (*spoke.Token, error) {
	now := db.Now()
	tok := &spoke.Token{AccountID: account, Name: name, Scopes: scopes, Admin: admin, CreatedAt: now}
	err := db.pool.QueryRow(ctx, `INSERT INTO tokens (account_id, name, hash, scopes, admin, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (hash) DO UPDATE SET scopes = excluded.scopes, admin = excluded.admin RETURNING id`,
		account, name, hashToken(secret), strings.Join(scopes, ","), admin, now.UnixMilli()).Scan(&tok.ID)
	if err != nil {
		return nil, fmt.Errorf("store token: %w", err)
	}
	return tok, nil
}

// CountAdminTokens counts the admin tokens of every account.
func (db *DB) CountAdminTokens(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM tokens WHERE admin`).Scan(&n)
	return n, err
}
