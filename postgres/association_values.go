package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// The values that follow a record's associations (the catalogue's counts
// such as num_associated_contacts, and a contact's associatedcompanyid,
// its primary company) are recomputed as on SQLite (see
// sqlite/association_values.go): inside the transaction that changed the
// associations, for every record whose links it touched, written only when
// a value changes, as an ordinary update with history (source CALCULATED)
// and enrollment triggers. Counts move by deltas on the frequent paths
// and are counted anew on the rare ones.

const (
	// qAssociatedCounts counts a record's live associated records by type.
	qAssociatedCounts = `SELECT a.to_type, count(DISTINCT a.to_id) FROM associations a
		JOIN records r ON r.id = a.to_id AND NOT r.archived
		WHERE a.account_id = $1 AND a.from_id = $2 GROUP BY a.to_type`
	// qPrimaryCompany finds the live company a record has as its primary.
	qPrimaryCompany = `SELECT a.to_id FROM associations a
		JOIN records r ON r.id = a.to_id AND NOT r.archived
		WHERE a.account_id = $1 AND a.from_id = $2 AND a.to_type = 'companies' AND a.category = 'HUBSPOT_DEFINED' AND a.type_id = $3
		ORDER BY a.to_id LIMIT 1`
	// qNeighbours lists the records a record is linked to.
	qNeighbours = `SELECT DISTINCT to_id FROM associations WHERE account_id = $1 AND from_id = $2`
)

