package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Associations follow the SQLite store (sqlite/association.go): both
// directions of a link are rows, HubSpot-defined types with their paired
// ids, user-defined labels with the label's name as read from each side.

const (
	qRecordType = `SELECT object_type FROM records WHERE account_id = $1 AND id = $2 AND NOT archived`
	qLink       = `INSERT INTO associations (account_id, from_id, to_type, to_id, category, type_id, label) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`
)

// recordType returns the object type of a live record, or ENOTFOUND.
func recordType(ctx context.Context, q querier, account, id int64) (string, error) {
	var typ string
	err := q.QueryRow(ctx, qRecordType, account, id).Scan(&typ)
	if errors.Is(err, pgx.ErrNoRows) {
		e := spoke.ObjectNotFound(strconv.FormatInt(id, 10))
		e.Message += fmt.Sprintf(" No record %d.", id)
		return "", e
	}
	return typ, err
}

// link stores both directions of an association inside tx. It reports
// whether the two records were not linked before (by any type), which
// changes their association counts.
func link(ctx context.Context, tx pgx.Tx, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) (bool, error) {
	linked, err := pairLinked(ctx, tx, account, fromID, toType, toID)
	if err != nil {
		return false, err
	}
	for _, at := range types {
		if at.Category == "" {
			at.Category = spoke.CategoryHubSpot
		}
		if err := checkAssociationType(ctx, tx, account, fromType, toType, at); err != nil {
			return false, err
		}
		if err := demotePrimary(ctx, tx, account, fromType, fromID, toType, toID, at); err != nil {
			return false, err
		}
		rev := at
		switch at.Category {
		case spoke.CategoryHubSpot:
			rev.TypeID = spoke.PairedAssociationTypeID(at.TypeID)
			at.Label, rev.Label = spoke.HubSpotAssociationLabel(at.TypeID), spoke.HubSpotAssociationLabel(rev.TypeID)
		case spoke.CategoryUser:
			fwd, back, _, err := userLabel(ctx, tx, account, fromType, toType, at.TypeID)
			if err != nil {
				return false, err
			}
			at.Label, rev.Label = fwd, back
		}
		for _, row := range []struct {
			from int64
			toT  string
			to   int64
			t    spoke.AssociationType
		}{{fromID, toType, toID, at}, {toID, fromType, fromID, rev}} {
			if _, err := tx.Exec(ctx, qLink,
				account, row.from, row.toT, row.to, row.t.Category, row.t.TypeID, row.t.Label); err != nil {
				return false, fmt.Errorf("store association: %w", err)
			}
		}
	}
	return !linked && len(types) > 0, nil
}

// pendingLink is an association of a record being created, checked
// before the record is inserted.
type pendingLink struct {
	toType string
	toID   int64
	types  []spoke.AssociationType
}

// resolveAssociations checks the associations of a record being created:
// targets exist and type ids fit the pair.
func (w *writer) resolveAssociations(assocs []spoke.AssociationInput) ([]pendingLink, error) {
	out := make([]pendingLink, 0, len(assocs))
	for _, a := range assocs {
		toID, err := strconv.ParseInt(a.ToID, 10, 64)
		if err != nil {
			return nil, spoke.Invalidf("association target id %q is not a record id", a.ToID)
		}
		toType, err := recordType(w.ctx, w.tx, w.account, toID)
		if err != nil {
			return nil, err
		}
		if len(a.Types) == 0 {
			return nil, spoke.Invalidf("association to %s needs at least one type", a.ToID)
		}
		for _, at := range a.Types {
			if err := checkAssociationType(w.ctx, w.tx, w.account, w.t.Name, toType, at); err != nil {
				return nil, err
			}
		}
		out = append(out, pendingLink{toType: toType, toID: toID, types: a.Types})
	}
	return out, nil
}

