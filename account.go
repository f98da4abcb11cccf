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
	// Engagements (HubSpot's read-only per-activity scopes; writes take
	// crm.objects.contacts.write), commerce objects, leads and custom
	// objects.
	"crm.objects.notes.read", "crm.objects.tasks.read", "crm.objects.calls.read",
	"crm.objects.emails.read", "crm.objects.meetings.read", "sales-email-read",
	"crm.schemas.notes.read", "crm.schemas.tasks.read", "crm.schemas.calls.read",
	"crm.schemas.emails.read", "crm.schemas.meetings.read",
	"crm.objects.line_items.read", "crm.objects.line_items.write", "crm.schemas.line_items.read",
	"crm.objects.products.read", "crm.objects.products.write", "crm.schemas.products.read",
	"crm.objects.quotes.read", "crm.objects.quotes.write", "crm.schemas.quotes.read", "crm.schemas.quotes.write",
	"e-commerce",
	"crm.objects.leads.read", "crm.objects.leads.write",
	"crm.objects.custom.read", "crm.objects.custom.write",
	"crm.schemas.custom.read", "crm.schemas.custom.write",
	// Owners: HubSpot's read scope, and Spoke's own for the admin API.
	ScopeOwnersRead, ScopeOwnersWrite,
	// Lists.
	ScopeListsRead, ScopeListsWrite,
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

// HasAnyScope reports whether the token grants one of scopes.
func (t *Token) HasAnyScope(scopes []string) bool {
	for _, s := range scopes {
		if t.HasScope(s) {
			return true
		}
	}
	return false
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
