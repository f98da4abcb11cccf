package spoke

import (
	"context"
	"encoding/json"
	"time"
)

// Scopes of the lists API, with HubSpot's names.
const (
	ScopeListsRead  = "crm.lists.read"
	ScopeListsWrite = "crm.lists.write"
)

// List processing types (HubSpot's lists v3 processingType).
const (
	// ListManual is a static list: records join and leave only when
	// added or removed (by the API or a flow's static-list actions).
	ListManual = "MANUAL"
	// ListDynamic is an active list: its members are the records that
	// meet its filterBranch now.
	ListDynamic = "DYNAMIC"
	// ListSnapshot is filled once, with the records that meet its
	// filterBranch when it is created, and is static from then on.
	ListSnapshot = "SNAPSHOT"
)

// List is a CRM list of records of one object type.
type List struct {
	ID             string
	Name           string
	ObjectTypeID   string
	ProcessingType string
	// FilterBranch defines a DYNAMIC or SNAPSHOT list's members, with the
	// same filter branches as flow enrollment criteria; FilterRaw is it as
	// sent, returned unchanged.
	FilterBranch *FilterBranch
	FilterRaw    json.RawMessage
	// Version counts the list's changes of name or filters, from 1.
	Version int
	// Size is the number of members when the list was read.
	Size             int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	FiltersUpdatedAt time.Time
	DeletedAt        time.Time
}

// ListMember is a record in a list and when it joined.
type ListMember struct {
	RecordID int64
	AddedAt  time.Time
}

// RecordListMembership is a list a record is in.
type RecordListMembership struct {
	ListID       string
	ListVersion  int
	FirstAddedAt time.Time
	LastAddedAt  time.Time
}

// MembershipChange says what a membership update did with each record id.
type MembershipChange struct {
	Added   []int64
	Removed []int64
	// Missing are ids that are not live records of the list's type.
	Missing []int64
}

// ListService stores lists and their memberships.
type ListService interface {
	// CreateList stores a list; a SNAPSHOT list is filled at once.
	// EINVALID for an unknown object type, processing type or filter,
	// ECONFLICT when a live list of the object type has the name.
	CreateList(ctx context.Context, account int64, l *List) (*List, error)
	// GetList returns a list (deleted ones too when deleted is true), or
	// ENOTFOUND.
	GetList(ctx context.Context, account int64, id string, deleted bool) (*List, error)
	// GetListByName returns the live list of an object type with a name.
	GetListByName(ctx context.Context, account int64, objectTypeID, name string) (*List, error)
	// Lists returns the live lists with the given ids (all live lists
	// when ids is empty), in id order.
	Lists(ctx context.Context, account int64, ids []string) ([]*List, error)
	// RenameList and SetListFilters change a list and bump its version.
	RenameList(ctx context.Context, account int64, id, name string) (*List, error)
	SetListFilters(ctx context.Context, account int64, id string, branch *FilterBranch, raw json.RawMessage) (*List, error)
	// DeleteList deletes a list; RestoreList brings a deleted one back.
	DeleteList(ctx context.Context, account int64, id string) error
	RestoreList(ctx context.Context, account int64, id string) error
	// AddListMembers and RemoveListMembers change a MANUAL or SNAPSHOT
	// list's members; EINVALID for a DYNAMIC list.
	AddListMembers(ctx context.Context, account int64, id string, ids []int64) (*MembershipChange, error)
	RemoveListMembers(ctx context.Context, account int64, id string, ids []int64) (*MembershipChange, error)
	// ListMembers pages through a list's members in record id order.
	ListMembers(ctx context.Context, account int64, id string, after int64, limit int) ([]ListMember, bool, error)
	// RecordLists returns the lists a record is in.
	RecordLists(ctx context.Context, account int64, objectType string, recordID int64) ([]RecordListMembership, error)
}
