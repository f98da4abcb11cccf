package sqlite

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// SecretKeyFile is the file in the data directory that holds the key
// encrypting secrets when neither --secret-key-file nor SPOKE_SECRET_KEY
// names one.
const SecretKeyFile = "secret.key"

// SecretKeyEnv is the environment variable that may hold the key: 64 hex
// digits (a random key) or any other text (a passphrase).
const SecretKeyEnv = "SPOKE_SECRET_KEY"

// Key versions of the secrets table's rows.
const (
	// legacyKeyVersion rows were sealed, before key derivation, with
	// SHA-256 of SPOKE_SECRET_KEY or with secret.key's bytes as they are.
	legacyKeyVersion = 1
	// derivedKeyVersion rows are sealed with the derived key.
	derivedKeyVersion = 2
)

// scrypt's cost for passphrases: N=2^15, r=8, p=1 is the parameter set
// RFC 7914 and the x/crypto documentation recommend for interactive use
// (about 32 MB and 0.1 s), paid once per start.
const (
	scryptN = 1 << 15
	scryptR = 8
	scryptP = 1
)

// hkdfInfo binds the derived key to its use, so the same operator key
// could key something else without the two keys being related.
const hkdfInfo = "spoke secrets v2"

// SecretKey is the operator's key before derivation: a random key (from
// secret.key, a --secret-key-file or 64 hex digits in SPOKE_SECRET_KEY),
// expanded with HKDF-SHA256, or a passphrase (any other SPOKE_SECRET_KEY),
// stretched with scrypt and a salt kept in the database.
type SecretKey struct {
	material   []byte
	passphrase bool
	legacy     []byte // the AES key versions before key derivation used
	// Source says where the key came from, for logs; never the key.
	Source string
}

// IsPassphrase reports whether the key is a passphrase (derived with
// scrypt) rather than a random key (derived with HKDF).
func (k SecretKey) IsPassphrase() bool { return k.passphrase }

// LoadSecretKey returns the operator's key: the file at keyFile if set
// (created with 32 random bytes if it does not exist), else
// SPOKE_SECRET_KEY if set, else DIR/secret.key, created on first start.
func LoadSecretKey(dir, keyFile string) (SecretKey, error) {
	if keyFile == "" {
		if v := os.Getenv(SecretKeyEnv); v != "" {
			return envSecretKey(v), nil
		}
		keyFile = filepath.Join(dir, SecretKeyFile)
	}
	key, err := readOrCreateKeyFile(keyFile)
	if err != nil {
		return SecretKey{}, err
	}
	return SecretKey{material: key, legacy: key, Source: keyFile}, nil
}

// envSecretKey reads SPOKE_SECRET_KEY: exactly 64 hex digits is a random
// 256-bit key (as `openssl rand -hex 32` prints); anything else is a
// passphrase. A 64-hex-digit passphrase is thereby treated as a key,
// which is no weaker: it has the key's length and alphabet.
func envSecretKey(v string) SecretKey {
	legacy := sha256.Sum256([]byte(v))
	k := SecretKey{legacy: legacy[:], Source: SecretKeyEnv}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		k.material = b
	} else {
		k.material, k.passphrase = []byte(v), true
	}
	return k
}

func readOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s must hold 64 hex digits", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	// O_EXCL: two servers starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return readOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("create secret key: %w", werr)
	}
	return key, nil
}

// UseSecretKey derives the AES-256 key from k, checks it against the key
// the database was written with, re-encrypts secrets written before key
// derivation under the derived key, and sets it as SetSecretKey does. It
// returns an error, and sets nothing, when the database holds secrets or
// encrypted outputs under another key.
func (db *DB) UseSecretKey(ctx context.Context, k SecretKey) error {
	var salt, check []byte
	var kdf string
	err := db.write.QueryRowContext(ctx, `SELECT salt, kdf, check_value FROM secret_key WHERE id = 1`).Scan(&salt, &kdf, &check)
	if errors.Is(err, sql.ErrNoRows) {
		salt = make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("read secret key parameters: %w", err)
	}
	key, err := k.derive(salt)
	if err != nil {
		return err
	}
	newKDF, newCheck := k.kdfName(), keyCheck(key)
	if check != nil && !hmac.Equal(check, newCheck) {
		used, err := db.holdsEncrypted(ctx)
		if err != nil {
			return err
		}
		if used {
			return fmt.Errorf("the secret key from %s is not the one this database's secrets were encrypted with (they used a %s key); start with the original key", k.Source, kdf)
		}
	}
	if err := db.SetSecretKey(key); err != nil {
		return err
	}
	old, err := newAEAD(k.legacy)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secret_key (id, salt, kdf, check_value) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kdf = excluded.kdf, check_value = excluded.check_value`, salt, newKDF, newCheck); err != nil {
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
	rows, err := tx.QueryContext(ctx, `SELECT id, outputs FROM enrollments WHERE outputs <> '{}' AND outputs NOT LIKE '`+sealedOutputsPrefix+`%'`)
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
		sealed, err := db.sealOutputs(r.id, []byte(r.outputs))
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

// derive turns the operator's key into the AES-256 key.
func (k SecretKey) derive(salt []byte) ([]byte, error) {
	if k.passphrase {
		key, err := scrypt.Key(k.material, salt, scryptN, scryptR, scryptP, 32)
		if err != nil {
			return nil, fmt.Errorf("derive secret key: %w", err)
		}
		return key, nil
	}
	key, err := hkdf.Key(sha256.New, k.material, nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive secret key: %w", err)
	}
	return key, nil
}

func (k SecretKey) kdfName() string {
	if k.passphrase {
		return fmt.Sprintf("scrypt N=%d r=%d p=%d", scryptN, scryptR, scryptP)
	}
	return "hkdf-sha256"
}

// keyCheck is a value that identifies a derived key without revealing it.
func keyCheck(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("spoke secret key check"))
	return m.Sum(nil)
}

// holdsEncrypted reports whether anything in the database is encrypted
// under the key: a secret or an enrollment's outputs.
func (db *DB) holdsEncrypted(ctx context.Context) (bool, error) {
	var n int
	err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM secrets) OR EXISTS (SELECT 1 FROM enrollments WHERE outputs LIKE '`+sealedOutputsPrefix+`%')`).Scan(&n)
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
