package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
	"github.com/spokehq/spoke/flow"
)

const listColumns = `id, name, object_type_id, object_type, processing_type, filter_branch, version, created_at, updated_at, filters_updated_at, deleted_at`

// storedList is a list row with the object type its records are stored
// under.
type storedList struct {
	spoke.List
	objectType string
}

func scanList(s pgx.Row) (*storedList, error) {
	var l storedList
	var id int64
	var filter *string
	var created, updated int64
	var filtersAt, deleted *int64
	if err := s.Scan(&id, &l.Name, &l.ObjectTypeID, &l.objectType, &l.ProcessingType, &filter, &l.Version, &created, &updated, &filtersAt, &deleted); err != nil {
		return nil, err
	}
	l.ID = strconv.FormatInt(id, 10)
	l.CreatedAt, l.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if filtersAt != nil {
		l.FiltersUpdatedAt = time.UnixMilli(*filtersAt).UTC()
	}
	if deleted != nil {
		l.DeletedAt = time.UnixMilli(*deleted).UTC()
	}
	if filter != nil && *filter != "" {
		l.FilterRaw = json.RawMessage(*filter)
		var b spoke.FilterBranch
		if err := json.Unmarshal(l.FilterRaw, &b); err != nil {
			return nil, fmt.Errorf("decode filters of list %d: %w", id, err)
		}
		l.FilterBranch = &b
	}
	return &l, nil
}

