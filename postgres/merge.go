package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// MergeRecords implements spoke.RecordService as on SQLite. In one
// transaction the merged record is archived (which frees its email for the
// primary), its associations move to the primary, and the primary takes the
// merged record's values for the properties it has no value for; its own
// values win. The fill is an ordinary update of the primary, with history
// and enrollment triggers.
func (db *DB) MergeRecords(ctx context.Context, account int64, objectType string, primaryID, mergedID int64, src spoke.WriteSource) (*spoke.Record, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	if primaryID == mergedID {
		return nil, spoke.Invalidf("Cannot merge %s %d with itself: primaryObjectId and objectIdToMerge must differ.", t.Singular, primaryID)
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return nil, err
	}
	var out *spoke.Record
	var notify bool
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		notify = false
		recs := make([]*spoke.Record, 2)
		// Lock in id order, so two merges of the same pair cannot deadlock.
		ids := []int64{min(primaryID, mergedID), max(primaryID, mergedID)}
		for _, id := range ids {
			r, err := db.lookup(ctx, tx, account, t, defs, "", strconv.FormatInt(id, 10), false, true)
			if err != nil {
				return err
			}
			if r == nil {
				return spoke.NotFoundf("Object not found. No live %s with id %d to merge.", t.Singular, id)
			}
			if id == primaryID {
				recs[0] = r
			} else {
				recs[1] = r
			}
		}
		primary, merged := recs[0], recs[1]
		fill := map[string]string{}
		for name, v := range merged.Properties {
			p, ok := defs[name]
			if !ok || p.ReadOnlyValue || t.IsComputedProperty(name) || v == "" || primary.Properties[name] != "" {
				continue
			}
			fill[name] = v
		}
		now := db.nowMs()
		if _, err := tx.Exec(ctx, `UPDATE records SET archived = true, archived_at = $1, updated_at = $1, version = version + 1, merged_into = $2 WHERE id = $3`,
			now, primaryID, mergedID); err != nil {
			return fmt.Errorf("archive merged %s %d: %w", t.Singular, mergedID, err)
		}
		// Records merged into the merged one now lead to the primary.
		if _, err := tx.Exec(ctx, `UPDATE records SET merged_into = $1 WHERE account_id = $2 AND merged_into = $3`, primaryID, account, mergedID); err != nil {
			return fmt.Errorf("redirect merges into %d: %w", mergedID, err)
		}
		// The records linked to either count them anew (a record linked to
		// both now counts one).
		touched := touchedSet{}
		touched.Add(primaryID)
		if err := addNeighbours(ctx, tx, account, mergedID, touched); err != nil {
			return err
		}
		ownPrimary, err := primaryCompany(ctx, tx, account, t.Name, primaryID)
		if err != nil {
			return err
		}
		if err := moveAssociations(ctx, tx, account, t.Name, mergedID, primaryID); err != nil {
			return err
		}
		if err := keepPrimaryCompany(ctx, tx, account, t.Name, primaryID, ownPrimary); err != nil {
			return err
		}
		res, enrolled, err := db.writeRecords(ctx, tx, account, t.Name, spoke.WriteUpdate,
			[]spoke.RecordInput{{ID: strconv.FormatInt(primaryID, 10), Properties: fill}}, src, nil)
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		out = res[0].Record
		// hs_merged_object_ids is read-only to writers: set it directly.
		mergedIDs := mergedIDs(primary.Properties[spoke.PropMergedObjectIDs], strconv.FormatInt(mergedID, 10), merged.Properties[spoke.PropMergedObjectIDs])
		if _, err := tx.Exec(ctx, `UPDATE records SET properties = properties || jsonb_build_object($1::text, $2::text), version = version + 1 WHERE id = $3`,
			spoke.PropMergedObjectIDs, mergedIDs, primaryID); err != nil {
			return fmt.Errorf("record the merge on %d: %w", primaryID, err)
		}
		w := &writer{db: db, ctx: ctx, tx: tx, account: account, t: t, src: src, now: now}
		if err := w.history(primaryID, map[string]string{spoke.PropMergedObjectIDs: mergedIDs}); err != nil {
			return err
		}
		props := make(map[string]string, len(out.Properties)+1)
		for k, v := range out.Properties {
			props[k] = v
		}
		props[spoke.PropMergedObjectIDs] = mergedIDs
		out.Properties, out.Version = props, out.Version+1
		recounted, counted, err := db.recount(ctx, tx, account, touched)
		if err != nil {
			return err
		}
		if r := recounted[primaryID]; r != nil {
			out = r
		}
		notify = enrolled || counted
		return nil
	})
	if err != nil {
		return nil, err
	}
	if notify {
		db.notifyEnrolled()
	}
	return out, nil
}

