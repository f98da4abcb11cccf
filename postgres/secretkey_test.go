package postgres

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/outputseal"
	"github.com/spokehq/spoke/internal/secretkey"
)

// openURL opens another store on the database at url, as another process
// sharing it would.
func openURL(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSecretKeyMigration opens secrets a PostgreSQL database kept before
// key derivation (sealed with SHA-256 of SPOKE_SECRET_KEY) and checks that
// the first start re-encrypts them under the derived key, that another
// process with the same key reads them, and that a process with another
// key is refused with an error that says so.
func TestSecretKeyMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := databaseForTest(t)
	db := openURL(t, url)
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "a long enough passphrase"
	legacy := sha256.Sum256([]byte(pass))
	if err := db.SetSecretKey(legacy[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSecret(ctx, acct, "API_KEY", "value-before"); err != nil {
		t.Fatal(err)
	}
	// What a database written by the version before looks like.
	if _, err := db.pool.Exec(ctx, `UPDATE secrets SET key_version = 1`); err != nil {
		t.Fatal(err)
	}
	var before []byte
	db.pool.QueryRow(ctx, `SELECT value FROM secrets`).Scan(&before)

	if err := db.UseSecretKey(ctx, secretkey.FromEnv(pass)); err != nil {
		t.Fatalf("UseSecretKey: %v", err)
	}
	if got, err := db.SecretValues(ctx, acct, []string{"API_KEY"}); err != nil || got["API_KEY"] != "value-before" {
		t.Fatalf("SecretValues = %v, %v", got, err)
	}
	var after []byte
	var version int
	db.pool.QueryRow(ctx, `SELECT value, key_version FROM secrets`).Scan(&after, &version)
	if version != secretkey.DerivedVersion || string(before) == string(after) {
		t.Fatalf("secret not re-encrypted: version %d", version)
	}
	old, _ := newAEAD(legacy[:])
	if _, err := openSecret(old, acct, "API_KEY", after); err == nil {
		t.Fatal("the re-encrypted secret still opens with the SHA-256 key")
	}

	// Another process with the same key reads it, and what it writes.
	other := openURL(t, url)
	if err := other.UseSecretKey(ctx, secretkey.FromEnv(pass)); err != nil {
		t.Fatalf("second process: %v", err)
	}
	if got, err := other.SecretValues(ctx, acct, []string{"API_KEY"}); err != nil || got["API_KEY"] != "value-before" {
		t.Fatalf("second process reads %v, %v", got, err)
	}
	if _, err := other.PutSecret(ctx, acct, "TOKEN", "from-the-other"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.SecretValues(ctx, acct, []string{"TOKEN"}); err != nil || got["TOKEN"] != "from-the-other" {
		t.Fatalf("first process reads %v, %v", got, err)
	}
	// A row an older process writes after the start (SHA-256 key, key
	// version 1) still opens.
	sealed, _ := sealSecret(old, acct, "OLD_WRITER", []byte("from-an-old-process"))
	if _, err := db.pool.Exec(ctx, `INSERT INTO secrets (account_id, name, value, created_at, updated_at) VALUES ($1, 'OLD_WRITER', $2, 0, 0)`, acct, sealed); err != nil {
		t.Fatal(err)
	}
	if got, err := other.SecretValues(ctx, acct, []string{"OLD_WRITER"}); err != nil || got["OLD_WRITER"] != "from-an-old-process" {
		t.Fatalf("legacy row written after the start: %v, %v", got, err)
	}

	wrong := openURL(t, url)
	err = wrong.UseSecretKey(ctx, secretkey.FromEnv("another passphrase"))
	if err == nil || !strings.Contains(err.Error(), "not the one") || !strings.Contains(err.Error(), secretkey.Env) {
		t.Fatalf("UseSecretKey with another key = %v, want a refusal", err)
	}
	if strings.Contains(err.Error(), "another passphrase") {
		t.Fatalf("the refusal shows the key: %v", err)
	}
}

// TestSecretKeySharedStart starts processes together with one passphrase
// on a fresh database: they agree on one salt, so each reads what the
// others wrote; a process with another key is refused although the
// database holds no secret yet, since the others may write one any time.
func TestSecretKeySharedStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := databaseForTest(t)
	dbs := []*DB{openURL(t, url), openURL(t, url), openURL(t, url)}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.UseSecretKey(ctx, secretkey.FromEnv("shared passphrase")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	acct, _, err := dbs[0].DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[1].PutSecret(ctx, acct, "SHARED", "one value"); err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs {
		if got, err := db.SecretValues(ctx, acct, []string{"SHARED"}); err != nil || got["SHARED"] != "one value" {
			t.Errorf("process %d reads %v, %v", i, got, err)
		}
	}
	fresh := databaseForTest(t)
	first := openURL(t, fresh)
	if err := first.UseSecretKey(ctx, secretkey.FromEnv("0011223344556677889900112233445566778899001122334455667788990011")); err != nil {
		t.Fatal(err)
	}
	if err := openURL(t, fresh).UseSecretKey(ctx, secretkey.FromEnv("not the same")); err == nil || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("another key on a database without secrets = %v, want a refusal", err)
	}
}

// TestOutputsEncrypted checks that custom code outputs kept for later
// actions are encrypted in the enrollments table, read back whole by
// another process with the key, and that outputs kept in plain text before
// the first start with a derived key are encrypted by that start.
func TestOutputsEncrypted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := databaseForTest(t)
	db := openURL(t, url)
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	contact := func(name string) *spoke.Record {
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{"firstname": name}}}, spoke.WriteSource{Type: spoke.SourceImport, ID: "test"})
		if err != nil || res[0].Err != nil {
			t.Fatalf("create contact: %v %v", err, res)
		}
		return res[0].Record
	}
	lease := spoke.Lease{Token: 5, Until: time.Now().Add(time.Hour)}
	claim := func(rec *spoke.Record) *spoke.Enrollment {
		if _, err := db.Enroll(ctx, acct, &spoke.Flow{ID: "9", RevisionID: "1"}, "contacts", []int64{rec.ID}, false); err != nil {
			t.Fatal(err)
		}
		got, err := db.Claim(ctx, time.Now().Add(time.Minute), 10, lease)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim = %v, %v", got, err)
		}
		return got[0]
	}
	stored := func(id int64) string {
		var s string
		if err := db.pool.QueryRow(ctx, `SELECT outputs FROM enrollments WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Outputs a database kept before they were encrypted.
	old := claim(contact("Old"))
	const plain = `{"1":{"token":"sk_old_plain_value"}}`
	if _, err := db.pool.Exec(ctx, `UPDATE enrollments SET outputs = $1 WHERE id = $2`, plain, old.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.UseSecretKey(ctx, secretkey.FromEnv(hexKeyForTest)); err != nil {
		t.Fatal(err)
	}
	if s := stored(old.ID); !outputseal.IsSealed(s) || strings.Contains(s, "sk_old") {
		t.Fatalf("plain outputs after the first start = %q", s)
	}

	rec := contact("Ada")
	en := claim(rec)
	const value = "sk_live_do_not_store_me"
	en.Outputs = map[string]map[string]string{"1": {"token": value}}
	en.CurrentAction, en.RunAt = "2", time.Now().Add(time.Hour)
	if _, err := db.Commit(ctx, lease, []*spoke.Step{{Enrollment: en, Record: rec}}); err != nil {
		t.Fatal(err)
	}
	if s := stored(en.ID); !outputseal.IsSealed(s) || strings.Contains(s, value) || strings.Contains(s, "token") {
		t.Fatalf("outputs stored as %q", s)
	}
	other := openURL(t, url)
	if err := other.UseSecretKey(ctx, secretkey.FromEnv(hexKeyForTest)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{en.ID: value, old.ID: "sk_old_plain_value"} {
		got, err := other.GetEnrollment(ctx, id)
		if err != nil || got.Outputs["1"]["token"] != want {
			t.Fatalf("another process reads enrollment %d: %v, %v", id, got, err)
		}
	}
}

// hexKeyForTest is a random key as an operator's key file holds it.
const hexKeyForTest = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