// CreateList implements spoke.ListService.
func (db *DB) CreateList(ctx context.Context, account int64, l *spoke.List) (*spoke.List, error) {
	t, err := db.ObjectType(ctx, account, l.ObjectTypeID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(l.Name) == "" {
		return nil, spoke.Invalidf("A list needs a name.")
	}
	switch l.ProcessingType {
	case spoke.ListManual:
		if l.FilterBranch != nil {
			return nil, spoke.Invalidf("A MANUAL list has no filterBranch; its members are added and removed.")
		}
	case spoke.ListDynamic, spoke.ListSnapshot:
		if err := crmrules.CheckListFilter(l.FilterBranch); err != nil {
			return nil, err
		}
	default:
		return nil, spoke.Invalidf("processingType %q is not one of MANUAL, DYNAMIC, SNAPSHOT.", l.ProcessingType)
	}
	now := db.nowMs()
	var filter, filtersAt any
	if l.FilterBranch != nil {
		filter, filtersAt = string(l.FilterRaw), now
	}
	var members []int64
	if l.ProcessingType == spoke.ListSnapshot {
		// A snapshot holds the records that meet the filters now.
		sl := &storedList{List: *l, objectType: t.Name}
		if members, err = db.matching(ctx, account, sl, 0); err != nil {
			return nil, err
		}
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO lists (account_id, name, object_type_id, object_type, processing_type, filter_branch, version, created_at, updated_at, filters_updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9) RETURNING id`, account, l.Name, t.ID, t.Name, l.ProcessingType, filter, now, now, filtersAt).Scan(&id)
		if err != nil {
			if isUniqueViolation(err) {
				return spoke.Errorf(spoke.ECONFLICT, "A list named %q already exists.", l.Name)
			}
			return fmt.Errorf("create list: %w", err)
		}
		for _, m := range members {
			if _, err := tx.Exec(ctx, `INSERT INTO list_memberships (list_id, object_id, first_added_at, added_at) VALUES ($1, $2, $3, $4)`, id, m, now, now); err != nil {
				return fmt.Errorf("fill snapshot list: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.GetList(ctx, account, strconv.FormatInt(id, 10), false)
}

// getList reads a list row; deleted ones only when deleted is true.
func (db *DB) getList(ctx context.Context, q querier, account int64, id string, deleted bool) (*storedList, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, spoke.NotFoundf("List %s does not exist.", id)
	}
	cond := " AND deleted_at IS NULL"
	if deleted {
		cond = ""
	}
	l, err := scanList(q.QueryRow(ctx, `SELECT `+listColumns+` FROM lists WHERE account_id = $1 AND id = $2`+cond, account, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.NotFoundf("List %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read list %s: %w", id, err)
	}
	return l, nil
}

// GetList implements spoke.ListService.
func (db *DB) GetList(ctx context.Context, account int64, id string, deleted bool) (*spoke.List, error) {
	l, err := db.getList(ctx, db.pool, account, id, deleted)
	if err != nil {
		return nil, err
	}
	return db.withSize(ctx, account, l)
}

// withSize counts a list's members.
func (db *DB) withSize(ctx context.Context, account int64, l *storedList) (*spoke.List, error) {
	if l.ProcessingType == spoke.ListDynamic {
		ids, err := db.matching(ctx, account, l, 0)
		if err != nil {
			return nil, err
		}
		l.Size = len(ids)
	} else if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM list_memberships m JOIN records r ON r.id = m.object_id AND NOT r.archived
		WHERE m.list_id = $1`, l.ID).Scan(&l.Size); err != nil {
		return nil, fmt.Errorf("count members of list %s: %w", l.ID, err)
	}
	out := l.List
	return &out, nil
}

// GetListByName implements spoke.ListService.
func (db *DB) GetListByName(ctx context.Context, account int64, objectTypeID, name string) (*spoke.List, error) {
	t, err := db.ObjectType(ctx, account, objectTypeID)
	if err != nil {
		return nil, err
	}
	l, err := scanList(db.pool.QueryRow(ctx, `SELECT `+listColumns+` FROM lists WHERE account_id = $1 AND object_type_id = $2 AND lower(name) = lower($3) AND deleted_at IS NULL`,
		account, t.ID, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.NotFoundf("No list of object type %s is named %q.", objectTypeID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read list %q: %w", name, err)
	}
	return db.withSize(ctx, account, l)
}

// Lists implements spoke.ListService.
func (db *DB) Lists(ctx context.Context, account int64, ids []string) ([]*spoke.List, error) {
	q := `SELECT ` + listColumns + ` FROM lists WHERE account_id = $1 AND deleted_at IS NULL`
	args := []any{account}
	if len(ids) > 0 {
		var nums []int64
		for _, id := range ids {
			if n, err := strconv.ParseInt(id, 10, 64); err == nil {
				nums = append(nums, n)
			}
		}
		q += ` AND id = ANY($2)`
		args = append(args, nums)
	}
	rows, err := db.pool.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list lists: %w", err)
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storedList, error) { return scanList(r) })
	if err != nil {
		return nil, fmt.Errorf("list lists: %w", err)
	}
	out := make([]*spoke.List, 0, len(stored))
	for _, l := range stored {
		sized, err := db.withSize(ctx, account, l)
		if err != nil {
			return nil, err
		}
		out = append(out, sized)
	}
	return out, nil
}

// RenameList implements spoke.ListService.
func (db *DB) RenameList(ctx context.Context, account int64, id, name string) (*spoke.List, error) {
	if strings.TrimSpace(name) == "" {
		return nil, spoke.Invalidf("A list needs a name.")
	}
	return db.updateList(ctx, account, id, `name = $1`, name)
}

// SetListFilters implements spoke.ListService.
func (db *DB) SetListFilters(ctx context.Context, account int64, id string, branch *spoke.FilterBranch, raw json.RawMessage) (*spoke.List, error) {
	l, err := db.getList(ctx, db.pool, account, id, false)
	if err != nil {
		return nil, err
	}
	if l.ProcessingType != spoke.ListDynamic {
		return nil, spoke.Invalidf("List %s is a %s list; only DYNAMIC lists have filters to update.", id, l.ProcessingType)
	}
	if err := crmrules.CheckListFilter(branch); err != nil {
		return nil, err
	}
	return db.updateList(ctx, account, id, `filter_branch = $1, filters_updated_at = $2`, string(raw), db.nowMs())
}

func (db *DB) updateList(ctx context.Context, account int64, id, set string, args ...any) (*spoke.List, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := db.getList(ctx, tx, account, id, false); err != nil {
			return err
		}
		// set names its values $1, $2, ...; the rest follow them.
		n := len(args)
		_, err := tx.Exec(ctx, `UPDATE lists SET `+set+`, version = version + 1, updated_at = $`+strconv.Itoa(n+1)+` WHERE account_id = $`+strconv.Itoa(n+2)+` AND id = $`+strconv.Itoa(n+3),
			append(args, db.nowMs(), account, id)...)
		if isUniqueViolation(err) {
			return spoke.Errorf(spoke.ECONFLICT, "Another list already has this name.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.GetList(ctx, account, id, false)
}

// DeleteList implements spoke.ListService.
func (db *DB) DeleteList(ctx context.Context, account int64, id string) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := db.getList(ctx, tx, account, id, false); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE lists SET deleted_at = $1 WHERE account_id = $2 AND id = $3`, db.nowMs(), account, id)
		return err
	})
}

// RestoreList implements spoke.ListService.
func (db *DB) RestoreList(ctx context.Context, account int64, id string) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		l, err := db.getList(ctx, tx, account, id, true)
		if err != nil {
			return err
		}
		if l.DeletedAt.IsZero() {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE lists SET deleted_at = NULL WHERE account_id = $1 AND id = $2`, account, id)
		if isUniqueViolation(err) {
			return spoke.Errorf(spoke.ECONFLICT, "A live list is named %q; rename it before restoring this one.", l.Name)
		}
		return err
	})
}

