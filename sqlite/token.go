package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// DefaultAccountName names the account created on first start.
const DefaultAccountName = "Default"

// DefaultAccount returns the id of the first account, creating it if the
// database has none.
func (db *DB) DefaultAccount(ctx context.Context) (int64, bool, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT id FROM accounts ORDER BY id LIMIT 1`).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("load default account: %w", err)
	}
	created := false
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts ORDER BY id LIMIT 1`).Scan(&id); err == nil {
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES (?, ?)`, DefaultAccountName, db.nowMs())
		if err != nil {
			return fmt.Errorf("create default account: %w", err)
		}
		id, err = res.LastInsertId()
		created = true
		return err
	})
	return id, created, err
}

// CreateAccount adds an account named name and returns its id. Accounts
// share nothing: `spoke test` gives each test case one of its own so that
// cases cannot see each other's records.
func (db *DB) CreateAccount(ctx context.Context, name string) (int64, error) {
	var id int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES (?, ?)`, name, db.nowMs())
		if err != nil {
			return fmt.Errorf("create account %q: %w", name, err)
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// HashToken returns the stored form of a token secret.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate looks a token up by the hash of its secret.
func (db *DB) Authenticate(ctx context.Context, secret string) (*spoke.Token, error) {
	var t spoke.Token
	var scopes string
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, account_id, name, scopes, admin, created_at FROM tokens WHERE hash = ?`, HashToken(secret)).
		Scan(&t.ID, &t.AccountID, &t.Name, &scopes, &t.Admin, &created)
	if errors.Is(err, sql.ErrNoRows) {
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

// CreateToken issues a new private-app token ("pat-...") on an account.
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

// StoreToken stores a token with a secret chosen by the caller (the
// SPOKE_ADMIN_TOKEN of the environment). Storing the same secret again
// returns the existing token.
func (db *DB) StoreToken(ctx context.Context, account int64, name, secret string, scopes []string, admin bool) (*spoke.Token, error) {
	now := db.Now()
	tok := &spoke.Token{AccountID: account, Name: name, Scopes: scopes, Admin: admin, CreatedAt: now}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		hash := HashToken(secret)
		err := tx.QueryRowContext(ctx, `SELECT id FROM tokens WHERE hash = ?`, hash).Scan(&tok.ID)
		if err == nil {
			_, err = tx.ExecContext(ctx, `UPDATE tokens SET scopes = ?, admin = ? WHERE id = ?`, strings.Join(scopes, ","), admin, tok.ID)
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (account_id, name, hash, scopes, admin, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			account, name, hash, strings.Join(scopes, ","), admin, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		tok.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// CountAdminTokens returns how many admin tokens exist, so the server
// generates one only on first start.
func (db *DB) CountAdminTokens(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE admin = 1`).Scan(&n)
	return n, err
}