// pairLinked reports whether record from is linked to record to (of type
// toType) by any type.
func pairLinked(ctx context.Context, q querier, account, from int64, toType string, to int64) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4)`,
		account, from, toType, to).Scan(&ok); err != nil {
		return false, fmt.Errorf("read the link of %d to %d: %w", from, to, err)
	}
	return ok, nil
}

// touchedSet collects the records whose associations a transaction
// changed, to recount once at its end.
type touchedSet = crmrules.Touched

// neighbours returns the records linked to id.
func neighbours(ctx context.Context, q querier, account, id int64) ([]int64, error) {
	rows, _ := q.Query(ctx, qNeighbours, account, id)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("read the associations of %d: %w", id, err)
	}
	return ids, nil
}

// addNeighbours asks for full recounts of the records linked to id, read
// before the links go.
func addNeighbours(ctx context.Context, q querier, account, id int64, t touchedSet) error {
	ids, err := neighbours(ctx, q, account, id)
	t.Add(ids...)
	return err
}

// leaving counts out of the records linked to id (of type typ), which was
// live and is being archived.
func leaving(ctx context.Context, q querier, account, id int64, typ string, t touchedSet) error {
	ids, err := neighbours(ctx, q, account, id)
	for _, n := range ids {
		if n != id {
			t.Count(n, typ, -1)
		}
	}
	return err
}

// recount recomputes the associated values of the touched records and
// writes those that changed. It returns the records it wrote, by id, and
// whether the writes enrolled records in flows.
func (db *DB) recount(ctx context.Context, tx pgx.Tx, account int64, touched touchedSet) (map[int64]*spoke.Record, bool, error) {
	if len(touched) == 0 {
		return nil, false, nil
	}
	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] }) // a stable order of writes, history rows and locks
	writers := map[string]*writer{}
	var out map[int64]*spoke.Record
	enrolled := false
	for _, id := range ids {
		var typ string
		err := tx.QueryRow(ctx, qRecordType, account, id).Scan(&typ)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // archived or gone: its values no longer matter
		}
		if err != nil {
			return nil, false, fmt.Errorf("read the type of %d: %w", id, err)
		}
		if e := touched[id]; !spoke.HasAssociatedValues(typ) || (!e.Full && len(e.Delta) == 0 && typ != "contacts") {
			continue // only a contact's primary company can change without a count
		}
		w := writers[typ]
		if w == nil {
			t, err := db.ObjectType(ctx, account, typ)
			if err != nil {
				return nil, false, err
			}
			defs, err := db.definitions(ctx, account, t)
			if err != nil {
				return nil, false, err
			}
			w = &writer{db: db, ctx: ctx, tx: tx, account: account, t: t, now: db.nowMs(), defs: defs,
				src: spoke.WriteSource{Type: spoke.SourceCalculated}}
			writers[typ] = w
		}
		cur, err := db.lookup(ctx, tx, account, w.t, w.defs, "", strconv.FormatInt(id, 10), false, true)
		if err != nil {
			return nil, false, fmt.Errorf("read %s %d: %w", w.t.Singular, id, err)
		}
		if cur == nil {
			continue
		}
		want, err := associatedValues(ctx, tx, account, typ, cur, touched[id])
		if err != nil {
			return nil, false, err
		}
		changed := map[string]string{}
		for name, v := range want {
			old := cur.Properties[name]
			// A count appears with the first association; a record never
			// associated has none rather than a 0 written on every create.
			if old != v && !(old == "" && v == "0") {
				changed[name] = v
			}
		}
		if len(changed) == 0 {
			continue
		}
		r, err := w.update(cur, changed, false)
		if err != nil {
			return nil, false, fmt.Errorf("write the associated values of %s %d: %w", w.t.Singular, id, err)
		}
		if out == nil {
			out = map[int64]*spoke.Record{}
		}
		out[id] = r
		enrolled = enrolled || w.enrolled
	}
	return out, enrolled, nil
}

// associatedValues computes the associated values of record cur, of type
// typ, that touch e changed: its counts by their deltas, or by a count
// query when e asks for it or a changed count has no value yet, and a
// contact's primary company.
func associatedValues(ctx context.Context, tx pgx.Tx, account int64, typ string, cur *spoke.Record, e *crmrules.Touch) (map[string]string, error) {
	want := make(map[string]string, len(spoke.AssociationCounts(typ))+1)
	err := crmrules.AssociatedCounts(want, typ, cur, e, func() (map[string]int64, error) {
		rows, err := tx.Query(ctx, qAssociatedCounts, account, cur.ID)
		if err != nil {
			return nil, fmt.Errorf("count the associations of %d: %w", cur.ID, err)
		}
		n := map[string]int64{}
		for rows.Next() {
			var to string
			var k int64
			if err := rows.Scan(&to, &k); err != nil {
				rows.Close()
				return nil, err
			}
			n[to] = k
		}
		rows.Close()
		return n, rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if typ == "contacts" {
		company, err := primaryCompany(ctx, tx, account, typ, cur.ID)
		if err != nil {
			return nil, err
		}
		want[spoke.PropAssociatedCompanyID] = ""
		if company != 0 {
			want[spoke.PropAssociatedCompanyID] = strconv.FormatInt(company, 10)
		}
	}
	return want, nil
}

// demotePrimary keeps one primary company per record, as HubSpot does:
// when at (from fromType to toType) makes a company the primary of a
// contact, deal or ticket, that record's other primary companies stay
// associated with the pair's default type and lose the primary one.
func demotePrimary(ctx context.Context, tx pgx.Tx, account int64, fromType string, fromID int64, toType string, toID int64, at spoke.AssociationType) error {
	if at.Category != spoke.CategoryHubSpot {
		return nil
	}
	var ownerType string
	var owner, company int64
	switch {
	case toType == "companies" && at.TypeID == spoke.PrimaryCompanyTypeIDs[fromType]:
		ownerType, owner, company = fromType, fromID, toID
	case fromType == "companies" && spoke.PairedAssociationTypeID(at.TypeID) == spoke.PrimaryCompanyTypeIDs[toType]:
		ownerType, owner, company = toType, toID, fromID
	default:
		return nil
	}
	primary := spoke.PrimaryCompanyTypeIDs[ownerType]
	def, _ := spoke.DefaultAssociationTypeID(ownerType, "companies")
	rows, _ := tx.Query(ctx, `SELECT to_id FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = 'companies' AND category = $3 AND type_id = $4 AND to_id != $5`,
		account, owner, spoke.CategoryHubSpot, primary, company)
	others, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("read the primary companies of %d: %w", owner, err)
	}
	const del = `DELETE FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4 AND category = $5 AND type_id = $6`
	for _, c := range others {
		for _, st := range []struct {
			q    string
			args []any
		}{
			{qLink, []any{account, owner, "companies", c, spoke.CategoryHubSpot, def, spoke.HubSpotAssociationLabel(def)}},
			{qLink, []any{account, c, ownerType, owner, spoke.CategoryHubSpot, spoke.PairedAssociationTypeID(def), spoke.HubSpotAssociationLabel(spoke.PairedAssociationTypeID(def))}},
			{del, []any{account, owner, "companies", c, spoke.CategoryHubSpot, primary}},
			{del, []any{account, c, ownerType, owner, spoke.CategoryHubSpot, spoke.PairedAssociationTypeID(primary)}},
		} {
			if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("demote primary company %d of %d: %w", c, owner, err)
			}
		}
	}
	return nil
}

// primaryCompany returns the live company that record id (of a type with
// primary companies) has as its primary, or 0.
func primaryCompany(ctx context.Context, q querier, account int64, objectType string, id int64) (int64, error) {
	typeID, ok := spoke.PrimaryCompanyTypeIDs[objectType]
	if !ok {
		return 0, nil
	}
	var company int64
	err := q.QueryRow(ctx, qPrimaryCompany, account, id, typeID).Scan(&company)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the primary company of %d: %w", id, err)
	}
	return company, nil
}

// keepPrimaryCompany makes company the only primary company of record id:
// after a merge moved the other record's primary onto it, the merge's
// primary record keeps its own, as on HubSpot.
func keepPrimaryCompany(ctx context.Context, tx pgx.Tx, account int64, objectType string, id, company int64) error {
	if company == 0 {
		return nil
	}
	at := spoke.AssociationType{Category: spoke.CategoryHubSpot, TypeID: spoke.PrimaryCompanyTypeIDs[objectType]}
	return demotePrimary(ctx, tx, account, objectType, id, "companies", company, at)
}

// checkPrimaryCompanyWrite returns the error of a contact input whose
// associatedcompanyid is not a live company's id: a write of it sets the
// contact's primary company, as on HubSpot.
func checkPrimaryCompanyWrite(ctx context.Context, tx pgx.Tx, account int64, t spoke.ObjectType, props map[string]string) (*spoke.Error, error) {
	v := props[spoke.PropAssociatedCompanyID]
	if t.Name != "contacts" || v == "" {
		return nil, nil
	}
	var typ string
	id, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		err = tx.QueryRow(ctx, qRecordType, account, id).Scan(&typ)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && !errors.Is(err, strconv.ErrSyntax) && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("read company %s: %w", v, err)
	}
	if typ != "companies" {
		return spoke.InvalidPropertyValues([]*spoke.ValueError{{Name: spoke.PropAssociatedCompanyID, Error: "INVALID_OBJECT_ID",
			Message: fmt.Sprintf("%s is not the id of a company: associatedcompanyid sets the contact's primary company.", v)}}), nil
	}
	return nil, nil
}

// linkPrimaryCompanies associates each written contact that set
// associatedcompanyid with that company as its primary (and the default
// type; the previous primary keeps the default one), or removes its
// primary type for "", adding the records to touched.
func linkPrimaryCompanies(ctx context.Context, tx pgx.Tx, account int64, t spoke.ObjectType, valid []map[string]string, results []spoke.WriteResult, touched touchedSet) error {
	if t.Name != "contacts" {
		return nil
	}
	primary := spoke.PrimaryCompanyTypeIDs[t.Name]
	def, _ := spoke.DefaultAssociationTypeID(t.Name, "companies")
	for i, props := range valid {
		v, set := props[spoke.PropAssociatedCompanyID]
		r := results[i].Record
		if !set || results[i].Err != nil || r == nil {
			continue
		}
		touched.Touch(r.ID)
		if v == "" {
			rows, _ := tx.Query(ctx, `SELECT to_id FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = 'companies' AND category = $3 AND type_id = $4`,
				account, r.ID, spoke.CategoryHubSpot, primary)
			companies, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return fmt.Errorf("read the primary company of %d: %w", r.ID, err)
			}
			for _, c := range companies {
				touched.Add(c, r.ID) // rare: count both anew
				for _, row := range [][]any{{account, r.ID, "companies", c, primary}, {account, c, t.Name, r.ID, spoke.PairedAssociationTypeID(primary)}} {
					if _, err := tx.Exec(ctx, `DELETE FROM associations WHERE account_id = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4 AND category = 'HUBSPOT_DEFINED' AND type_id = $5`, row...); err != nil {
						return fmt.Errorf("remove the primary company of %d: %w", r.ID, err)
					}
				}
			}
			continue
		}
		company, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("associatedcompanyid %q: %w", v, err)
		}
		touched.Touch(company)
		types := []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: primary}, {Category: spoke.CategoryHubSpot, TypeID: def}}
		added, err := link(ctx, tx, account, t.Name, r.ID, "companies", company, types)
		if err != nil {
			return err
		}
		if added {
			touched.Linked(r.ID, t.Name, company, "companies", 1)
		}
	}
	return nil
}