// mergedIDs joins id lists ("1;2") and ids with semicolons, each id once.
func mergedIDs(lists ...string) string {
	var ids []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, id := range strings.Split(l, ";") {
			if id = strings.TrimSpace(id); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return strings.Join(ids, ";")
}

// moveAssociations gives to record to every association of record from, in
// both directions, and drops those that would link to to itself.
func moveAssociations(ctx context.Context, tx pgx.Tx, account int64, objectType string, from, to int64) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO associations (account_id, from_id, to_type, to_id, category, type_id, label)
			SELECT account_id, $1, to_type, to_id, category, type_id, label FROM associations WHERE account_id = $2 AND from_id = $3
			ON CONFLICT DO NOTHING`, []any{to, account, from}},
		{`DELETE FROM associations WHERE account_id = $1 AND from_id = $2`, []any{account, from}},
		{`INSERT INTO associations (account_id, from_id, to_type, to_id, category, type_id, label)
			SELECT account_id, from_id, to_type, $1, category, type_id, label FROM associations WHERE account_id = $2 AND to_type = $3 AND to_id = $4
			ON CONFLICT DO NOTHING`, []any{to, account, objectType, from}},
		{`DELETE FROM associations WHERE account_id = $1 AND to_type = $2 AND to_id = $3`, []any{account, objectType, from}},
		// The two records were associated with each other.
		{`DELETE FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = $3 AND to_id = $2`, []any{account, to, objectType}},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("move associations of %d to %d: %w", from, to, err)
		}
	}
	return nil
}

// PurgeRecord implements spoke.RecordService as on SQLite: it deletes,
// for good, the record (live or archived) and everything stored about it:
// its property history, its associations, and its enrollments with their
// execution logs, which hold its values as inputs.
func (db *DB) PurgeRecord(ctx context.Context, account int64, objectType, id, idProperty string) error {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return err
	}
	if t.FromOwners {
		return errUserWrite("deleted")
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return err
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var rec *spoke.Record
		var err error
		for _, archived := range []bool{false, true} {
			if rec, err = db.lookup(ctx, tx, account, t, defs, idProperty, id, archived, true); err != nil || rec != nil {
				break
			}
		}
		if err != nil {
			return err
		}
		if rec == nil {
			return spoke.NotFoundf("Object not found. No %s with %s %s.", t.Singular, map[bool]string{true: "id", false: idProperty}[idProperty == ""], id)
		}
		touched := touchedSet{}
		if err := addNeighbours(ctx, tx, account, rec.ID, touched); err != nil {
			return err
		}
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM executions WHERE account_id = $1 AND object_id = $2 AND enrollment_id IN (SELECT id FROM enrollments WHERE account_id = $1 AND object_type = $3 AND object_id = $2)`,
				[]any{account, rec.ID, t.Name}},
			// The events that enrolled it (a webhook body may hold personal
			// data) and its list memberships go too.
			{`DELETE FROM enrollment_events WHERE enrollment_id IN (SELECT id FROM enrollments WHERE account_id = $1 AND object_type = $2 AND object_id = $3)`,
				[]any{account, t.Name, rec.ID}},
			{`DELETE FROM enrollments WHERE account_id = $1 AND object_type = $2 AND object_id = $3`, []any{account, t.Name, rec.ID}},
			{`DELETE FROM list_memberships WHERE object_id = $1`, []any{rec.ID}},
			{`DELETE FROM associations WHERE account_id = $1 AND from_id = $2`, []any{account, rec.ID}},
			{`DELETE FROM associations WHERE account_id = $1 AND to_type = $2 AND to_id = $3`, []any{account, t.Name, rec.ID}},
			{`DELETE FROM property_history WHERE record_id = $1`, []any{rec.ID}},
			{`DELETE FROM records WHERE id = $1`, []any{rec.ID}},
		} {
			if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("purge %s %d: %w", t.Singular, rec.ID, err)
			}
		}
		delete(touched, rec.ID)
		_, enrolled, err = db.recount(ctx, tx, account, touched)
		return err
	})
	if err == nil && enrolled {
		db.notifyEnrolled()
	}
	return err
}

// errUserWrite refuses a write that only the owners API may make.
func errUserWrite(what string) error {
	return spoke.Invalidf("Users cannot be %s through the CRM objects API: a user comes and goes with its owner (the /spoke/v1/owners API or spoke owners). Update sets a user's writable properties.", what)
}
