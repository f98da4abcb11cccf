package engine

import (
	"context"
	"fmt"

	"github.com/spokehq/spoke"
)

// objectType resolves an object type name of an account: a standard type
// without a call (the path of every action), else one of the account's
// custom objects. An error whose code is EINVALID or ENOTFOUND
// (missingType) says the type does not exist; any other is the store's,
// and must not be mistaken for that (an outage would fail enrollments
// for good).
func (e *Engine) objectType(ctx context.Context, account int64, name string) (spoke.ObjectType, error) {
	if t, ok := spoke.LookupObjectType(name); ok {
		return t, nil
	}
	if e.ObjectTypes == nil {
		return spoke.ObjectType{}, spoke.Invalidf("Object type %s does not exist.", name)
	}
	t, err := e.ObjectTypes.ObjectType(ctx, account, name)
	if err != nil && !missingType(err) {
		return t, fmt.Errorf("read object type %s: %w", name, err)
	}
	return t, err
}

// missingType reports whether an objectType error says the type does not
// exist.
func missingType(err error) bool {
	c := spoke.ErrorCode(err)
	return c == spoke.EINVALID || c == spoke.ENOTFOUND
}
