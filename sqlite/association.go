package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/spokehq/spoke"
)

// recordType returns the object type of a live record, or ENOTFOUND.
func recordType(ctx context.Context, q queryer, account, id int64) (string, error) {
	var typ string
	err := q.QueryRowContext(ctx, qRecordType, account, id).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		e := spoke.ObjectNotFound(strconv.FormatInt(id, 10))
		e.Message += fmt.Sprintf(" No record %d.", id)
		return "", e
	}
	return typ, err
}

// link stores both directions of an association inside tx. It reports
// whether the two records were not linked before (by any type), which
// changes their association counts.
func link(ctx context.Context, s session, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) (bool, error) {
	linked, err := pairLinked(ctx, s, account, fromID, toType, toID)
	if err != nil {
		return false, err
	}
	for _, at := range types {
		if at.Category == "" {
			at.Category = spoke.CategoryHubSpot
		}
		if err := checkAssociationType(ctx, s, account, fromType, toType, at); err != nil {
			return false, err
		}
		if err := demotePrimary(ctx, s, account, fromType, fromID, toType, toID, at); err != nil {
			return false, err
		}
		rev := at
		switch at.Category {
		case spoke.CategoryHubSpot:
			rev.TypeID = spoke.PairedAssociationTypeID(at.TypeID)
			at.Label, rev.Label = spoke.HubSpotAssociationLabel(at.TypeID), spoke.HubSpotAssociationLabel(rev.TypeID)
		case spoke.CategoryUser:
			fwd, back, _, err := userLabel(ctx, s, account, fromType, toType, at.TypeID)
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
			if _, err := s.ExecContext(ctx, qLink,
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
		toType, err := recordType(w.ctx, w.s, w.account, toID)
		if err != nil {
			return nil, err
		}
		if len(a.Types) == 0 {
			return nil, spoke.Invalidf("association to %s needs at least one type", a.ToID)
		}
		for _, at := range a.Types {
			if err := checkAssociationType(w.ctx, w.s, w.account, w.t.Name, toType, at); err != nil {
				return nil, err
			}
		}
		out = append(out, pendingLink{toType: toType, toID: toID, types: a.Types})
	}
	return out, nil
}

// Associate implements spoke.AssociationService.
func (db *DB) Associate(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) ([]spoke.AssociationType, error) {
	ft, err := db.ObjectType(ctx, account, fromType)
	if err != nil {
		return nil, err
	}
	tt, err := db.ObjectType(ctx, account, toType)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		if id, ok := spoke.DefaultAssociationTypeID(ft.Name, tt.Name); ok {
			types = []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}
		} else if id, ok, err := customDefaultAssociation(ctx, db.read, account, ft.Name, tt.Name); err != nil {
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
	err = db.inTx(ctx, func(tx *sql.Tx) error {
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
		s := db.txSession(tx)
		added, err := link(ctx, s, account, ft.Name, fromID, tt.Name, toID, types)
		if err != nil {
			return err
		}
		if enrolled, err = db.associationAdded(ctx, s, account, ft.Name, fromID, tt.Name, toID, types); err != nil {
			return err
		}
		touched := touchedSet{}
		touched.Touch(fromID) // a primary company may have changed
		touched.Touch(toID)
		if added {
			touched.Linked(fromID, ft.Name, toID, tt.Name, 1)
		}
		_, counted, err := db.recount(ctx, s, account, touched)
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
	rows, err := db.read.QueryContext(ctx, `SELECT a.to_id, a.category, a.type_id, a.label FROM associations a
		JOIN records r ON r.id = a.to_id AND r.archived = 0
		JOIN records f ON f.id = a.from_id AND f.object_type = ?
		WHERE a.account_id = ? AND a.from_id = ? AND a.to_type = ? AND a.to_id > ?
		  AND a.to_id IN (SELECT DISTINCT x.to_id FROM associations x JOIN records xr ON xr.id = x.to_id AND xr.archived = 0
		    WHERE x.account_id = ? AND x.from_id = ? AND x.to_type = ? AND x.to_id > ? ORDER BY x.to_id LIMIT ?)
		ORDER BY a.to_id, a.category, a.type_id`, ft.Name, account, fromID, tt.Name, after, account, fromID, tt.Name, after, limit+1)
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
		if at.Category == spoke.CategoryHubSpot && at.Label == "" {
			at.Label = spoke.HubSpotAssociationLabel(at.TypeID) // stored before labels were
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
	ft, err := db.ObjectType(ctx, account, fromType)
	if err != nil {
		return err
	}
	tt, err := db.ObjectType(ctx, account, toType)
	if err != nil {
		return err
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		s := db.txSession(tx)
		was, err := pairLinked(ctx, s, account, fromID, tt.Name, toID)
		if err != nil {
			return err
		}
		if err := deleteLinks(ctx, tx, account, ft.Name, fromID, tt.Name, toID, types); err != nil {
			return err
		}
		touched := touchedSet{}
		touched.Touch(fromID) // a primary company may have gone
		touched.Touch(toID)
		if is, err := pairLinked(ctx, s, account, fromID, tt.Name, toID); err != nil {
			return err
		} else if was && !is {
			// The counts moved by one, unless one side is archived (it was
			// not counted): then count both anew.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE account_id = ? AND id IN (?, ?) AND archived = 0`, account, fromID, toID).Scan(&n); err != nil {
				return err
			}
			if n == 2 || (n == 1 && fromID == toID) {
				touched.Linked(fromID, ft.Name, toID, tt.Name, -1)
			} else {
				touched.Add(fromID, toID)
			}
		}
		_, enrolled, err = db.recount(ctx, s, account, touched)
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
func deleteLinks(ctx context.Context, tx *sql.Tx, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) error {
	// Links are stored by record id: with the wrong from type only one
	// direction would match and be removed, so check the types first.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE account_id = ? AND ((id = ? AND object_type = ?) OR (id = ? AND object_type = ?))`,
		account, fromID, fromType, toID, toType).Scan(&n); err != nil {
		return err
	}
	if n != 2 && !(n == 1 && fromID == toID && fromType == toType) {
		return nil
	}
	if types == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ?`, account, fromID, toType, toID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ?`, account, toID, fromType, fromID)
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
		const q = `DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ? AND category = ? AND type_id = ?`
		if _, err := tx.ExecContext(ctx, q, account, fromID, toType, toID, at.Category, at.TypeID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q, account, toID, fromType, fromID, at.Category, rev); err != nil {
			return err
		}
	}
	return nil
}
