package secretkey

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// TestKinds checks how SPOKE_SECRET_KEY is read: 64 hex digits are a
// random key expanded with HKDF, anything else a passphrase stretched with
// scrypt, and neither derived key is the SHA-256 the versions before key
// derivation used (which Legacy still returns).
func TestKinds(t *testing.T) {
	p := Params{Salt: []byte("0123456789abcdef")}
	for _, tc := range []struct {
		value      string
		passphrase bool
	}{
		{hexKey, false},
		{"correct horse battery staple", true},
		{hexKey[:62], true}, // too short for a key
	} {
		k := FromEnv(tc.value)
		if k.IsPassphrase() != tc.passphrase {
			t.Errorf("%q: passphrase = %v, want %v", tc.value, k.IsPassphrase(), tc.passphrase)
		}
		key, next, ok, err := k.Derive(p)
		if err != nil || !ok {
			t.Fatalf("Derive without a check = %v, %v", ok, err)
		}
		legacy := sha256.Sum256([]byte(tc.value))
		if len(key) != 32 || bytes.Equal(key, legacy[:]) || bytes.Equal(key, k.material) {
			t.Errorf("%q: derived key %x is not derived", tc.value, key)
		}
		if !bytes.Equal(k.Legacy(), legacy[:]) {
			t.Errorf("%q: legacy key is not SHA-256 of the value", tc.value)
		}
		other, _, _, _ := k.Derive(Params{Salt: []byte("another salt....")})
		if bytes.Equal(key, other) != !tc.passphrase {
			t.Errorf("%q: the salt changes the key = %v, want %v (scrypt uses it, HKDF does not)", tc.value, !bytes.Equal(key, other), tc.passphrase)
		}
		// The check value recognises the key, and only it.
		if again, _, ok, _ := k.Derive(next); !ok || !bytes.Equal(again, key) {
			t.Errorf("%q: the same key does not match its own check", tc.value)
		}
		if _, _, ok, _ := FromEnv(tc.value + "x").Derive(next); ok {
			t.Errorf("%q: another key matches the check", tc.value)
		}
	}
}

// TestWrongKeyMessage checks the refusal names where the key came from and
// the database's KDF, and never the key.
func TestWrongKeyMessage(t *testing.T) {
	err := FromEnv("a passphrase").WrongKey("hkdf-sha256")
	if msg := err.Error(); !strings.Contains(msg, Env) || !strings.Contains(msg, "hkdf-sha256") || strings.Contains(msg, "a passphrase") {
		t.Fatalf("message %q", msg)
	}
}

// TestFile checks --secret-key-file: created with 64 hex digits and mode
// 0600 when missing, read back the same, and preferred over
// SPOKE_SECRET_KEY; a file of anything else is refused.
func TestFile(t *testing.T) {
	t.Setenv(Env, "ignored when a file is named")
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "spoke.key")
	k1, err := Load(t.TempDir(), path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := Load(t.TempDir(), path)
	if err != nil || !bytes.Equal(k1.material, k2.material) || k1.IsPassphrase() || k1.Source != path {
		t.Fatalf("second load = %+v, %v", k2, err)
	}
	k3, err := Load(dir, "")
	if err != nil || !k3.IsPassphrase() || k3.Source != Env {
		t.Fatalf("without a file SPOKE_SECRET_KEY is used: %+v %v", k3, err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not hex\n"), 0o600)
	if _, err := Load(dir, bad); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("a bad key file = %v", err)
	}
}

// TestLoadShared checks that a process sharing its database takes the key
// file, else SPOKE_SECRET_KEY, and refuses to start with neither rather
// than create a key of its own.
func TestLoadShared(t *testing.T) {
	t.Setenv(Env, "")
	if _, err := LoadShared(""); err == nil || !strings.Contains(err.Error(), "--secret-key-file") {
		t.Fatalf("no key = %v", err)
	}
	t.Setenv(Env, hexKey)
	if k, err := LoadShared(""); err != nil || k.IsPassphrase() || k.Source != Env {
		t.Fatalf("env key = %+v %v", k, err)
	}
	path := filepath.Join(t.TempDir(), "k")
	if k, err := LoadShared(path); err != nil || k.Source != path {
		t.Fatalf("file key = %+v %v", k, err)
	}
}
