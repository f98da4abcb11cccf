package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/secretkey"
)

// SetSecretKey sets the AES-256 key that encrypts secrets at rest, as it
// is: UseSecretKey derives it from the operator's key; tests set one
// directly. Every process sharing the database must use the same key.
func (db *DB) SetSecretKey(key []byte) error {
	gcm, err := newAEAD(key)
	if err != nil {
		return err
	}
	db.secrets = gcm
	return nil
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return cipher.NewGCM(block)
}

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)

// MaxSecretValue is the longest secret value, as on SQLite.
const MaxSecretValue = 1000

func (db *DB) cipher() (cipher.AEAD, error) {
	if db.secrets == nil {
		return nil, errors.New("no secret key configured")
	}
	return db.secrets, nil
}

// PutSecret implements spoke.SecretService.
func (db *DB) PutSecret(ctx context.Context, account int64, name, value string) (*spoke.Secret, error) {
	if !secretName.MatchString(name) {
		return nil, spoke.Invalidf("Secret name %q must be letters, digits and underscores, starting with a letter or underscore (it becomes an environment variable).", name)
	}
	if value == "" {
		return nil, spoke.Invalidf("A secret needs a non-empty value.")
	}
	if strings.ContainsRune(value, 0) {
		return nil, spoke.Invalidf("A secret value cannot contain a NUL character (\\u0000); secrets become environment variables.")
	}
	if n := utf8.RuneCountInString(value); n > MaxSecretValue {
		return nil, spoke.Invalidf("Secret values are limited to %d characters; this one has %d.", MaxSecretValue, n)
	}
	gcm, err := db.cipher()
	if err != nil {
		return nil, err
	}
	sealed, err := sealSecret(gcm, account, name, []byte(value))
	if err != nil {
		return nil, err
	}
	now := db.Now()
	s := &spoke.Secret{Name: name, UpdatedAt: now}
	var created int64
	err = db.pool.QueryRow(ctx, `INSERT INTO secrets (account_id, name, value, created_at, updated_at, key_version) VALUES ($1, $2, $3, $4, $4, $5)
		ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, key_version = excluded.key_version RETURNING created_at`,
		account, name, sealed, now.UnixMilli(), secretkey.DerivedVersion).Scan(&created)
	if err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	s.CreatedAt = time.UnixMilli(created).UTC()
	return s, nil
}

// ListSecrets implements spoke.SecretService.
func (db *DB) ListSecrets(ctx context.Context, account int64) ([]*spoke.Secret, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, created_at, updated_at FROM secrets WHERE account_id = $1 ORDER BY name`, account)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	out := []*spoke.Secret{}
	for rows.Next() {
		var s spoke.Secret
		var c, u int64
		if err := rows.Scan(&s.Name, &c, &u); err != nil {
			return nil, err
		}
		s.CreatedAt, s.UpdatedAt = time.UnixMilli(c).UTC(), time.UnixMilli(u).UTC()
		out = append(out, &s)
	}
	return out, rows.Err()
}

// DeleteSecret implements spoke.SecretService.
func (db *DB) DeleteSecret(ctx context.Context, account int64, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM secrets WHERE account_id = $1 AND name = $2`, account, name)
	if err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return spoke.NotFoundf("No secret named %s.", name)
	}
	return nil
}

// SecretValues implements spoke.SecretService.
func (db *DB) SecretValues(ctx context.Context, account int64, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	if len(names) == 0 {
		return out, nil
	}
	gcm, err := db.cipher()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		var sealed []byte
		var version int
		err := db.pool.QueryRow(ctx, `SELECT value, key_version FROM secrets WHERE account_id = $1 AND name = $2`, account, name).Scan(&sealed, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, spoke.NotFoundf("Secret %s does not exist; add it with PUT /automation/v4/secrets/%s.", name, name)
		}
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", name, err)
		}
		key := gcm
		if version == secretkey.LegacyVersion && db.legacySecrets != nil {
			// Written by a process of a version before key derivation
			// since this one started: re-encrypted at the next start.
			key = db.legacySecrets
		}
		plain, err := openSecret(key, account, name, sealed)
		if err != nil {
			return nil, fmt.Errorf("decrypt secret %s (do all processes share the secret key?): %w", name, err)
		}
		out[name] = string(plain)
	}
	return out, nil
}

// sealSecret encrypts a secret's value, bound to its account and name.
func sealSecret(gcm cipher.AEAD, account int64, name string, value []byte) ([]byte, error) {
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, value, secretAD(account, name)), nil
}

// openSecret decrypts what sealSecret sealed.
func openSecret(gcm cipher.AEAD, account int64, name string, sealed []byte) ([]byte, error) {
	ns := gcm.NonceSize()
	if len(sealed) < ns {
		return nil, errors.New("the stored value is corrupt")
	}
	return gcm.Open(nil, sealed[:ns], sealed[ns:], secretAD(account, name))
}

func secretAD(account int64, name string) []byte { return []byte(fmt.Sprintf("%d/%s", account, name)) }

// SecretSize implements spoke.SecretService.
func (db *DB) SecretSize(ctx context.Context, account int64, name string) (int, bool, error) {
	values, err := db.SecretValues(ctx, account, []string{name})
	if spoke.ErrorCode(err) == spoke.ENOTFOUND {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return len(values[name]), true, nil
}
