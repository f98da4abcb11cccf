package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Owners, teams and the users records they maintain follow the SQLite
// store (sqlite/owner.go, sqlite/user.go).

const ownerColumns = `id, user_id, email, first_name, last_name, created_at, updated_at, archived, coalesce(archived_at, 0)`

func scanOwner(s pgx.Row) (*spoke.Owner, error) {
	var o spoke.Owner
	var created, updated, archivedAt int64
	if err := s.Scan(&o.ID, &o.UserID, &o.Email, &o.FirstName, &o.LastName, &created, &updated, &o.Archived, &archivedAt); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if archivedAt != 0 {
		o.ArchivedAt = time.UnixMilli(archivedAt).UTC()
	}
	return &o, nil
}

// ListOwners implements spoke.OwnerService. A negative limit lists all.
func (db *DB) ListOwners(ctx context.Context, account int64, opts spoke.OwnerListOptions) ([]*spoke.Owner, bool, error) {
	q := `SELECT ` + ownerColumns + ` FROM owners WHERE account_id = $1 AND archived = $2 AND id > $3`
	args := []any{account, opts.Archived, opts.After}
	if opts.Email != "" {
		args = append(args, opts.Email)
		q += fmt.Sprintf(` AND lower(email) = lower($%d)`, len(args))
	}
	q += ` ORDER BY id`
	if opts.Limit >= 0 {
		args = append(args, opts.Limit+1)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	owners, err := queryOwners(ctx, db.pool, q, args...)
	if err != nil {
		return nil, false, err
	}
	more := opts.Limit >= 0 && len(owners) > opts.Limit
	if more {
		owners = owners[:opts.Limit]
	}
	return owners, more, nil
}

// queryOwners runs a query of ownerColumns and loads the owners' teams.
func queryOwners(ctx context.Context, q querier, query string, args ...any) ([]*spoke.Owner, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Owner, error) { return scanOwner(r) })
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	byID := map[int64]*spoke.Owner{}
	ids := make([]int64, 0, len(out))
	for _, o := range out {
		byID[o.ID] = o
		ids = append(ids, o.ID)
	}
	rows, err = q.Query(ctx, `SELECT ot.owner_id, t.id, t.name, ot.position FROM owner_teams ot JOIN teams t ON t.id = ot.team_id
		WHERE ot.owner_id = ANY($1) ORDER BY ot.owner_id, ot.position`, ids)
	if err != nil {
		return nil, fmt.Errorf("list owner teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner int64
		var tm spoke.OwnerTeam
		var pos int
		if err := rows.Scan(&owner, &tm.ID, &tm.Name, &pos); err != nil {
			return nil, err
		}
		tm.Primary = pos == 0
		byID[owner].Teams = append(byID[owner].Teams, tm)
	}
	return out, rows.Err()
}

// GetOwner implements spoke.OwnerService.
func (db *DB) GetOwner(ctx context.Context, account int64, id int64, byUserID, archived bool) (*spoke.Owner, error) {
	return getOwner(ctx, db.pool, account, id, byUserID, archived)
}

func getOwner(ctx context.Context, q querier, account int64, id int64, byUserID, archived bool) (*spoke.Owner, error) {
	col := "id"
	if byUserID {
		col = "user_id"
	}
	owners, err := queryOwners(ctx, q, `SELECT `+ownerColumns+` FROM owners WHERE account_id = $1 AND `+col+` = $2 AND archived = $3`, account, id, archived)
	if err != nil {
		return nil, err
	}
	if len(owners) == 0 {
		return nil, ownerNotFound(id)
	}
	return owners[0], nil
}

func ownerNotFound(id int64) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Owner %d was not found.", id), Context: map[string][]string{"ownerId": {fmt.Sprint(id)}}}
}

// checkOwnerInput validates the fields an input sets.
func checkOwnerInput(in spoke.OwnerInput, create bool) error {
	if create && (in.Email == nil || *in.Email == "") {
		return spoke.Invalidf("An owner needs an email.")
	}
	if in.Email != nil {
		a, err := mail.ParseAddress(*in.Email)
		if err != nil || a.Address != *in.Email || !strings.Contains((*in.Email)[strings.LastIndex(*in.Email, "@")+1:], ".") {
			return spoke.Invalidf("Email address %s is invalid.", *in.Email)
		}
	}
	if in.Teams != nil {
		for _, name := range *in.Teams {
			if strings.TrimSpace(name) == "" {
				return spoke.Invalidf("Team names cannot be empty.")
			}
		}
	}
	return nil
}

