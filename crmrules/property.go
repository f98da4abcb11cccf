package crmrules

import (
	"context"

	"github.com/spokehq/spoke"
)

// PropertyReader is what PropertyExists reads: a store's object types and
// property definitions.
type PropertyReader interface {
	ObjectType(ctx context.Context, account int64, s string) (spoke.ObjectType, error)
	GetProperty(ctx context.Context, account int64, objectType, name string) (*spoke.Property, error)
}

// PropertyExists reports whether objectType (an id such as "0-1" or a
// name) has a live property called name, built-in or custom. An unknown
// object type has no properties. Both stores' flow.Checker use it.
func PropertyExists(ctx context.Context, r PropertyReader, account int64, objectType, name string) (bool, error) {
	if _, err := r.ObjectType(ctx, account, objectType); err != nil {
		if spoke.ErrorCode(err) == spoke.EINVALID {
			return false, nil
		}
		return false, err
	}
	_, err := r.GetProperty(ctx, account, objectType, name)
	switch spoke.ErrorCode(err) {
	case "":
		return true, nil
	case spoke.ENOTFOUND:
		return false, nil
	}
	return false, err
}
