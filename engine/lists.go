package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// ListMembership answers whether a record is in a list; *sqlite.DB
// implements it. A dynamic list's filters read rec (and env.Now); depth
// counts lists naming lists.
type ListMembership interface {
	InList(ctx context.Context, account int64, listID string, rec *spoke.Record, env flow.Env, depth int) (bool, error)
}

// withLists gives env the record's list memberships for IN_LIST filters.
func (e *Engine) withLists(ctx context.Context, account int64, rec *spoke.Record, env flow.Env) flow.Env {
	if e.Lists == nil {
		return env
	}
	env.InList = func(id string) (bool, error) {
		return e.Lists.InList(ctx, account, id, rec, flow.Env{Now: env.Now, Memberships: env.Memberships}, 0)
	}
	return env
}

// hasListFilter reports whether a filter tree has an IN_LIST filter,
// whose dynamic lists may read any property.
func hasListFilter(b *spoke.FilterBranch) bool {
	if b == nil {
		return false
	}
	for _, f := range b.Filters {
		if f.FilterType == "IN_LIST" {
			return true
		}
	}
	for i := range b.FilterBranches {
		if hasListFilter(&b.FilterBranches[i]) {
			return true
		}
	}
	return false
}

// EventReader reads the event that enrolled a record; *sqlite.DB
// implements it.
type EventReader interface {
	EnrollmentEvent(ctx context.Context, enrollmentID int64) (json.RawMessage, error)
}

// eventProperty reads an ENROLLMENT_EVENT_PROPERTY value: a property of
// the event that enrolled the record, by its token. For a webhook the
// token is a key of its JSON body, dotted for nested objects
// ("order.total"); objects and arrays are given as JSON.
func (e *Engine) eventProperty(en *spoke.Enrollment, token string) (string, *spoke.ActionError) {
	r, ok := e.Store.(EventReader)
	if !ok {
		return "", &spoke.ActionError{Type: "MISSING_EVENT", Message: "This store does not keep enrollment events."}
	}
	raw, err := r.EnrollmentEvent(context.Background(), en.ID)
	if err != nil {
		return "", &spoke.ActionError{Type: "MISSING_EVENT", Message: fmt.Sprintf("The enrollment event could not be read: %v", err)}
	}
	if raw == nil {
		return "", &spoke.ActionError{Type: "MISSING_EVENT", Message: "The record was not enrolled by an event, so ENROLLMENT_EVENT_PROPERTY has nothing to read."}
	}
	var cur any
	if err := json.Unmarshal(raw, &cur); err != nil {
		return "", &spoke.ActionError{Type: "MISSING_EVENT", Message: "The enrollment event is not JSON."}
	}
	for _, part := range strings.Split(token, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", nil
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64, bool:
		b, _ := json.Marshal(v)
		return string(b), nil
	default:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
}