// Associate implements spoke.AssociationService.
func (db *DB) Associate(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) ([]spoke.AssociationType, error) {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		if id, ok := spoke.DefaultAssociationTypeID(ft.Name, tt.Name); ok {
			types = []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}
		} else if id, ok, err := customDefaultAssociation(ctx, db.pool, account, ft.Name, tt.Name); err != nil {
			return nil, err
		} else if ok {
			// A custom object's association definition is the pair's
			// default.
			types = []spoke.AssociationType{{Category: spoke.CategoryUser, TypeID: id}}
		} else {
			return nil, spoke.Invalidf("No default association from %s to %s.", ft.Name, tt.Name)
		}
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		enrolled = false
		for _, c := range []struct {
			id  int64
			typ string
		}{{fromID, ft.Name}, {toID, tt.Name}} {
			got, err := recordType(ctx, tx, account, c.id)
			if err != nil {
				return err
			}
			if got != c.typ {
				return spoke.NotFoundf("Object not found. No %s with id %d.", c.typ, c.id)
			}
		}
		// Lock both records in id order, so concurrent links between the
		// same records count once each.
		if _, err := tx.Exec(ctx, `SELECT id FROM records WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, fromID, toID); err != nil {
			return fmt.Errorf("lock %d and %d: %w", fromID, toID, err)
		}
		added, err := link(ctx, tx, account, ft.Name, fromID, tt.Name, toID, types)
		if err != nil {
			return err
		}
		if enrolled, err = db.associationAdded(ctx, tx, account, ft.Name, fromID, tt.Name, toID, types); err != nil {
			return err
		}
		touched := touchedSet{}
		touched.Touch(fromID) // a primary company may have changed
		touched.Touch(toID)
		if added {
			touched.Linked(fromID, ft.Name, toID, tt.Name, 1)
		}
		_, counted, err := db.recount(ctx, tx, account, touched)
		enrolled = enrolled || counted
		return err
	})
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return types, nil
}

// ListAssociations implements spoke.AssociationService.
func (db *DB) ListAssociations(ctx context.Context, account int64, fromType string, fromID int64, toType string, after int64, limit int) ([]spoke.Association, bool, error) {
	tt, err := db.ObjectType(ctx, account, toType)
	if err != nil {
		return nil, false, err
	}
	ft, err := db.ObjectType(ctx, account, fromType)
	if err != nil {
		return nil, false, err
	}
	// Associations are stored by record id only; the from record must be
	// of fromType, or a contact's links would list as a company's.
	rows, err := db.pool.Query(ctx, `SELECT a.to_id, a.category, a.type_id, a.label FROM associations a
		JOIN records r ON r.id = a.to_id AND NOT r.archived
		JOIN records f ON f.id = a.from_id AND f.object_type = $1
		WHERE a.account_id = $2 AND a.from_id = $3 AND a.to_type = $4 AND a.to_id > $5
		  AND a.to_id IN (SELECT x.to_id FROM associations x JOIN records xr ON xr.id = x.to_id AND NOT xr.archived
		    WHERE x.account_id = $2 AND x.from_id = $3 AND x.to_type = $4 AND x.to_id > $5 GROUP BY x.to_id ORDER BY x.to_id LIMIT $6)
		ORDER BY a.to_id, a.category, a.type_id`, ft.Name, account, fromID, tt.Name, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list associations: %w", err)
	}
	defer rows.Close()
	var out []spoke.Association
	for rows.Next() {
		var to int64
		var at spoke.AssociationType
		if err := rows.Scan(&to, &at.Category, &at.TypeID, &at.Label); err != nil {
			return nil, false, err
		}
		if n := len(out); n > 0 && out[n-1].ToID == to {
			out[n-1].Types = append(out[n-1].Types, at)
			continue
		}
		out = append(out, spoke.Association{ToID: to, Types: []spoke.AssociationType{at}})
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// RemoveAssociations implements spoke.AssociationService.
func (db *DB) RemoveAssociations(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64) error {
	return db.removeAssociations(ctx, account, fromType, fromID, toType, toID, nil)
}

// RemoveAssociationTypes implements spoke.AssociationService.
func (db *DB) RemoveAssociationTypes(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) error {
	if len(types) == 0 {
		return nil
	}
	return db.removeAssociations(ctx, account, fromType, fromID, toType, toID, types)
}

// removeAssociations removes the links between two records: all of them,
// or those of the given types (with their paired reverse types).
func (db *DB) removeAssociations(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) error {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return err
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT id FROM records WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, fromID, toID); err != nil {
			return fmt.Errorf("lock %d and %d: %w", fromID, toID, err)
		}
		was, err := pairLinked(ctx, tx, account, fromID, tt.Name, toID)
		if err != nil {
			return err
		}
		if err := deleteLinks(ctx, tx, account, ft.Name, fromID, tt.Name, toID, types); err != nil {
			return err
		}
		touched := touchedSet{}
		touched.Touch(fromID) // a primary company may have gone
		touched.Touch(toID)
		if is, err := pairLinked(ctx, tx, account, fromID, tt.Name, toID); err != nil {
			return err
		} else if was && !is {
			// The counts moved by one, unless one side is archived (it was
			// not counted): then count both anew.
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM records WHERE account_id = $1 AND id IN ($2, $3) AND NOT archived`, account, fromID, toID).Scan(&n); err != nil {
				return err
			}
			if n == 2 || (n == 1 && fromID == toID) {
				touched.Linked(fromID, ft.Name, toID, tt.Name, -1)
			} else {
				touched.Add(fromID, toID)
			}
		}
		_, enrolled, err = db.recount(ctx, tx, account, touched)
		return err
	})
	if err == nil && enrolled {
		db.notifyEnrolled()
	}
	return err
}

