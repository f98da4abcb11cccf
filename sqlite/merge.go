package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// MergeRecords implements spoke.RecordService. In one transaction the
// merged record is archived (which frees its email for the primary), its
// associations move to the primary, and the primary takes the merged
// record's values for the properties it has no value for; its own values
// win. The fill is an ordinary update of the primary, with history and
// enrollment triggers.
func (db *DB) MergeRecords(ctx context.Context, account int64, objectType string, primaryID, mergedID int64, src spoke.WriteSource) (*spoke.Record, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	if primaryID == mergedID {
		return nil, spoke.Invalidf("Cannot merge %s %d with itself: primaryObjectId and objectIdToMerge must differ.", t.Singular, primaryID)
	}
	defs, err := db.definitions(ctx, account, t.Name)
	if err != nil {
		return nil, err
	}
	lookup, err := db.idLookup(ctx, account, t, "")
	if err != nil {
		return nil, err
	}
	var out *spoke.Record
	var notify bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		s := db.txSession(tx)
		recs := make([]*spoke.Record, 2)
		for i, id := range []int64{primaryID, mergedID} {
			r, err := lookup(ctx, s, strconv.FormatInt(id, 10), false)
			if err != nil {
				return err
			}
			if r == nil {
				return spoke.NotFoundf("Object not found. No live %s with id %d to merge.", t.Singular, id)
			}
			recs[i] = r
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
		if _, err := s.ExecContext(ctx, `UPDATE records SET archived = 1, archived_at = ?, updated_at = ?, version = version + 1, merged_into = ? WHERE id = ?`,
			now, now, primaryID, mergedID); err != nil {
			return fmt.Errorf("archive merged %s %d: %w", t.Singular, mergedID, err)
		}
		// Records merged into the merged one now lead to the primary.
		if _, err := s.ExecContext(ctx, `UPDATE records SET merged_into = ? WHERE account_id = ? AND merged_into = ?`, primaryID, account, mergedID); err != nil {
			return fmt.Errorf("redirect merges into %d: %w", mergedID, err)
		}
		// The records linked to either count them anew (a record linked to
		// both now counts one).
		touched := touchedSet{}
		touched.Add(primaryID)
		if err := addNeighbours(ctx, s, account, mergedID, touched); err != nil {
			return err
		}
		ownPrimary, err := primaryCompany(ctx, s, account, t.Name, primaryID)
		if err != nil {
			return err
		}
		if err := moveAssociations(ctx, s, account, t.Name, mergedID, primaryID); err != nil {
			return err
		}
		if err := keepPrimaryCompany(ctx, s, account, t.Name, primaryID, ownPrimary); err != nil {
			return err
		}
		res, _, err := db.writeRecords(ctx, s, account, t.Name, spoke.WriteUpdate,
			[]spoke.RecordInput{{ID: strconv.FormatInt(primaryID, 10), Properties: fill}}, src, nil)
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		out = res[0].Record
		// hs_merged_object_ids is read-only to writers: set it directly.
		ids := mergedIDs(primary.Properties[spoke.PropMergedObjectIDs], strconv.FormatInt(mergedID, 10), merged.Properties[spoke.PropMergedObjectIDs])
		if _, err := s.ExecContext(ctx, `UPDATE records SET properties = json_set(properties, '$.`+spoke.PropMergedObjectIDs+`', ?), version = version + 1 WHERE id = ?`, ids, primaryID); err != nil {
			return fmt.Errorf("record the merge on %d: %w", primaryID, err)
		}
		w := &writer{db: db, ctx: ctx, s: s, account: account, t: t, src: src, now: now}
		if err := w.history(primaryID, map[string]string{spoke.PropMergedObjectIDs: ids}); err != nil {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		props := make(map[string]string, len(out.Properties)+1)
		for k, v := range out.Properties {
			props[k] = v
		}
		props[spoke.PropMergedObjectIDs] = ids
		out.Properties, out.Version = props, out.Version+1
		recounted, enrolled, err := db.recount(ctx, s, account, touched)
		if err != nil {
			return err
		}
		if r := recounted[primaryID]; r != nil {
			out = r
		}
		notify = enrolled
		return nil
	})
	if notify {
		db.notifyEnrolled()
	}
	return out, err
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
func moveAssociations(ctx context.Context, s session, account int64, objectType string, from, to int64) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT OR IGNORE INTO associations (account_id, from_id, to_type, to_id, category, type_id, label)
			SELECT account_id, ?, to_type, to_id, category, type_id, label FROM associations WHERE account_id = ? AND from_id = ?`, []any{to, account, from}},
		{`DELETE FROM associations WHERE account_id = ? AND from_id = ?`, []any{account, from}},
		{`INSERT OR IGNORE INTO associations (account_id, from_id, to_type, to_id, category, type_id, label)
			SELECT account_id, from_id, to_type, ?, category, type_id, label FROM associations WHERE account_id = ? AND to_type = ? AND to_id = ?`, []any{to, account, objectType, from}},
		{`DELETE FROM associations WHERE account_id = ? AND to_type = ? AND to_id = ?`, []any{account, objectType, from}},
		// The two records were associated with each other.
		{`DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ?`, []any{account, to, objectType, to}},
	}
	for _, st := range steps {
		if _, err := s.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("move associations of %d to %d: %w", from, to, err)
		}
	}
	return nil
}

// PurgeRecord implements spoke.RecordService: it deletes, for good, the
// record (live or archived) and everything stored about it: its property
// history, its associations, and its enrollments with their execution logs,
// which hold its values as inputs.
func (db *DB) PurgeRecord(ctx context.Context, account int64, objectType, id, idProperty string) error {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return err
	}
	if t.FromOwners {
		return errUserWrite("deleted")
	}
	lookup, err := db.idLookup(ctx, account, t, idProperty)
	if err != nil {
		return err
	}
	var enrolled bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		s := db.txSession(tx)
		var rec *spoke.Record
		for _, archived := range []bool{false, true} {
			if rec, err = lookup(ctx, s, id, archived); err != nil || rec != nil {
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
		if err := addNeighbours(ctx, s, account, rec.ID, touched); err != nil {
			return err
		}
		for _, st := range []struct {
			q    string
			args []any
		}{
			// No index leads with the enrollment or the object: these scan
			// the account's executions and enrollments, which a rare
			// erasure can afford better than every insert an index.
			{`DELETE FROM execution_steps WHERE account_id = ? AND object_id = ? AND enrollment_id IN (SELECT id FROM enrollments WHERE account_id = ? AND object_type = ? AND object_id = ?)`,
				[]any{account, rec.ID, account, t.Name, rec.ID}},
			// The events that enrolled it (a webhook body may hold personal
			// data) and its list memberships go too.
			{`DELETE FROM enrollment_events WHERE enrollment_id IN (SELECT id FROM enrollments WHERE account_id = ? AND object_type = ? AND object_id = ?)`,
				[]any{account, t.Name, rec.ID}},
			{`DELETE FROM enrollments WHERE account_id = ? AND object_type = ? AND object_id = ?`, []any{account, t.Name, rec.ID}},
			{`DELETE FROM list_memberships WHERE object_id = ?`, []any{rec.ID}},
			{`DELETE FROM associations WHERE account_id = ? AND from_id = ?`, []any{account, rec.ID}},
			{`DELETE FROM associations WHERE account_id = ? AND to_type = ? AND to_id = ?`, []any{account, t.Name, rec.ID}},
			{`DELETE FROM property_history WHERE record_id = ?`, []any{rec.ID}},
			{`DELETE FROM records WHERE id = ?`, []any{rec.ID}},
		} {
			if _, err := s.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("purge %s %d: %w", t.Singular, rec.ID, err)
			}
		}
		delete(touched, rec.ID)
		_, enrolled, err = db.recount(ctx, s, account, touched)
		return err
	})
	if err == nil && enrolled {
		db.notifyEnrolled()
	}
	return err
}
