package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"Tokens", testTokens},
	)
}

func testTokens(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()

	secret, tok, err := db.CreateToken(ctx, acct, "reader", []string{"crm.objects.contacts.read", "crm.schemas.contacts.read"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "pat-") || len(secret) < 40 || tok.ID == 0 || tok.AccountID != acct {
		t.Fatalf("token %q %+v", secret, tok)
	}
	// Only the hash is stored.
	var stored string
	if err := db.back.QueryRow(context.Background(), `SELECT hash FROM tokens WHERE id = ?`, []any{tok.ID}, &stored); err != nil {
		t.Fatal(err)
	}
	if stored == secret || strings.Contains(stored, secret) || stored != hashToken(secret) || len(stored) != 64 {
		t.Fatalf("stored %q for secret %q", stored, secret)
	}
	if leaks := db.count(t, `SELECT count(*) FROM tokens WHERE hash = ? OR name = ? OR scopes LIKE ?`, secret, secret, "%"+secret+"%"); leaks != 0 {
		t.Fatal("secret stored in clear")
	}

	got, err := db.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Admin || got.Name != "reader" {
		t.Fatalf("Authenticate = %+v %v", got, err)
	}
	if !got.HasScope("crm.objects.contacts.read") || got.HasScope("crm.objects.contacts.write") || got.HasScope("automation") {
		t.Errorf("scopes = %v", got.Scopes)
	}
	for _, bad := range []string{"", "pat-nope", secret + "x", strings.ToUpper(secret), stored} {
		if _, err := db.Authenticate(ctx, bad); code(err) != spoke.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}

	// Unknown scopes are refused.
	if _, _, err := db.CreateToken(ctx, acct, "x", []string{"crm.objects.widgets.read"}, false); code(err) != spoke.EINVALID {
		t.Errorf("unknown scope: %v", err)
	}

	// Admin tokens have every scope; a chosen secret is stored once.
	admin, err := db.StoreToken(ctx, acct, "admin", "env-secret", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.StoreToken(ctx, acct, "admin", "env-secret", nil, true)
	if err != nil || again.ID != admin.ID {
		t.Fatalf("StoreToken twice = %+v %v", again, err)
	}
	a, err := db.Authenticate(ctx, "env-secret")
	if err != nil || !a.Admin || !a.HasScope("automation") || len(a.Scopes) != 0 {
		t.Fatalf("admin = %+v %v", a, err)
	}
	if n, err := db.CountAdminTokens(ctx); err != nil || n != 1 {
		t.Fatalf("CountAdminTokens = %d %v", n, err)
	}
	// Two tokens never share a secret.
	s2, _, err := db.CreateToken(ctx, acct, "reader", nil, false)
	if err != nil || s2 == secret {
		t.Fatalf("second token %q %v", s2, err)
	}
	if tk, err := db.Authenticate(ctx, s2); err != nil || len(tk.Scopes) != 0 || tk.HasScope("crm.objects.contacts.read") {
		t.Fatalf("scope-less token = %+v %v", tk, err)
	}
}
