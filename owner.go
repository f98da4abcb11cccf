package spoke

import (
	"context"
	"strings"
	"time"
)

// Properties every object type has that name an owner and a team. Their
// options are the account's owners and teams (see Property.OptionsFrom).
const (
	PropOwnerID = "hubspot_owner_id"
	PropTeamID  = "hubspot_team_id"
	// PropOwnerAssignedDate is set when a write assigns an owner.
	PropOwnerAssignedDate = "hubspot_owner_assigneddate"
)

// Scopes of owners: HubSpot's read scope, and Spoke's own scope for the
// admin API that manages them (HubSpot manages owners in its UI, which
// Spoke does not have).
const (
	ScopeOwnersRead  = "crm.objects.owners.read"
	ScopeOwnersWrite = "spoke.owners.write"
)

// Owner is a HubSpot owner: a user records can be assigned to. Owners and
// users have separate ids, as on HubSpot.
type Owner struct {
	ID        int64
	UserID    int64
	Email     string
	FirstName string
	LastName  string
	// Teams lists the owner's teams, the primary one first.
	Teams      []OwnerTeam
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
	ArchivedAt time.Time
}

// Name is the owner's full name, or the email when there is none; it
// labels the owner in the hubspot_owner_id options.
func (o *Owner) Name() string {
	if n := strings.TrimSpace(o.FirstName + " " + o.LastName); n != "" {
		return n
	}
	return o.Email
}

// PrimaryTeam returns the owner's primary team, or nil.
func (o *Owner) PrimaryTeam() *OwnerTeam {
	for i := range o.Teams {
		if o.Teams[i].Primary {
			return &o.Teams[i]
		}
	}
	return nil
}

// OwnerTeam is one team of an owner.
type OwnerTeam struct {
	ID      int64
	Name    string
	Primary bool
}

// Team is a team of users in an account.
type Team struct {
	ID   int64
	Name string
}

// OwnerInput creates or changes an owner. On update, nil fields stay as
// they are.
type OwnerInput struct {
	Email     *string
	FirstName *string
	LastName  *string
	// Teams names the owner's teams, the primary one first; teams that do
	// not exist yet are created.
	Teams *[]string
}

// OwnerListOptions page through owners in id order.
type OwnerListOptions struct {
	Limit int
	After int64
	// Email, when set, returns only the owner with that email
	// (case-insensitively).
	Email    string
	Archived bool
}

// OwnerService manages the owners and teams of an account.
type OwnerService interface {
	// ListOwners returns up to opts.Limit owners with ids above opts.After
	// and whether more follow.
	ListOwners(ctx context.Context, account int64, opts OwnerListOptions) ([]*Owner, bool, error)
	// GetOwner returns the owner with the given id, or with the given
	// user id when byUserID is set; ENOTFOUND if there is none.
	GetOwner(ctx context.Context, account int64, id int64, byUserID, archived bool) (*Owner, error)
	// CreateOwner adds an owner (and its user). EINVALID without a valid
	// email, ECONFLICT if a live owner has the email.
	CreateOwner(ctx context.Context, account int64, in OwnerInput) (*Owner, error)
	// UpdateOwner changes an owner; ENOTFOUND if it does not exist.
	UpdateOwner(ctx context.Context, account int64, id int64, in OwnerInput) (*Owner, error)
	// ArchiveOwner archives an owner: it is no longer an option of
	// hubspot_owner_id. ENOTFOUND if it does not exist.
	ArchiveOwner(ctx context.Context, account int64, id int64) error
	// ListTeams returns the account's teams by id.
	ListTeams(ctx context.Context, account int64) ([]*Team, error)
}
