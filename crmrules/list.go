package crmrules

import (
	"context"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// MaxListDepth bounds how deep list filters may name other lists
// (IN_LIST), so lists that name each other cannot recurse forever.
const MaxListDepth = 8

// ListReader is what evaluating a list's filters reads from a store; both
// drivers' DB types implement it.
type ListReader interface {
	ObjectType(ctx context.Context, account int64, s string) (spoke.ObjectType, error)
	Definitions(ctx context.Context, account int64, objectType string) (map[string]*spoke.Property, error)
	ListRecords(ctx context.Context, account int64, objectType string, opts spoke.ListOptions) ([]*spoke.Record, bool, error)
	InList(ctx context.Context, account int64, listID string, rec *spoke.Record, env flow.Env, depth int) (bool, error)
}

// CheckListFilter returns an EINVALID error unless the branch can be
// evaluated (known branch, filter and operation types).
func CheckListFilter(b *spoke.FilterBranch) error {
	if b == nil {
		return spoke.Invalidf("A DYNAMIC or SNAPSHOT list needs a filterBranch.")
	}
	none := func(string) (string, bool) { return "", false }
	if _, err := (flow.Env{Get: none, InList: func(string) (bool, error) { return false, nil }}).Evaluate(b); err != nil {
		return spoke.Invalidf("Invalid filterBranch: %s", spoke.ErrorMessage(err))
	}
	return nil
}

// CheckListDepth refuses list filters nested deeper than MaxListDepth.
func CheckListDepth(depth int) error {
	if depth > MaxListDepth {
		return spoke.Invalidf("Lists name each other (IN_LIST) more than %d deep.", MaxListDepth)
	}
	return nil
}

// MeetsFilters reports whether record rec, of the type named objectType,
// meets a DYNAMIC list's filters, read through env.Get when env has one
// (the values a write is about to commit) and from rec otherwise; lists
// the filters name are evaluated at depth+1.
func MeetsFilters(ctx context.Context, r ListReader, account int64, objectType string, branch *spoke.FilterBranch, rec *spoke.Record, env flow.Env, depth int) (bool, error) {
	t, err := r.ObjectType(ctx, account, objectType)
	if err != nil {
		return false, err
	}
	if env.Get == nil {
		env.Get = func(name string) (string, bool) {
			v, ok := rec.Value(t, name)
			return v, ok && v != ""
		}
	}
	if env.Defs == nil {
		if env.Defs, err = r.Definitions(ctx, account, objectType); err != nil {
			return false, err
		}
	}
	inner := env
	inner.InList = func(id string) (bool, error) { return r.InList(ctx, account, id, rec, env, depth+1) }
	return inner.Evaluate(branch)
}

// Matching returns the ids of the live records of the type named
// objectType that meet a list's filters, in id order; lists the filters
// name are evaluated at depth+1.
func Matching(ctx context.Context, r ListReader, account int64, objectType string, branch *spoke.FilterBranch, depth int) ([]int64, error) {
	t, err := r.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	defs, err := r.Definitions(ctx, account, t.Name)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	var after int64
	for {
		recs, more, err := r.ListRecords(ctx, account, t.Name, spoke.ListOptions{Limit: 1000, After: after})
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			after = rec.ID
			env := flow.Env{Get: func(name string) (string, bool) {
				v, ok := rec.Value(t, name)
				return v, ok && v != ""
			}, Defs: defs}
			env.InList = func(id string) (bool, error) { return r.InList(ctx, account, id, rec, env, depth+1) }
			ok, err := env.Evaluate(branch)
			if err != nil {
				return nil, err
			}
			if ok {
				ids = append(ids, rec.ID)
			}
		}
		if !more {
			return ids, nil
		}
	}
}
