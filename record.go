package spoke

import (
	"context"
	"time"
)

// Source types of property writes, as HubSpot names them in
// propertiesWithHistory.
const (
	SourceAPI        = "API"
	SourceAutomation = "AUTOMATION_PLATFORM"
	SourceCRMUI      = "CRM_UI"
	SourceImport     = "IMPORT"
)

// Record is one CRM object: a contact, company, deal or ticket.
type Record struct {
	ID         int64
	ObjectType string // plural name, e.g. "contacts"
	// Properties holds the stored values; unset properties are absent.
	// Computed properties (hs_object_id, createdate, last-modified date) are
	// not stored here; use Value to read any property.
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
	ArchivedAt time.Time
	// Version counts the record's writes. A store uses it to update a
	// copy read earlier only if nothing wrote the record since.
	Version int64
	// History holds, for properties asked for with propertiesWithHistory,
	// every value the property had, newest first.
	History map[string][]PropertyValue
}

// Value returns the value of a property, including the computed ones, and
// whether it is set.
func (r *Record) Value(t ObjectType, name string) (string, bool) {
	switch name {
	case PropObjectID:
		return formatID(r.ID), true
	case PropCreateDate, PropHSCreateDate:
		return FormatTime(r.CreatedAt), true
	case "lastmodifieddate", "hs_lastmodifieddate":
		return FormatTime(r.UpdatedAt), true
	}
	v, ok := r.Properties[name]
	return v, ok
}

// HistoryEntry is one property write of a record, in a record's full
// history log.
type HistoryEntry struct {
	RecordID int64
	Name     string
	PropertyValue
}

// PropertyValue is one entry of a property's history.
type PropertyValue struct {
	Value     string
	Timestamp time.Time
	// SourceType is API, AUTOMATION_PLATFORM, ...
	SourceType string
	// SourceID names the writer: the token id for API writes, the flow id
	// for workflow writes.
	SourceID string
	// EnrollmentID is set for writes made by a workflow enrollment.
	EnrollmentID string
}

// WriteSource says who makes a write; it is recorded in property history.
type WriteSource struct {
	Type         string
	ID           string
	EnrollmentID string
}

// RecordInput is one record to create, update or upsert.
type RecordInput struct {
	// ID identifies the record for update and upsert: its id, or the value
	// of IDProperty when that is set.
	ID         string
	IDProperty string
	Properties map[string]string
	// Associations to create with the record (create only).
	Associations []AssociationInput
}

// WriteMode says what WriteRecords does with each input.
type WriteMode int

// Write modes.
const (
	WriteCreate WriteMode = iota
	WriteUpdate
	WriteUpsert
)

// WriteResult is the outcome of one input of WriteRecords: either Record
// (and, for upserts, whether it was created) or Err.
type WriteResult struct {
	Record *Record
	New    bool
	Err    *Error
}

// ReadOptions qualify reads of records.
type ReadOptions struct {
	// IDProperty, when set, makes ids values of that unique property.
	IDProperty string
	// Archived reads archived records instead of live ones.
	Archived bool
	// WithHistory names properties whose history to load.
	WithHistory []string
}

// ListOptions page through records in id order.
type ListOptions struct {
	Limit       int
	After       int64
	Archived    bool
	WithHistory []string
	// Only, when set, limits the records' Properties to these names, which
	// spares decoding the others (the computed ones are always readable
	// with Record.Value).
	Only []string
}

// SearchRequest is HubSpot's PublicObjectSearchRequest.
type SearchRequest struct {
	FilterGroups []FilterGroup
	Sorts        []Sort
	Query        string
	Properties   []string
	Limit        int
	After        int
}

// FilterGroup is an AND of filters; a request's groups are ORed.
type FilterGroup struct {
	Filters []Filter
}

// Filter is one condition on a property.
type Filter struct {
	PropertyName string
	Operator     string
	Value        string
	HighValue    string
	Values       []string
}

// Sort orders search results by a property.
type Sort struct {
	PropertyName string
	Descending   bool
}

// SearchResult is one page of search results.
type SearchResult struct {
	Records []*Record
	Total   int
	// Next is the offset of the next page, or 0 when this is the last.
	Next int
}

// RecordService stores CRM records. Every write records property history.
type RecordService interface {
	// GetRecords returns the records with the given ids (or IDProperty
	// values), keyed by the id as given; ids not found are absent.
	GetRecords(ctx context.Context, account int64, objectType string, ids []string, opts ReadOptions) (map[string]*Record, error)
	// ListRecords returns up to opts.Limit records with ids above opts.After,
	// and whether more follow.
	ListRecords(ctx context.Context, account int64, objectType string, opts ListOptions) ([]*Record, bool, error)
	// WriteRecords creates, updates or upserts records in one transaction.
	// Each input either is written whole or fails with its own error in the
	// result; an input never half-writes. A duplicate unique value on create
	// fails the whole call with ECONFLICT, as HubSpot does.
	WriteRecords(ctx context.Context, account int64, objectType string, mode WriteMode, inputs []RecordInput, src WriteSource) ([]WriteResult, error)
	// ArchiveRecords archives the records with the given ids; unknown ids
	// are ignored.
	ArchiveRecords(ctx context.Context, account int64, objectType string, ids []string) error
	// SearchRecords runs a search request.
	SearchRecords(ctx context.Context, account int64, objectType string, req SearchRequest) (*SearchResult, error)
	// MergeRecords merges record mergedID into primaryID and returns the
	// primary as it is after the merge; the merged record is archived.
	MergeRecords(ctx context.Context, account int64, objectType string, primaryID, mergedID int64, src WriteSource) (*Record, error)
	// PurgeRecord permanently deletes a record, found by id or by the
	// unique idProperty, with everything stored about it (GDPR erasure).
	PurgeRecord(ctx context.Context, account int64, objectType, id, idProperty string) error
}
