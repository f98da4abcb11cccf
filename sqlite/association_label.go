package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spokehq/spoke"
)

// userLabel returns the labels of a USER_DEFINED type id between two object
// types, as seen from fromType (fwd) and from toType (rev), and whether the
// account defines it between them in either direction.
func userLabel(ctx context.Context, q queryer, account int64, fromType, toType string, typeID int) (fwd, rev string, ok bool, err error) {
	var from, label, inverse string
	err = q.QueryRowContext(ctx, `SELECT from_type, label, inverse_label FROM association_labels
		WHERE type_id = ? AND account_id = ? AND ((from_type = ? AND to_type = ?) OR (from_type = ? AND to_type = ?))`,
		typeID, account, fromType, toType, toType, fromType).Scan(&from, &label, &inverse)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("read association label %d: %w", typeID, err)
	}
	if inverse == "" {
		inverse = label
	}
	if from == fromType {
		return label, inverse, true, nil
	}
	return inverse, label, true, nil
}

// checkAssociationType returns EINVALID unless t may link fromType to
// toType: a HubSpot-defined id of the pair, or a label the account defined
// between them. Integrator-defined types are not checked.
func checkAssociationType(ctx context.Context, q queryer, account int64, fromType, toType string, t spoke.AssociationType) error {
	switch t.Category {
	case spoke.CategoryUser:
		_, _, ok, err := userLabel(ctx, q, account, fromType, toType, t.TypeID)
		if err != nil {
			return err
		}
		if !ok {
			return spoke.Invalidf("associationTypeId %d (USER_DEFINED) is not a label defined between %s and %s; create it with POST /crm/v4/associations/%s/%s/labels.",
				t.TypeID, fromType, toType, fromType, toType)
		}
	case "", spoke.CategoryHubSpot:
		if !spoke.ValidAssociationType(fromType, toType, t) {
			return spoke.Invalidf("associationTypeId %d (%s) is not valid from %s to %s.", t.TypeID, spoke.CategoryHubSpot, fromType, toType)
		}
	}
	return nil
}

// labelName is the form HubSpot requires of a label's internal name.
var labelName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

// AssociationLabels implements spoke.AssociationService.
func (db *DB) AssociationLabels(ctx context.Context, account int64, fromType, toType string) ([]spoke.AssociationType, error) {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return nil, err
	}
	out := spoke.HubSpotAssociationTypes(ft.Name, tt.Name)
	// The internal name belongs to the direction the label was defined in;
	// the reverse direction has none (v3 derives one from its label).
	rows, err := db.read.QueryContext(ctx, `SELECT type_id, CASE WHEN from_type = ? THEN label WHEN inverse_label != '' THEN inverse_label ELSE label END,
		CASE WHEN from_type = ? THEN name ELSE '' END
		FROM association_labels WHERE account_id = ? AND ((from_type = ? AND to_type = ?) OR (from_type = ? AND to_type = ?)) ORDER BY type_id`,
		ft.Name, ft.Name, account, ft.Name, tt.Name, tt.Name, ft.Name)
	if err != nil {
		return nil, fmt.Errorf("list association labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t := spoke.AssociationType{Category: spoke.CategoryUser}
		if err := rows.Scan(&t.TypeID, &t.Label, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateAssociationLabel implements spoke.AssociationService.
func (db *DB) CreateAssociationLabel(ctx context.Context, account int64, fromType, toType, name, label, inverseLabel string) (spoke.AssociationType, error) {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return spoke.AssociationType{}, err
	}
	label, inverseLabel = strings.TrimSpace(label), strings.TrimSpace(inverseLabel)
	switch {
	case !labelName.MatchString(name):
		return spoke.AssociationType{}, spoke.Invalidf("name must be 1 to 100 lower-case letters, digits or underscores, starting with a letter; got %q.", name)
	case label == "":
		return spoke.AssociationType{}, spoke.Invalidf("label is required.")
	case len(label) > 100 || len(inverseLabel) > 100:
		return spoke.AssociationType{}, spoke.Invalidf("label and inverseLabel may have at most 100 characters.")
	}
	var id int
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM association_labels WHERE account_id = ? AND name = ? AND ((from_type = ? AND to_type = ?) OR (from_type = ? AND to_type = ?))`,
			account, name, ft.Name, tt.Name, tt.Name, ft.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return spoke.Invalidf("An association label named %q already exists between %s and %s.", name, ft.Name, tt.Name)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO association_labels (account_id, from_type, to_type, name, label, inverse_label) VALUES (?, ?, ?, ?, ?, ?) RETURNING type_id`,
			account, ft.Name, tt.Name, name, label, inverseLabel).Scan(&id)
	})
	if err != nil {
		return spoke.AssociationType{}, err
	}
	return spoke.AssociationType{Category: spoke.CategoryUser, TypeID: id, Label: label}, nil
}

