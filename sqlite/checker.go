package sqlite

import (
	"context"

	"github.com/spokehq/spoke"
)

// PropertyExists reports whether objectType (an id such as "0-1" or a
// name) has a live property called name, built-in or custom. An unknown
// object type has no properties. With SecretSize it makes *DB a
// flow.Checker.
func (db *DB) PropertyExists(ctx context.Context, account int64, objectType, name string) (bool, error) {
	if _, err := db.ObjectType(ctx, account, objectType); err != nil {
		if spoke.ErrorCode(err) == spoke.EINVALID {
			return false, nil
		}
		return false, err
	}
	_, err := db.GetProperty(ctx, account, objectType, name)
	switch spoke.ErrorCode(err) {
	case "":
		return true, nil
	case spoke.ENOTFOUND:
		return false, nil
	}
	return false, err
}
