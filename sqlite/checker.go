package sqlite

import (
	"context"

	"github.com/spokehq/spoke/crmrules"
)

// PropertyExists reports whether objectType (an id such as "0-1" or a
// name) has a live property called name, built-in or custom. An unknown
// object type has no properties. With SecretSize it makes *DB a
// flow.Checker.
func (db *DB) PropertyExists(ctx context.Context, account int64, objectType, name string) (bool, error) {
	return crmrules.PropertyExists(ctx, db, account, objectType, name)
}
