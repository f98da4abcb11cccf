package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"github.com/spokehq/spoke/internal/outputseal"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/secretkey"
)

const hexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// TestSecretKeyMigration opens secrets written before key derivation
// (sealed with SHA-256 of the passphrase) and checks they are re-encrypted
// under the derived key and still read, and that another key is refused.
func TestSecretKeyMigration(t *testing.T) {
	ctx := context.Background()
	db, acct := setup(t)
	const pass = "a long enough passphrase"
	legacy := sha256.Sum256([]byte(pass))
	if err := db.SetSecretKey(legacy[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSecret(ctx, acct, "API_KEY", "value-before"); err != nil {
		t.Fatal(err)
	}
	// What a database written by the version before looks like.
	if _, err := db.write.ExecContext(ctx, `UPDATE secrets SET key_version = 1`); err != nil {
		t.Fatal(err)
	}
	var before []byte
	db.write.QueryRowContext(ctx, `SELECT value FROM secrets`).Scan(&before)

	if err := db.UseSecretKey(ctx, secretkey.FromEnv(pass)); err != nil {
		t.Fatalf("UseSecretKey: %v", err)
	}
	got, err := db.SecretValues(ctx, acct, []string{"API_KEY"})
	if err != nil || got["API_KEY"] != "value-before" {
		t.Fatalf("SecretValues = %v, %v", got, err)
	}
	var after []byte
	var version int
	db.write.QueryRowContext(ctx, `SELECT value, key_version FROM secrets`).Scan(&after, &version)
	if version != derivedKeyVersion || bytes.Equal(before, after) {
		t.Fatalf("secret not re-encrypted: version %d", version)
	}
	old, _ := newAEAD(legacy[:])
	if _, err := openSecret(old, acct, "API_KEY", after); err == nil {
		t.Fatal("the re-encrypted secret still opens with the SHA-256 key")
	}
	// A second start with the same key reads the same.
	if err := db.UseSecretKey(ctx, secretkey.FromEnv(pass)); err != nil {
		t.Fatalf("UseSecretKey again: %v", err)
	}
	if got, err := db.SecretValues(ctx, acct, []string{"API_KEY"}); err != nil || got["API_KEY"] != "value-before" {
		t.Fatalf("SecretValues after restart = %v, %v", got, err)
	}
	if err := db.UseSecretKey(ctx, secretkey.FromEnv("another passphrase")); err == nil || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("UseSecretKey with another key = %v, want a refusal", err)
	}
}

// TestOutputsEncrypted checks that custom code outputs kept for later
// actions are encrypted in the enrollments table and read back whole.
func TestOutputsEncrypted(t *testing.T) {
	ctx := context.Background()
	db, acct := setup(t)
	if err := db.UseSecretKey(ctx, secretkey.FromEnv(hexKey)); err != nil {
		t.Fatal(err)
	}
	rec := create(t, db, acct, "contacts", props("firstname", "Ada"))
	en := claimOne(t, db, acct, rec)
	const value = "sk_live_do_not_store_me"
	en.Outputs = map[string]map[string]string{"1": {"token": value}}
	en.CurrentAction, en.RunAt = "2", db.Now().Add(1e12)
	if _, err := db.Commit(ctx, testLease, []*spoke.Step{{Enrollment: en, Record: rec}}); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.write.QueryRowContext(ctx, `SELECT outputs FROM enrollments WHERE id = ?`, en.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, outputseal.Prefix) || strings.Contains(stored, value) || strings.Contains(stored, "token") {
		t.Fatalf("outputs stored as %q", stored)
	}
	got, err := db.GetEnrollment(ctx, en.ID)
	if err != nil || got.Outputs["1"]["token"] != value {
		t.Fatalf("GetEnrollment outputs = %v, %v", got, err)
	}
	// Moved to another enrollment, the ciphertext does not open.
	if _, err := outputseal.Open(db.secrets, en.ID+1, stored); err == nil {
		t.Fatal("outputs opened under another enrollment's id")
	}
}

// TestPlainOutputsSealedOnStart checks that outputs a database kept in
// plain text before outputs were encrypted are encrypted by UseSecretKey.
func TestPlainOutputsSealedOnStart(t *testing.T) {
	ctx := context.Background()
	db, acct := setup(t)
	rec := create(t, db, acct, "contacts", props("firstname", "Ada"))
	en := claimOne(t, db, acct, rec)
	const plain = `{"1":{"token":"sk_old_plain_value"}}`
	if _, err := db.write.ExecContext(ctx, `UPDATE enrollments SET outputs = ? WHERE id = ?`, plain, en.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.UseSecretKey(ctx, secretkey.FromEnv(hexKey)); err != nil {
		t.Fatal(err)
	}
	var stored string
	db.write.QueryRowContext(ctx, `SELECT outputs FROM enrollments WHERE id = ?`, en.ID).Scan(&stored)
	if !strings.HasPrefix(stored, outputseal.Prefix) || strings.Contains(stored, "sk_old") {
		t.Fatalf("outputs after start = %q", stored)
	}
	got, err := db.GetEnrollment(ctx, en.ID)
	if err != nil || got.Outputs["1"]["token"] != "sk_old_plain_value" {
		t.Fatalf("GetEnrollment = %v, %v", got, err)
	}
}