// AddListMembers implements spoke.ListService.
func (db *DB) AddListMembers(ctx context.Context, account int64, id string, ids []int64) (*spoke.MembershipChange, error) {
	return db.changeMembers(ctx, account, id, ids, true)
}

// RemoveListMembers implements spoke.ListService.
func (db *DB) RemoveListMembers(ctx context.Context, account int64, id string, ids []int64) (*spoke.MembershipChange, error) {
	return db.changeMembers(ctx, account, id, ids, false)
}

func (db *DB) changeMembers(ctx context.Context, account int64, id string, ids []int64, add bool) (*spoke.MembershipChange, error) {
	ch := &spoke.MembershipChange{Added: []int64{}, Removed: []int64{}, Missing: []int64{}}
	var enrolled bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		*ch = spoke.MembershipChange{Added: []int64{}, Removed: []int64{}, Missing: []int64{}}
		l, err := db.getList(ctx, tx, account, id, false)
		if err != nil {
			return err
		}
		if l.ProcessingType == spoke.ListDynamic {
			return spoke.Invalidf("List %s is DYNAMIC: its members are the records that meet its filters and cannot be added or removed.", id)
		}
		live, err := liveRecords(ctx, tx, account, l.objectType, ids)
		if err != nil {
			return err
		}
		for _, rid := range ids {
			if !live[rid] {
				ch.Missing = append(ch.Missing, rid)
				continue
			}
			added, removed, err := setMembership(ctx, tx, l.ID, rid, add, db.nowMs())
			if err != nil {
				return err
			}
			if added {
				ch.Added = append(ch.Added, rid)
			}
			if removed {
				ch.Removed = append(ch.Removed, rid)
			}
		}
		changed := ch.Added
		if !add {
			changed = ch.Removed
		}
		enrolled, err = db.membershipTrigger(ctx, tx, account, l, changed, add, spoke.WriteSource{Type: spoke.SourceAPI})
		return err
	})
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return ch, nil
}

