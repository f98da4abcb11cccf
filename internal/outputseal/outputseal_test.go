package outputseal

import (
	"crypto/aes"
	"crypto/cipher"
	"strings"
	"testing"
)

func testAEAD(t *testing.T, fill byte) cipher.AEAD {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = fill
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	gcm := testAEAD(t, 1)
	plain := []byte(`{"1":{"token":"s3cret"}}`)
	stored, err := Seal(gcm, 7, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(stored) || strings.Contains(stored, "s3cret") {
		t.Fatalf("stored %q", stored)
	}
	got, err := Open(gcm, 7, stored)
	if err != nil || string(got) != string(plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"another enrollment": func() ([]byte, error) { return Open(gcm, 8, stored) },
		"another key":        func() ([]byte, error) { return Open(testAEAD(t, 2), 7, stored) },
		"no key":             func() ([]byte, error) { return Open(nil, 7, stored) },
		"corrupt":            func() ([]byte, error) { return Open(gcm, 7, Prefix+"!!") },
		"short":              func() ([]byte, error) { return Open(gcm, 7, Prefix+"AAAA") },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

func TestPlainKeptPlain(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		aead cipher.AEAD
		in   string
	}{{nil, `{"1":{"a":"b"}}`}, {testAEAD(t, 1), `{}`}} {
		stored, err := Seal(c.aead, 1, []byte(c.in))
		if err != nil || stored != c.in {
			t.Errorf("Seal(%q) = %q, %v; want it kept plain", c.in, stored, err)
		}
		if got, err := Open(c.aead, 1, stored); err != nil || string(got) != c.in {
			t.Errorf("Open(%q) = %q, %v", stored, got, err)
		}
	}
}