// checkOwnerEmail returns ECONFLICT naming the live owner (other than
// self) that holds the email. The unique index stays the guard against a
// concurrent write; checking first keeps the transaction usable.
func checkOwnerEmail(ctx context.Context, tx pgx.Tx, account int64, email string, self int64) error {
	var other int64
	err := tx.QueryRow(ctx, `SELECT id FROM owners WHERE account_id = $1 AND NOT archived AND lower(email) = lower($2) AND id != $3`, account, email, self).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check owner email: %w", err)
	}
	return spoke.Errorf(spoke.ECONFLICT, "An owner with email %s already exists. Existing ID: %d", email, other)
}

// ownerWriteError turns a violation of the live-email index (a concurrent
// write took the email after the check) into ECONFLICT.
func ownerWriteError(email string, err error) error {
	if isUniqueViolation(err) {
		return spoke.Errorf(spoke.ECONFLICT, "An owner with email %s already exists.", email)
	}
	return fmt.Errorf("write owner: %w", err)
}

// CreateOwner implements spoke.OwnerService.
func (db *DB) CreateOwner(ctx context.Context, account int64, in spoke.OwnerInput) (*spoke.Owner, error) {
	if err := checkOwnerInput(in, true); err != nil {
		return nil, err
	}
	now := db.nowMs()
	var out *spoke.Owner
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkOwnerEmail(ctx, tx, account, *in.Email, 0); err != nil {
			return err
		}
		id, err := nextID(ctx, tx, "owners")
		if err != nil {
			return err
		}
		user, err := nextID(ctx, tx, "users")
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO owners (id, account_id, user_id, email, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			id, account, user, *in.Email, deref(in.FirstName), deref(in.LastName), now); err != nil {
			return ownerWriteError(*in.Email, err)
		}
		if in.Teams != nil {
			if err := setOwnerTeams(ctx, tx, account, id, *in.Teams, now); err != nil {
				return err
			}
		}
		if out, err = getOwner(ctx, tx, account, id, false, false); err != nil {
			return err
		}
		if err := db.syncUser(ctx, tx, account, out); err != nil {
			return err
		}
		return changedDynamic(ctx, tx)
	})
	db.forgetDefinitions()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateOwner implements spoke.OwnerService.
func (db *DB) UpdateOwner(ctx context.Context, account int64, id int64, in spoke.OwnerInput) (*spoke.Owner, error) {
	if err := checkOwnerInput(in, false); err != nil {
		return nil, err
	}
	now := db.nowMs()
	var out *spoke.Owner
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := getOwner(ctx, tx, account, id, false, false)
		if err != nil {
			return err
		}
		email, first, last := cur.Email, cur.FirstName, cur.LastName
		if in.Email != nil {
			email = *in.Email
		}
		if in.FirstName != nil {
			first = *in.FirstName
		}
		if in.LastName != nil {
			last = *in.LastName
		}
		if err := checkOwnerEmail(ctx, tx, account, email, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE owners SET email = $1, first_name = $2, last_name = $3, updated_at = $4 WHERE id = $5`, email, first, last, now, id); err != nil {
			return ownerWriteError(email, err)
		}
		if in.Teams != nil {
			if err := setOwnerTeams(ctx, tx, account, id, *in.Teams, now); err != nil {
				return err
			}
		}
		if out, err = getOwner(ctx, tx, account, id, false, false); err != nil {
			return err
		}
		if err := db.syncUser(ctx, tx, account, out); err != nil {
			return err
		}
		return changedDynamic(ctx, tx)
	})
	db.forgetDefinitions()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ArchiveOwner implements spoke.OwnerService. Records keep the archived
// owner's id, as on HubSpot; it is no longer an option for new writes.
func (db *DB) ArchiveOwner(ctx context.Context, account int64, id int64) error {
	now := db.nowMs()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE owners SET archived = true, archived_at = $1, updated_at = $1 WHERE account_id = $2 AND id = $3 AND NOT archived`, now, account, id)
		if err != nil {
			return fmt.Errorf("archive owner %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return ownerNotFound(id)
		}
		o, err := getOwner(ctx, tx, account, id, false, true)
		if err != nil {
			return err
		}
		if err := db.syncUser(ctx, tx, account, o); err != nil {
			return err
		}
		return changedDynamic(ctx, tx)
	})
	db.forgetDefinitions()
	return err
}