// deleteLinks deletes, inside tx, the links between two records of the
// given types: all of them with nil types, else those types with their
// paired reverse types.
func deleteLinks(ctx context.Context, tx pgx.Tx, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) error {
	// Links are stored by record id: with the wrong from type only one
	// direction would match and be removed, so check the types first.
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM records WHERE account_id = $1 AND ((id = $2 AND object_type = $3) OR (id = $4 AND object_type = $5))`,
		account, fromID, fromType, toID, toType).Scan(&n); err != nil {
		return err
	}
	if n != 2 && !(n == 1 && fromID == toID && fromType == toType) {
		return nil
	}
	const all = `DELETE FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4`
	if types == nil {
		if _, err := tx.Exec(ctx, all, account, fromID, toType, toID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, all, account, toID, fromType, fromID)
		return err
	}
	for _, at := range types {
		if at.Category == "" {
			at.Category = spoke.CategoryHubSpot
		}
		rev := at.TypeID
		if at.Category == spoke.CategoryHubSpot {
			rev = spoke.PairedAssociationTypeID(at.TypeID)
		}
		const q = all + ` AND category = $5 AND type_id = $6`
		if _, err := tx.Exec(ctx, q, account, fromID, toType, toID, at.Category, at.TypeID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q, account, toID, fromType, fromID, at.Category, rev); err != nil {
			return err
		}
	}
	return nil
}

// customDefaultAssociation returns the USER_DEFINED type a schema's
// association definition gives a pair involving a custom type.
func customDefaultAssociation(ctx context.Context, q querier, account int64, from, to string) (int, bool, error) {
	var id int
	err := q.QueryRow(ctx, `SELECT type_id FROM association_labels WHERE account_id = $1 AND label = '' AND ((from_type = $2 AND to_type = $3) OR (from_type = $3 AND to_type = $2)) ORDER BY type_id LIMIT 1`,
		account, from, to).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// objectTypes resolves the two object types of an association path
// within the account.
func (db *DB) objectTypes(ctx context.Context, account int64, from, to string) (spoke.ObjectType, spoke.ObjectType, error) {
	ft, err := db.ObjectType(ctx, account, from)
	if err != nil {
		return ft, spoke.ObjectType{}, err
	}
	tt, err := db.ObjectType(ctx, account, to)
	return ft, tt, err
}
