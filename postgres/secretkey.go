package postgres

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/internal/outputseal"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke/internal/secretkey"
)

// UseSecretKey derives the AES-256 key from the operator's key k (package
// secretkey, as on SQLite), checks it against the key the database was set
// up with, re-encrypts secrets written before key derivation (key version
// 1: SHA-256 of SPOKE_SECRET_KEY) under the derived key, and sets it as
// SetSecretKey does.
//
// Unlike SQLite, a key whose check differs is refused even while the
// database holds no secret yet: other processes may already run with the
// first key, and two keys in one database would fail secret by secret
// later. (To set a new key on a database with no secrets, delete its
// secret_key row.) Processes starting together do this one at a time,
// under a transaction-scoped advisory lock, so they agree on one salt.
func (db *DB) UseSecretKey(ctx context.Context, k secretkey.Key) error {
	old, err := newAEAD(k.Legacy())
	if err != nil {
		return err
	}
	var key []byte
	var reencrypted, sealed int
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('spoke secret key'))`); err != nil {
			return err
		}
		var p secretkey.Params
		err := tx.QueryRow(ctx, `SELECT salt, kdf, check_value FROM secret_key WHERE id = 1`).Scan(&p.Salt, &p.KDF, &p.Check)
		if errors.Is(err, pgx.ErrNoRows) {
			if p, err = secretkey.NewParams(); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("read secret key parameters: %w", err)
		}
		derived, next, matches, err := k.Derive(p)
		if err != nil {
			return err
		}
		if !matches {
			return k.WrongKey(p.KDF)
		}
		if p.Check == nil {
			if _, err := tx.Exec(ctx, `INSERT INTO secret_key (id, salt, kdf, check_value) VALUES (1, $1, $2, $3)`, next.Salt, next.KDF, next.Check); err != nil {
				return fmt.Errorf("store secret key parameters: %w", err)
			}
		}
		gcm, err := newAEAD(derived)
		if err != nil {
			return err
		}
		if reencrypted, err = reencryptLegacy(ctx, tx, old, gcm); err != nil {
			return err
		}
		if p.Check == nil {
			// The first start with a derived key: outputs kept before
			// they were encrypted on PostgreSQL are sealed now, once.
			if sealed, err = sealPlainOutputs(ctx, tx, gcm); err != nil {
				return err
			}
		}
		key = derived
		return nil
	})
	if err != nil {
		return err
	}
	if reencrypted > 0 {
		db.logger().Info("secrets re-encrypted under the derived key", "count", reencrypted)
	}
	if sealed > 0 {
		db.logger().Info("custom code outputs kept in enrollments encrypted", "count", sealed)
	}
	if err := db.SetSecretKey(key); err != nil {
		return err
	}
	db.legacySecrets = old
	return nil
}

// reencryptLegacy seals every secret of key version 1 under the derived
// key, in tx, so the database holds one key's ciphertexts. It returns how
// many it re-encrypted.
func reencryptLegacy(ctx context.Context, tx pgx.Tx, old, derived cipher.AEAD) (int, error) {
	rows, err := tx.Query(ctx, `SELECT account_id, name, value FROM secrets WHERE key_version = $1 FOR UPDATE`, secretkey.LegacyVersion)
	if err != nil {
		return 0, fmt.Errorf("read secrets to re-encrypt: %w", err)
	}
	type row struct {
		account int64
		name    string
		sealed  []byte
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.account, &x.name, &x.sealed)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("read secrets to re-encrypt: %w", err)
	}
	for _, r := range todo {
		plain, err := openSecret(old, r.account, r.name, r.sealed)
		if err != nil {
			return 0, fmt.Errorf("re-encrypt secret %s under the derived key: it does not open with SHA-256 of the key either (was it written with another SPOKE_SECRET_KEY?): %w", r.name, err)
		}
		sealed, err := sealSecret(derived, r.account, r.name, plain)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE secrets SET value = $1, key_version = $2 WHERE account_id = $3 AND name = $4`,
			sealed, secretkey.DerivedVersion, r.account, r.name); err != nil {
			return 0, fmt.Errorf("re-encrypt secret %s: %w", r.name, err)
		}
	}
	return len(todo), nil
}

// sealPlainOutputs encrypts, in tx, the custom code outputs enrollments
// kept in plain text (internal/outputseal), and returns how many.
func sealPlainOutputs(ctx context.Context, tx pgx.Tx, gcm cipher.AEAD) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id, outputs FROM enrollments WHERE outputs <> '{}' AND outputs NOT LIKE '`+outputseal.Prefix+`%' FOR UPDATE`)
	if err != nil {
		return 0, fmt.Errorf("read outputs to encrypt: %w", err)
	}
	type row struct {
		id      int64
		outputs string
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.outputs)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("read outputs to encrypt: %w", err)
	}
	for _, r := range todo {
		sealed, err := outputseal.Seal(gcm, r.id, []byte(r.outputs))
		if err != nil {
			return 0, fmt.Errorf("encrypt outputs of enrollment %d: %w", r.id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET outputs = $1 WHERE id = $2`, sealed, r.id); err != nil {
			return 0, fmt.Errorf("encrypt outputs of enrollment %d: %w", r.id, err)
		}
	}
	return len(todo), nil
}