// membershipTrigger enrolls records that just joined (added) or left a
// static list in the flows whose LIST_BASED criteria they start to meet,
// inside the change's transaction, as a record write does (as on SQLite).
// The trigger is first asked whether any flow of the list's object type
// tests list membership, so a change no flow cares about reads no record.
func (db *DB) membershipTrigger(ctx context.Context, tx pgx.Tx, account int64, l *storedList, ids []int64, added bool, src spoke.WriteSource) (bool, error) {
	fn, _ := db.hooks()
	if fn == nil || len(ids) == 0 {
		return false, nil
	}
	lc := &spoke.ListChange{ListID: l.ID, Added: added}
	if len(fn(spoke.RecordChange{AccountID: account, ObjectType: l.objectType, List: lc, Source: src})) == 0 {
		return false, nil
	}
	rows, _ := tx.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND NOT archived AND id = ANY($2) ORDER BY id`, account, ids)
	recs, err := collectRecords(rows)
	if err != nil {
		return false, fmt.Errorf("read members of list %s for triggers: %w", l.ID, err)
	}
	enrolled := false
	now := db.nowMs()
	for _, rec := range recs {
		ch := spoke.RecordChange{AccountID: account, ObjectType: l.objectType, RecordID: rec.ID, Before: rec.Properties, After: rec.Properties,
			Source: src, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, BeforeUpdatedAt: rec.UpdatedAt, List: lc}
		for _, t := range fn(ch) {
			if stop, err := db.loopGuard(ctx, tx, t, rec.ID, src, now); err != nil {
				return false, err
			} else if stop {
				continue
			}
			ok, err := enrollEvent(ctx, tx, account, t, l.objectType, rec.ID, now)
			if err != nil {
				return false, err
			}
			enrolled = enrolled || ok
		}
	}
	return enrolled, nil
}

// setMembership adds a record to a list or removes it, and reports what
// changed.
func setMembership(ctx context.Context, tx pgx.Tx, listID string, recordID int64, add bool, now int64) (added, removed bool, err error) {
	var tag pgconn.CommandTag
	if add {
		tag, err = tx.Exec(ctx, `INSERT INTO list_memberships (list_id, object_id, first_added_at, added_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (list_id, object_id) DO NOTHING`, listID, recordID, now)
	} else {
		tag, err = tx.Exec(ctx, `DELETE FROM list_memberships WHERE list_id = $1 AND object_id = $2`, listID, recordID)
	}
	if err != nil {
		return false, false, fmt.Errorf("change membership of %d in list %s: %w", recordID, listID, err)
	}
	n := tag.RowsAffected()
	return add && n > 0, !add && n > 0, nil
}

// liveRecords returns which of the ids are live records of the type.
func liveRecords(ctx context.Context, tx pgx.Tx, account int64, objectType string, ids []int64) (map[int64]bool, error) {
	rows, _ := tx.Query(ctx, `SELECT id FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived AND id = ANY($3)`, account, objectType, ids)
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", objectType, err)
	}
	live := make(map[int64]bool, len(found))
	for _, id := range found {
		live[id] = true
	}
	return live, nil
}

// ListMembers implements spoke.ListService.
func (db *DB) ListMembers(ctx context.Context, account int64, id string, after int64, limit int) ([]spoke.ListMember, bool, error) {
	l, err := db.getList(ctx, db.pool, account, id, false)
	if err != nil {
		return nil, false, err
	}
	var out []spoke.ListMember
	if l.ProcessingType == spoke.ListDynamic {
		ids, err := db.matching(ctx, account, l, 0)
		if err != nil {
			return nil, false, err
		}
		for _, rid := range ids {
			if rid > after {
				// A dynamic list's member joined when it last met the
				// filters; Spoke does not record that, so it gives the
				// time the filters last changed.
				out = append(out, spoke.ListMember{RecordID: rid, AddedAt: l.FiltersUpdatedAt})
			}
		}
	} else {
		rows, err := db.pool.Query(ctx, `SELECT m.object_id, m.added_at FROM list_memberships m JOIN records r ON r.id = m.object_id AND NOT r.archived
			WHERE m.list_id = $1 AND m.object_id > $2 ORDER BY m.object_id LIMIT $3`, l.ID, after, limit+1)
		if err != nil {
			return nil, false, fmt.Errorf("read members of list %s: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			var m spoke.ListMember
			var at int64
			if err := rows.Scan(&m.RecordID, &at); err != nil {
				return nil, false, err
			}
			m.AddedAt = time.UnixMilli(at).UTC()
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// RecordLists implements spoke.ListService.
func (db *DB) RecordLists(ctx context.Context, account int64, objectType string, recordID int64) ([]spoke.RecordListMembership, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	recs, err := db.GetRecords(ctx, account, t.Name, []string{strconv.FormatInt(recordID, 10)}, spoke.ReadOptions{})
	if err != nil {
		return nil, err
	}
	rec := recs[strconv.FormatInt(recordID, 10)]
	if rec == nil {
		return nil, spoke.NotFoundf("No %s with id %d.", t.Singular, recordID)
	}
	lists, err := db.Lists(ctx, account, nil)
	if err != nil {
		return nil, err
	}
	out := []spoke.RecordListMembership{}
	for _, l := range lists {
		if l.ObjectTypeID != t.ID {
			continue
		}
		sl := &storedList{List: *l, objectType: t.Name}
		if l.ProcessingType == spoke.ListDynamic {
			in, err := db.InList(ctx, account, l.ID, rec, flow.Env{}, 0)
			if err != nil {
				return nil, err
			}
			if in {
				out = append(out, spoke.RecordListMembership{ListID: l.ID, ListVersion: l.Version, FirstAddedAt: sl.FiltersUpdatedAt, LastAddedAt: sl.FiltersUpdatedAt})
			}
			continue
		}
		var first, last int64
		err := db.pool.QueryRow(ctx, `SELECT first_added_at, added_at FROM list_memberships WHERE list_id = $1 AND object_id = $2`, l.ID, recordID).Scan(&first, &last)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read membership of %d in list %s: %w", recordID, l.ID, err)
		}
		out = append(out, spoke.RecordListMembership{ListID: l.ID, ListVersion: l.Version, FirstAddedAt: time.UnixMilli(first).UTC(), LastAddedAt: time.UnixMilli(last).UTC()})
	}
	return out, nil
}

// InList reports whether a record is a member of a list: for a MANUAL or
// SNAPSHOT list, whether it was added; for a DYNAMIC list, whether the
// record meets the list's filters, read through env.Get when env has one
// (the values a write is about to commit) and from rec otherwise. A list
// that does not exist, is deleted or holds another object type has no
// members. It reads through the read pool, so a trigger may call it
// inside a write transaction.
func (db *DB) InList(ctx context.Context, account int64, listID string, rec *spoke.Record, env flow.Env, depth int) (bool, error) {
	if err := crmrules.CheckListDepth(depth); err != nil {
		return false, err
	}
	l, err := db.getList(ctx, db.pool, account, listID, false)
	if spoke.ErrorCode(err) == spoke.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if l.objectType != rec.ObjectType {
		return false, nil
	}
	if l.ProcessingType != spoke.ListDynamic {
		if in, ok := env.Memberships[l.ID]; ok {
			return in, nil // a change being committed
		}
		var one int
		err := db.pool.QueryRow(ctx, `SELECT 1 FROM list_memberships WHERE list_id = $1 AND object_id = $2`, l.ID, rec.ID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	return crmrules.MeetsFilters(ctx, db, account, l.objectType, l.FilterBranch, rec, env, depth)
}

// matching returns the ids of the live records that meet a list's
// filters, in id order.
func (db *DB) matching(ctx context.Context, account int64, l *storedList, depth int) ([]int64, error) {
	return crmrules.Matching(ctx, db, account, l.objectType, l.FilterBranch, depth)
}
