// Package secretkey turns the operator's key into the AES-256 key that
// encrypts secrets at rest, the same way for every store (docs/secrets.md).
//
// The operator's key is a random key (64 hex digits, in a key file or in
// SPOKE_SECRET_KEY), expanded with HKDF-SHA256, or a passphrase (any other
// SPOKE_SECRET_KEY), stretched with scrypt and a salt the database keeps. The
// database also keeps a check value of the derived key (Params), so a start
// with another key can be refused before any secret fails to open. What the
// stores do with the key (sealing, re-encrypting rows written before key
// derivation) stays in each driver; the derivation and the check live here
// once.
package secretkey

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// File is the file in the data directory that holds the key when neither
// --secret-key-file nor SPOKE_SECRET_KEY names one (SQLite only: processes
// sharing a PostgreSQL database must be given the same key).
const File = "secret.key"

// Env is the environment variable that may hold the key: 64 hex digits (a
// random key) or any other text (a passphrase).
const Env = "SPOKE_SECRET_KEY"

// Key versions of the secrets tables' rows (column key_version).
const (
	// LegacyVersion rows were sealed, before key derivation, with SHA-256
	// of SPOKE_SECRET_KEY or with secret.key's bytes as they are.
	LegacyVersion = 1
	// DerivedVersion rows are sealed with the derived key.
	DerivedVersion = 2
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

// Key is the operator's key before derivation.
type Key struct {
	material   []byte
	passphrase bool
	legacy     []byte // the AES key versions before key derivation used
	// Source says where the key came from, for logs and errors; never the
	// key.
	Source string
}

// IsPassphrase reports whether the key is a passphrase (derived with
// scrypt) rather than a random key (derived with HKDF).
func (k Key) IsPassphrase() bool { return k.passphrase }

// Legacy returns the AES-256 key the versions before key derivation used
// with this operator key: SHA-256 of SPOKE_SECRET_KEY's value, or a key
// file's bytes as they are. Rows of LegacyVersion open with it.
func (k Key) Legacy() []byte { return k.legacy }

// Load returns the operator's key: the file at keyFile if set (created with
// 32 random bytes if it does not exist), else SPOKE_SECRET_KEY if set, else
// DIR/secret.key, created on first start.
func Load(dir, keyFile string) (Key, error) {
	if keyFile == "" {
		if v := os.Getenv(Env); v != "" {
			return FromEnv(v), nil
		}
		keyFile = filepath.Join(dir, File)
	}
	return FromFile(keyFile)
}

// LoadShared returns the key of a process sharing its database with others
// (PostgreSQL): the file at keyFile if set (created if missing, as Load
// does), else SPOKE_SECRET_KEY. Without either it fails: a key created in
// one process's data directory would differ from every other process's.
func LoadShared(keyFile string) (Key, error) {
	if keyFile != "" {
		return FromFile(keyFile)
	}
	if v := os.Getenv(Env); v != "" {
		return FromEnv(v), nil
	}
	return Key{}, errors.New(Env + " or --secret-key-file must be set when Spoke runs on PostgreSQL: every API and worker process sharing the database must encrypt and decrypt secrets with the same key")
}

// FromEnv reads a value of SPOKE_SECRET_KEY: exactly 64 hex digits is a
// random 256-bit key (as `openssl rand -hex 32` prints); anything else is a
// passphrase. A 64-hex-digit passphrase is thereby treated as a key, which
// is no weaker: it has the key's length and alphabet.
func FromEnv(v string) Key {
	legacy := sha256.Sum256([]byte(v))
	k := Key{legacy: legacy[:], Source: Env}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		k.material = b
	} else {
		k.material, k.passphrase = []byte(v), true
	}
	return k
}

// FromFile reads a key file of 64 hex digits, creating it with 32 random
// bytes (mode 0600) if it does not exist.
func FromFile(path string) (Key, error) {
	key, err := readOrCreate(path)
	if err != nil {
		return Key{}, err
	}
	return Key{material: key, legacy: key, Source: path}, nil
}

func readOrCreate(path string) ([]byte, error) {
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
			return readOrCreate(path)
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

// Params is what a database keeps about its key, none of it secret: the
// scrypt salt (kept for random keys too, so a passphrase can follow), the
// KDF's name and a check value of the derived key.
type Params struct {
	Salt  []byte
	KDF   string
	Check []byte
}

// NewParams returns parameters with a fresh random salt and no check, for
// a database that has none yet.
func NewParams() (Params, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Params{}, err
	}
	return Params{Salt: salt}, nil
}

// Derive turns the operator's key into the AES-256 key under the
// database's parameters p, and returns it with the parameters to store
// (p's salt, this key's KDF and check value). matches is false when p has
// a check value and the derived key is not the one it was made from: the
// caller decides whether that refuses the start (ErrWrongKey says so).
func (k Key) Derive(p Params) (key []byte, next Params, matches bool, err error) {
	if k.passphrase {
		key, err = scrypt.Key(k.material, p.Salt, scryptN, scryptR, scryptP, 32)
	} else {
		key, err = hkdf.Key(sha256.New, k.material, nil, hkdfInfo, 32)
	}
	if err != nil {
		return nil, Params{}, false, fmt.Errorf("derive secret key: %w", err)
	}
	check := checkValue(key)
	next = Params{Salt: p.Salt, KDF: k.kdfName(), Check: check}
	return key, next, p.Check == nil || hmac.Equal(p.Check, check), nil
}

// WrongKey is the error of a start with a key whose check value differs
// from the database's: kdf is the KDF the database's key was derived with.
func (k Key) WrongKey(kdf string) error {
	return fmt.Errorf("the secret key from %s is not the one this database's secrets were encrypted with (they used a %s key); start with the original key", k.Source, kdf)
}

func (k Key) kdfName() string {
	if k.passphrase {
		return fmt.Sprintf("scrypt N=%d r=%d p=%d", scryptN, scryptR, scryptP)
	}
	return "hkdf-sha256"
}

// checkValue identifies a derived key without revealing it.
func checkValue(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("spoke secret key check"))
	return m.Sum(nil)
}
