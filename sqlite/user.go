package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/spokehq/spoke"
)

// The users object (0-115) holds one record per owner's user. Its records
// are written here, inside the owner's transaction, whenever an owner is
// created, changed or archived: the object API reads them and updates only
// their writable properties (job title, phone, time zone, working hours,
// availability). HubSpot's record id of a user is not its user id, which
// is hs_internal_user_id (the owners API's userId).

// qUserRecord finds the users record of a user id, live or archived.
const qUserRecord = `SELECT id FROM records WHERE account_id = ? AND object_type = 'users' AND json_extract(properties, '$.hs_internal_user_id') = ? ORDER BY id LIMIT 1`

// userProperties are the values a user takes from its owner.
func userProperties(o *spoke.Owner) map[string]string {
	team := ""
	if t := o.PrimaryTeam(); t != nil {
		team = strconv.FormatInt(t.ID, 10)
	}
	name := o.Name()
	return map[string]string{
		"hs_internal_user_id":           strconv.FormatInt(o.UserID, 10),
		"hs_email":                      o.Email,
		"hs_given_name":                 o.FirstName,
		"hs_family_name":                o.LastName,
		"hs_searchable_calculated_name": name,
		"hs_deactivated":                strconv.FormatBool(o.Archived),
		spoke.PropOwnerID:               strconv.FormatInt(o.ID, 10),
		spoke.PropTeamID:                team,
	}
}

// syncUser writes the users record of owner o inside the transaction of s:
// it creates it, updates the values that changed, and archives it with an
// archived owner.
func (db *DB) syncUser(ctx context.Context, s session, account int64, o *spoke.Owner) error {
	t, _ := spoke.LookupObjectType("users")
	defs, err := db.definitions(ctx, account, t.Name)
	if err != nil {
		return err
	}
	w := &writer{db: db, ctx: ctx, s: s, account: account, t: t, now: db.nowMs(), defs: defs,
		src: spoke.WriteSource{Type: spoke.SourceCalculated}}
	want := userProperties(o)
	var id int64
	err = s.QueryRowContext(ctx, qUserRecord, account, want["hs_internal_user_id"]).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := w.create(want, nil); err != nil {
			return fmt.Errorf("create the user of owner %d: %w", o.ID, err)
		}
	case err != nil:
		return fmt.Errorf("find the user of owner %d: %w", o.ID, err)
	default:
		cur, err := scanRecord(s.QueryRowContext(ctx, lookupSQL(t.Name, o.Archived, byID), account, id))
		if errors.Is(err, sql.ErrNoRows) {
			// Live owner, archived user, or the reverse: only an owner's
			// archive changes that, below.
			cur, err = scanRecord(s.QueryRowContext(ctx, lookupSQL(t.Name, !o.Archived, byID), account, id))
		}
		if err != nil {
			return fmt.Errorf("read the user of owner %d: %w", o.ID, err)
		}
		changed := map[string]string{}
		for k, v := range want {
			if cur.Properties[k] != v {
				changed[k] = v
			}
		}
		if len(changed) > 0 {
			if _, err := w.update(cur, changed, false); err != nil {
				return fmt.Errorf("update the user of owner %d: %w", o.ID, err)
			}
		}
		if o.Archived && !cur.Archived {
			if _, err := s.ExecContext(ctx, `UPDATE records SET archived = 1, archived_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`, w.now, w.now, id); err != nil {
				return fmt.Errorf("archive the user of owner %d: %w", o.ID, err)
			}
		}
	}
	return w.flush()
}

// backfillUsers gives every owner without one its users record: owners
// created before the users object existed.
func (db *DB) backfillUsers(ctx context.Context) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT o.account_id, o.id FROM owners o WHERE NOT EXISTS (SELECT 1 FROM records r
			WHERE r.account_id = o.account_id AND r.object_type = 'users' AND json_extract(r.properties, '$.hs_internal_user_id') = CAST(o.user_id AS TEXT))`)
		if err != nil {
			return fmt.Errorf("find owners without users: %w", err)
		}
		type owner struct{ account, id int64 }
		var missing []owner
		for rows.Next() {
			var o owner
			if err := rows.Scan(&o.account, &o.id); err != nil {
				rows.Close()
				return err
			}
			missing = append(missing, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		s := db.txSession(tx)
		for _, m := range missing {
			o, err := db.getOwner(ctx, tx, m.account, m.id, false, false)
			if err != nil {
				if o, err = db.getOwner(ctx, tx, m.account, m.id, false, true); err != nil {
					return err
				}
			}
			if err := db.syncUser(ctx, s, m.account, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// errUserWrite refuses a create, archive or erasure of a user through the
// objects API: users come and go with their owners.
func errUserWrite(what string) error {
	return spoke.Invalidf("Users cannot be %s through the CRM objects API: a user comes and goes with its owner (the /spoke/v1/owners API or spoke owners). Update sets a user's writable properties.", what)
}