// setOwnerTeams replaces an owner's teams with the named ones, the first
// primary, creating teams that do not exist.
func setOwnerTeams(ctx context.Context, tx pgx.Tx, account, owner int64, names []string, now int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM owner_teams WHERE owner_id = $1`, owner); err != nil {
		return fmt.Errorf("set owner teams: %w", err)
	}
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		id, err := nextID(ctx, tx, "teams")
		if err != nil {
			return err
		}
		// The upsert makes a team another transaction creates at the same
		// time one team, not a failed write.
		var team int64
		if err := tx.QueryRow(ctx, `INSERT INTO teams (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, name) DO UPDATE SET name = excluded.name RETURNING id`, id, account, name, now).Scan(&team); err != nil {
			return fmt.Errorf("find team %q: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO owner_teams (owner_id, team_id, position) VALUES ($1, $2, $3)`, owner, team, len(seen)-1); err != nil {
			return fmt.Errorf("set owner teams: %w", err)
		}
	}
	return nil
}

// ListTeams implements spoke.OwnerService.
func (db *DB) ListTeams(ctx context.Context, account int64) ([]*spoke.Team, error) {
	rows, _ := db.pool.Query(ctx, `SELECT id, name FROM teams WHERE account_id = $1 ORDER BY id`, account)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Team, error) {
		var t spoke.Team
		return &t, r.Scan(&t.ID, &t.Name)
	})
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// The users object (0-115) holds one record per owner's user, written
// inside the owner's transaction whenever an owner is created, changed or
// archived: the object API reads them and updates only their writable
// properties. HubSpot's record id of a user is not its user id, which is
// hs_internal_user_id (the owners API's userId).

// userProperties are the values a user takes from its owner.
func userProperties(o *spoke.Owner) map[string]string {
	team := ""
	if t := o.PrimaryTeam(); t != nil {
		team = strconv.FormatInt(t.ID, 10)
	}
	return map[string]string{
		"hs_internal_user_id":           strconv.FormatInt(o.UserID, 10),
		"hs_email":                      o.Email,
		"hs_given_name":                 o.FirstName,
		"hs_family_name":                o.LastName,
		"hs_searchable_calculated_name": o.Name(),
		"hs_deactivated":                strconv.FormatBool(o.Archived),
		spoke.PropOwnerID:               strconv.FormatInt(o.ID, 10),
		spoke.PropTeamID:                team,
	}
}

// syncUser writes the users record of owner o inside tx: it creates it,
// updates the values that changed, and archives it with an archived owner.
func (db *DB) syncUser(ctx context.Context, tx pgx.Tx, account int64, o *spoke.Owner) error {
	t, _ := spoke.LookupObjectType("users")
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return err
	}
	w := &writer{db: db, ctx: ctx, tx: tx, account: account, t: t, now: db.nowMs(), defs: defs,
		src: spoke.WriteSource{Type: spoke.SourceCalculated}, touched: touchedSet{}}
	want := userProperties(o)
	cur, err := scanRecord(tx.QueryRow(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND object_type = 'users'
		AND properties @> jsonb_build_object('hs_internal_user_id', $2::text) ORDER BY id LIMIT 1 FOR UPDATE`, account, want["hs_internal_user_id"]))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := w.create(want, nil); err != nil {
			return fmt.Errorf("create the user of owner %d: %w", o.ID, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("find the user of owner %d: %w", o.ID, err)
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
		if _, err := tx.Exec(ctx, `UPDATE records SET archived = true, archived_at = $1, updated_at = $1, version = version + 1 WHERE id = $2`, w.now, cur.ID); err != nil {
			return fmt.Errorf("archive the user of owner %d: %w", o.ID, err)
		}
	}
	return nil
}