// UpdateAssociationLabel implements spoke.AssociationService.
func (db *DB) UpdateAssociationLabel(ctx context.Context, account int64, fromType, toType string, typeID int, label, inverseLabel string) error {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return err
	}
	label, inverseLabel = strings.TrimSpace(label), strings.TrimSpace(inverseLabel)
	if label == "" || len(label) > 100 || len(inverseLabel) > 100 {
		return spoke.Invalidf("label is required, and label and inverseLabel may have at most 100 characters.")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var from string
		err := tx.QueryRowContext(ctx, `SELECT from_type FROM association_labels WHERE type_id = ? AND account_id = ? AND ((from_type = ? AND to_type = ?) OR (from_type = ? AND to_type = ?))`,
			typeID, account, ft.Name, tt.Name, tt.Name, ft.Name).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return spoke.NotFoundf("No association label %d between %s and %s.", typeID, ft.Name, tt.Name)
		}
		if err != nil {
			return err
		}
		// Stored as defined: label reads from the defining type.
		if from != ft.Name {
			label, inverseLabel = inverseLabel, label
			if label == "" {
				label = inverseLabel
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE association_labels SET label = ?, inverse_label = ? WHERE type_id = ?`, label, inverseLabel, typeID); err != nil {
			return err
		}
		return relabel(ctx, tx, account, typeID)
	})
}

// relabel writes a label's current names onto the associations of its
// type, in both directions.
func relabel(ctx context.Context, tx *sql.Tx, account int64, typeID int) error {
	_, err := tx.ExecContext(ctx, `UPDATE associations SET label = (
			SELECT CASE WHEN r.object_type = l.from_type THEN l.label WHEN l.inverse_label != '' THEN l.inverse_label ELSE l.label END
			FROM association_labels l, records r WHERE l.type_id = associations.type_id AND r.id = associations.from_id)
		WHERE account_id = ? AND category = ? AND type_id = ?`, account, spoke.CategoryUser, typeID)
	if err != nil {
		return fmt.Errorf("relabel associations of type %d: %w", typeID, err)
	}
	return nil
}

// DeleteAssociationLabel implements spoke.AssociationService.
func (db *DB) DeleteAssociationLabel(ctx context.Context, account int64, fromType, toType string, typeID int) error {
	ft, tt, err := db.objectTypes(ctx, account, fromType, toType)
	if err != nil {
		return err
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM association_labels WHERE type_id = ? AND account_id = ? AND ((from_type = ? AND to_type = ?) OR (from_type = ? AND to_type = ?))`,
			typeID, account, ft.Name, tt.Name, tt.Name, ft.Name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return spoke.NotFoundf("No association label %d between %s and %s.", typeID, ft.Name, tt.Name)
		}
		// Both directions are rows, so their from ids are every record
		// that loses a link; a link that was only this label goes.
		touched := touchedSet{}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT from_id FROM associations WHERE account_id = ? AND category = ? AND type_id = ?`, account, spoke.CategoryUser, typeID)
		if err != nil {
			return fmt.Errorf("read the associations of label %d: %w", typeID, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			touched.Add(id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM associations WHERE account_id = ? AND category = ? AND type_id = ?`, account, spoke.CategoryUser, typeID); err != nil {
			return err
		}
		_, enrolled, err = db.recount(ctx, db.txSession(tx), account, touched)
		return err
	})
	if err == nil && enrolled {
		db.notifyEnrolled()
	}
	return err
}

// objectTypes resolves the two object types of an association label
// path within the account.
func (db *DB) objectTypes(ctx context.Context, account int64, from, to string) (spoke.ObjectType, spoke.ObjectType, error) {
	ft, err := db.ObjectType(ctx, account, from)
	if err != nil {
		return ft, spoke.ObjectType{}, err
	}
	tt, err := db.ObjectType(ctx, account, to)
	return ft, tt, err
}
