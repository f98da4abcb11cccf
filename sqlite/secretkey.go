package sqlite

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/internal/outputseal"

	"github.com/spokehq/spoke/internal/secretkey"
)

// SecretKeyFile is the file in the data directory that holds the key
// encrypting secrets when neither --secret-key-file nor SPOKE_SECRET_KEY
// names one.
const SecretKeyFile = secretkey.File

// SecretKeyEnv is the environment variable that may hold the key: 64 hex
// digits (a random key) or any other text (a passphrase).
const SecretKeyEnv = secretkey.Env

// Key versions of the secrets table's rows.
const (
	legacyKeyVersion  = secretkey.LegacyVersion
	derivedKeyVersion = secretkey.DerivedVersion
)

// SecretKey is the operator's key before derivation (package secretkey).
type SecretKey = secretkey.Key

// LoadSecretKey returns the operator's key: the file at keyFile if set
// (created with 32 random bytes if it does not exist), else
// SPOKE_SECRET_KEY if set, else DIR/secret.key, created on first start.
func LoadSecretKey(dir, keyFile string) (SecretKey, error) {
	return secretkey.Load(dir, keyFile)
}

// UseSecretKey derives the AES-256 key from k, checks it against the key
// the database was written with, re-encrypts secrets written before key
// derivation under the derived key, and sets it as SetSecretKey does. It
// returns an error, and sets nothing, when the database holds secrets or
// encrypted outputs under another key.
func (db *DB) UseSecretKey(ctx context.Context, k SecretKey) error {
	var p secretkey.Params
	err := db.write.QueryRowContext(ctx, `SELECT salt, kdf, check_value FROM secret_key WHERE id = 1`).Scan(&p.Salt, &p.KDF, &p.Check)
	if errors.Is(err, sql.ErrNoRows) {
		if p, err = secretkey.NewParams(); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("read secret key parameters: %w", err)
	}
	key, next, matches, err := k.Derive(p)
	if err != nil {
		return err
	}
	if !matches {
		// A database with nothing encrypted yet may change its key.
		used, err := db.holdsEncrypted(ctx)
		if err != nil {
			return err
		}
		if used {
			return k.WrongKey(p.KDF)
		}
	}
	if err := db.SetSecretKey(key); err != nil {
		return err
	}
	old, err := newAEAD(k.Legacy())
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secret_key (id, salt, kdf, check_value) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kdf = excluded.kdf, check_value = excluded.check_value`, next.Salt, next.KDF, next.Check); err != nil {
			return fmt.Errorf("store secret key parameters: %w", err)
		}
		if err := db.reencryptLegacy(ctx, tx, old); err != nil {
			return err
		}
		return db.sealPlainOutputs(ctx, tx)
	})
}

// sealPlainOutputs encrypts the outputs that enrollments written before
// outputs were encrypted still hold in plain text: once, on the first
// start with a key.
func (db *DB) sealPlainOutputs(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, outputs FROM enrollments WHERE outputs <> '{}' AND outputs NOT LIKE '`+outputseal.Prefix+`%'`)
	if err != nil {
		return fmt.Errorf("read plain outputs: %w", err)
	}
	type row struct {
		id      int64
		outputs string
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.outputs); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		sealed, err := outputseal.Seal(db.secrets, r.id, []byte(r.outputs))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollments SET outputs = ? WHERE id = ?`, sealed, r.id); err != nil {
			return fmt.Errorf("encrypt outputs of enrollment %d: %w", r.id, err)
		}
	}
	if len(todo) > 0 {
		db.logger().Info("enrollment outputs encrypted", "count", len(todo))
	}
	return nil
}

// holdsEncrypted reports whether anything in the database is encrypted
// under the key: a secret or an enrollment's outputs.
func (db *DB) holdsEncrypted(ctx context.Context) (bool, error) {
	var n int
	err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM secrets) OR EXISTS (SELECT 1 FROM enrollments WHERE outputs LIKE '`+outputseal.Prefix+`%')`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for encrypted data: %w", err)
	}
	return n == 1, nil
}

// reencryptLegacy seals every secret of key version 1 under the derived
// key, in tx, so the database holds one key's ciphertexts.
func (db *DB) reencryptLegacy(ctx context.Context, tx *sql.Tx, old cipher.AEAD) error {
	rows, err := tx.QueryContext(ctx, `SELECT account_id, name, value FROM secrets WHERE key_version = ?`, legacyKeyVersion)
	if err != nil {
		return fmt.Errorf("read secrets to re-encrypt: %w", err)
	}
	type row struct {
		account int64
		name    string
		sealed  []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.account, &r.name, &r.sealed); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		plain, err := openSecret(old, r.account, r.name, r.sealed)
		if err != nil {
			return fmt.Errorf("re-encrypt under the derived key: %w", err)
		}
		sealed, err := sealSecret(db.secrets, r.account, r.name, plain)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE secrets SET value = ?, key_version = ? WHERE account_id = ? AND name = ?`,
			sealed, derivedKeyVersion, r.account, r.name); err != nil {
			return fmt.Errorf("re-encrypt secret %s: %w", r.name, err)
		}
	}
	if len(todo) > 0 {
		db.logger().Info("secrets re-encrypted under the derived key", "count", len(todo))
	}
	return nil
}
