package spoke

import (
	"context"
	"time"
)

// Scopes, with HubSpot's names.
var Scopes = []string{
	"crm.objects.contacts.read", "crm.objects.contacts.write",
	"crm.objects.companies.read", "crm.objects.companies.write",
	"crm.objects.deals.read", "crm.objects.deals.write",
	"tickets", "crm.objects.tickets.read", "crm.objects.tickets.write",
	"crm.schemas.contacts.read", "crm.schemas.contacts.write",
	"crm.schemas.companies.read", "crm.schemas.companies.write",
	"crm.schemas.deals.read", "crm.schemas.deals.write",
	"crm.schemas.tickets.read", "crm.schemas.tickets.write",
	"automation",
	ScopeOwnersRead, ScopeOwnersWrite,
}

// ValidScope reports whether s is a scope Spoke knows.
func ValidScope(s string) bool { return contains(Scopes, s) }

// Token is an access token of an account: a private-app token or the admin
// token.
type Token struct {
	ID        int64
	AccountID int64
	Name      string
	Scopes    []string
	CreatedAt time.Time
	// Admin tokens have every scope.
	Admin bool
}

// HasScope reports whether the token grants scope s.
func (t *Token) HasScope(s string) bool {
	if t.Admin || contains(t.Scopes, s) {
		return true
	}
	// HubSpot's older "tickets" scope grants what the ticket object
	// scopes grant.
	return (s == "crm.objects.tickets.read" || s == "crm.objects.tickets.write") && contains(t.Scopes, "tickets")
}

// TokenService authenticates and issues tokens.
type TokenService interface {
	// Authenticate returns the token whose secret is secret, or
	// EUNAUTHORIZED.
	Authenticate(ctx context.Context, secret string) (*Token, error)
	// CreateToken issues a token with the given scopes on an account and
	// returns its secret, which is stored only as a hash.
	CreateToken(ctx context.Context, account int64, name string, scopes []string, admin bool) (secret string, tok *Token, err error)
	// DefaultAccount returns the id of the default account (portal),
	// creating it on first use, and whether it was created now.
	DefaultAccount(ctx context.Context) (id int64, created bool, err error)
}
