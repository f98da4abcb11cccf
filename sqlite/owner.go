package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/spokehq/spoke"
)

const ownerColumns = `id, user_id, email, first_name, last_name, created_at, updated_at, archived, archived_at`

func scanOwner(s interface{ Scan(...any) error }) (*spoke.Owner, error) {
	var o spoke.Owner
	var created, updated int64
	var archivedAt sql.NullInt64
	if err := s.Scan(&o.ID, &o.UserID, &o.Email, &o.FirstName, &o.LastName, &created, &updated, &o.Archived, &archivedAt); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if archivedAt.Valid {
		o.ArchivedAt = time.UnixMilli(archivedAt.Int64).UTC()
	}
	return &o, nil
}

// ListOwners implements spoke.OwnerService. A negative limit lists all.
func (db *DB) ListOwners(ctx context.Context, account int64, opts spoke.OwnerListOptions) ([]*spoke.Owner, bool, error) {
	q := `SELECT ` + ownerColumns + ` FROM owners WHERE account_id = ? AND archived = ? AND id > ?`
	args := []any{account, opts.Archived, opts.After}
	if opts.Email != "" {
		q += ` AND lower(email) = lower(?)`
		args = append(args, opts.Email)
	}
	q += ` ORDER BY id`
	if opts.Limit >= 0 {
		q += ` LIMIT ?`
		args = append(args, opts.Limit+1)
	}
	owners, err := db.queryOwners(ctx, db.read, q, args...)
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
func (db *DB) queryOwners(ctx context.Context, q queryer, query string, args ...any) ([]*spoke.Owner, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	var out []*spoke.Owner
	byID := map[int64]*spoke.Owner{}
	for rows.Next() {
		o, err := scanOwner(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
		byID[o.ID] = o
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, o := range out {
		ids = append(ids, o.ID)
	}
	for len(ids) > 0 {
		part := ids[:min(500, len(ids))]
		ids = ids[len(part):]
		rows, err := q.QueryContext(ctx, `SELECT ot.owner_id, t.id, t.name, ot.position FROM owner_teams ot JOIN teams t ON t.id = ot.team_id
			WHERE ot.owner_id IN (`+placeholders(len(part))+`) ORDER BY ot.owner_id, ot.position`, part...)
		if err != nil {
			return nil, fmt.Errorf("list owner teams: %w", err)
		}
		for rows.Next() {
			var owner int64
			var tm spoke.OwnerTeam
			var pos int
			if err := rows.Scan(&owner, &tm.ID, &tm.Name, &pos); err != nil {
				rows.Close()
				return nil, err
			}
			tm.Primary = pos == 0
			byID[owner].Teams = append(byID[owner].Teams, tm)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetOwner implements spoke.OwnerService.
func (db *DB) GetOwner(ctx context.Context, account int64, id int64, byUserID, archived bool) (*spoke.Owner, error) {
	return db.getOwner(ctx, db.read, account, id, byUserID, archived)
}

func (db *DB) getOwner(ctx context.Context, q queryer, account int64, id int64, byUserID, archived bool) (*spoke.Owner, error) {
	col := "id"
	if byUserID {
		col = "user_id"
	}
	owners, err := db.queryOwners(ctx, q, `SELECT `+ownerColumns+` FROM owners WHERE account_id = ? AND `+col+` = ? AND archived = ?`, account, id, archived)
	if err != nil {
		return nil, err
	}
	if len(owners) == 0 {
		return nil, &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Owner %d was not found.", id), Context: map[string][]string{"ownerId": {fmt.Sprint(id)}}}
	}
	return owners[0], nil
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

// ownerConflict turns a violation of the live-email index into ECONFLICT
// naming the owner that holds the email.
func ownerConflict(ctx context.Context, tx *sql.Tx, account int64, email string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return fmt.Errorf("write owner: %w", err)
	}
	var other int64
	if qerr := tx.QueryRowContext(ctx, `SELECT id FROM owners WHERE account_id = ? AND archived = 0 AND lower(email) = lower(?)`, account, email).Scan(&other); qerr != nil {
		return fmt.Errorf("write owner: %w", err)
	}
	return spoke.Errorf(spoke.ECONFLICT, "An owner with email %s already exists. Existing ID: %d", email, other)
}

// CreateOwner implements spoke.OwnerService.
func (db *DB) CreateOwner(ctx context.Context, account int64, in spoke.OwnerInput) (*spoke.Owner, error) {
	if err := checkOwnerInput(in, true); err != nil {
		return nil, err
	}
	now := db.nowMs()
	var out *spoke.Owner
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		id, err := nextID(ctx, tx, "owners")
		if err != nil {
			return err
		}
		user, err := nextID(ctx, tx, "users")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO owners (id, account_id, user_id, email, first_name, last_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, account, user, *in.Email, deref(in.FirstName), deref(in.LastName), now, now); err != nil {
			return ownerConflict(ctx, tx, account, *in.Email, err)
		}
		if in.Teams != nil {
			if err := setOwnerTeams(ctx, tx, account, id, *in.Teams, now); err != nil {
				return err
			}
		}
		if out, err = db.getOwner(ctx, tx, account, id, false, false); err != nil {
			return err
		}
		return db.syncUser(ctx, db.txSession(tx), account, out)
	})
	if err != nil {
		return nil, err
	}
	db.forgetDynamic(account)
	return out, nil
}

// UpdateOwner implements spoke.OwnerService.
func (db *DB) UpdateOwner(ctx context.Context, account int64, id int64, in spoke.OwnerInput) (*spoke.Owner, error) {
	if err := checkOwnerInput(in, false); err != nil {
		return nil, err
	}
	now := db.nowMs()
	var out *spoke.Owner
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := db.getOwner(ctx, tx, account, id, false, false)
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
		if _, err := tx.ExecContext(ctx, `UPDATE owners SET email = ?, first_name = ?, last_name = ?, updated_at = ? WHERE id = ?`, email, first, last, now, id); err != nil {
			return ownerConflict(ctx, tx, account, email, err)
		}
		if in.Teams != nil {
			if err := setOwnerTeams(ctx, tx, account, id, *in.Teams, now); err != nil {
				return err
			}
		}
		if out, err = db.getOwner(ctx, tx, account, id, false, false); err != nil {
			return err
		}
		return db.syncUser(ctx, db.txSession(tx), account, out)
	})
	if err != nil {
		return nil, err
	}
	db.forgetDynamic(account)
	return out, nil
}

// ArchiveOwner implements spoke.OwnerService. Records keep the archived
// owner's id, as on HubSpot; it is no longer an option for new writes.
func (db *DB) ArchiveOwner(ctx context.Context, account int64, id int64) error {
	now := db.nowMs()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE owners SET archived = 1, archived_at = ?, updated_at = ? WHERE account_id = ? AND id = ? AND archived = 0`, now, now, account, id)
		if err != nil {
			return fmt.Errorf("archive owner %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
				Message: fmt.Sprintf("Owner %d was not found.", id), Context: map[string][]string{"ownerId": {fmt.Sprint(id)}}}
		}
		o, err := db.getOwner(ctx, tx, account, id, false, true)
		if err != nil {
			return err
		}
		return db.syncUser(ctx, db.txSession(tx), account, o)
	})
	if err != nil {
		return err
	}
	db.forgetDynamic(account)
	return nil
}

// setOwnerTeams replaces an owner's teams with the named ones, the first
// primary, creating teams that do not exist.
func setOwnerTeams(ctx context.Context, tx *sql.Tx, account, owner int64, names []string, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM owner_teams WHERE owner_id = ?`, owner); err != nil {
		return fmt.Errorf("set owner teams: %w", err)
	}
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		var team int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM teams WHERE account_id = ? AND name = ?`, account, name).Scan(&team)
		if errors.Is(err, sql.ErrNoRows) {
			if team, err = nextID(ctx, tx, "teams"); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO teams (id, account_id, name, created_at) VALUES (?, ?, ?, ?)`, team, account, name, now)
		}
		if err != nil {
			return fmt.Errorf("find team %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO owner_teams (owner_id, team_id, position) VALUES (?, ?, ?)`, owner, team, len(seen)-1); err != nil {
			return fmt.Errorf("set owner teams: %w", err)
		}
	}
	return nil
}

// ListTeams implements spoke.OwnerService.
func (db *DB) ListTeams(ctx context.Context, account int64) ([]*spoke.Team, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name FROM teams WHERE account_id = ? ORDER BY id`, account)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Team
	for rows.Next() {
		var t spoke.Team
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}
