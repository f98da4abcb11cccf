package engine

import (
	"context"

	"github.com/spokehq/spoke"
)

// objectType resolves an object type name of an account: a standard type
// without a call (the path of every action), else one of the account's
// custom objects.
func (e *Engine) objectType(ctx context.Context, account int64, name string) (spoke.ObjectType, bool) {
	if t, ok := spoke.LookupObjectType(name); ok {
		return t, true
	}
	if e.ObjectTypes == nil {
		return spoke.ObjectType{}, false
	}
	t, err := e.ObjectTypes.ObjectType(ctx, account, name)
	return t, err == nil
}
