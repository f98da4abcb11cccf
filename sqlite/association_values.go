package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// The values that follow a record's associations (the catalogue's counts
// such as num_associated_contacts, and a contact's associatedcompanyid,
// its primary company) are recomputed, inside the transaction that changed
// the associations, for every record whose links it touched, and written
// only when a value changes, as an ordinary update with history (source
// CALCULATED, as HubSpot shows it) and enrollment triggers.
//
// Counts move incrementally on the frequent paths (a link between two live
// records appears or goes: +1 or -1 on both sides; a record is archived:
// -1 on the live records linked to it), so associating a contact with a
// company of 100,000 contacts costs the same as with a small one. The rare
// paths (merge, erasure, label delete, a link touching an archived record)
// and a count a record does not have yet (records associated before Spoke
// kept counts) take one count query per record instead.

// Queries of the recount, run on the writer inside a transaction.
const (
	// qAssociatedCounts counts a record's live associated records by type.
	qAssociatedCounts = `SELECT a.to_type, count(DISTINCT a.to_id) FROM associations a
		JOIN records r ON r.id = a.to_id AND r.archived = 0
		WHERE a.account_id = ? AND a.from_id = ? GROUP BY a.to_type`
	// qPrimaryCompany finds the live company a record has as its primary.
	qPrimaryCompany = `SELECT a.to_id FROM associations a
		JOIN records r ON r.id = a.to_id AND r.archived = 0
		WHERE a.account_id = ? AND a.from_id = ? AND a.to_type = 'companies' AND a.category = 'HUBSPOT_DEFINED' AND a.type_id = ?
		ORDER BY a.to_id LIMIT 1`
	// qNeighbours lists the records a record is linked to.
	qNeighbours = `SELECT DISTINCT to_id FROM associations WHERE account_id = ? AND from_id = ?`
	// qPairLinked tells whether two records are linked by any type.
	qPairLinked = `SELECT count(*) FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ? LIMIT 1`
)

func init() {
	writeQueries = append(writeQueries, qAssociatedCounts, qPrimaryCompany, qNeighbours, qPairLinked)
}

// pairLinked reports whether record from is linked to record to (of type
// toType) by any type.
func pairLinked(ctx context.Context, q queryer, account, from int64, toType string, to int64) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, qPairLinked, account, from, toType, to).Scan(&n); err != nil {
		return false, fmt.Errorf("read the link of %d to %d: %w", from, to, err)
	}
	return n > 0, nil
}

// touchedSet collects the records whose associations a transaction
// changed, to recount once at its end.
type touchedSet = crmrules.Touched

// addNeighbours asks for full recounts of the records linked to id, read
// before the links go.
func addNeighbours(ctx context.Context, q queryer, account, id int64, t touchedSet) error {
	return neighbours(ctx, q, account, id, func(n int64) { t.Add(n) })
}

// leaving counts out of the records linked to id (of type typ), which was
// live and is being archived.
func leaving(ctx context.Context, q queryer, account, id int64, typ string, t touchedSet) error {
	return neighbours(ctx, q, account, id, func(n int64) {
		if n != id {
			t.Count(n, typ, -1)
		}
	})
}

// neighbours calls fn with each record linked to id.
func neighbours(ctx context.Context, q queryer, account, id int64, fn func(int64)) error {
	rows, err := q.QueryContext(ctx, qNeighbours, account, id)
	if err != nil {
		return fmt.Errorf("read the associations of %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return err
		}
		fn(n)
	}
	return rows.Err()
}

// recount recomputes the associated values of the touched records and
// writes those that changed. It returns the records it wrote, by id, and
// whether the writes enrolled records in flows.
func (db *DB) recount(ctx context.Context, s session, account int64, touched touchedSet) (map[int64]*spoke.Record, bool, error) {
	if len(touched) == 0 {
		return nil, false, nil
	}
	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] }) // a stable order of writes and history rows
	writers := map[string]*writer{}
	var out map[int64]*spoke.Record
	enrolled := false
	for _, id := range ids {
		var typ string
		err := s.QueryRowContext(ctx, qRecordType, account, id).Scan(&typ)
		if errors.Is(err, sql.ErrNoRows) {
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
			defs, err := db.definitions(ctx, account, t.Name)
			if err != nil {
				return nil, false, err
			}
			w = &writer{db: db, ctx: ctx, s: s, account: account, t: t, now: db.nowMs(), defs: defs,
				src: spoke.WriteSource{Type: spoke.SourceCalculated}}
			writers[typ] = w
		}
		cur, err := scanRecord(s.QueryRowContext(ctx, lookupSQL(typ, false, byID), account, id))
		if err != nil {
			return nil, false, fmt.Errorf("read %s %d: %w", w.t.Singular, id, err)
		}
		want, err := associatedValues(ctx, s, account, typ, cur, touched[id])
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
	for _, w := range writers {
		if err := w.flush(); err != nil {
			return nil, false, err
		}
	}
	return out, enrolled, nil
}

// associatedValues computes the associated values of record cur, of type
// typ, that touch e changed: its counts by their deltas, or by a count
// query when e asks for it or a changed count has no value yet, and a
// contact's primary company.
func associatedValues(ctx context.Context, s session, account int64, typ string, cur *spoke.Record, e *crmrules.Touch) (map[string]string, error) {
	want := make(map[string]string, len(spoke.AssociationCounts(typ))+1)
	err := crmrules.AssociatedCounts(want, typ, cur, e, func() (map[string]int64, error) {
		rows, err := s.QueryContext(ctx, qAssociatedCounts, account, cur.ID)
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
		company, err := primaryCompany(ctx, s, account, typ, cur.ID)
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
func demotePrimary(ctx context.Context, s session, account int64, fromType string, fromID int64, toType string, toID int64, at spoke.AssociationType) error {
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
	rows, err := s.QueryContext(ctx, `SELECT to_id FROM associations WHERE account_id = ? AND from_id = ? AND to_type = 'companies' AND category = ? AND type_id = ? AND to_id != ?`,
		account, owner, spoke.CategoryHubSpot, primary, company)
	if err != nil {
		return fmt.Errorf("read the primary companies of %d: %w", owner, err)
	}
	var others []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		others = append(others, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range others {
		for _, st := range []struct {
			q    string
			args []any
		}{
			{qLink, []any{account, owner, "companies", c, spoke.CategoryHubSpot, def, spoke.HubSpotAssociationLabel(def)}},
			{qLink, []any{account, c, ownerType, owner, spoke.CategoryHubSpot, spoke.PairedAssociationTypeID(def), spoke.HubSpotAssociationLabel(spoke.PairedAssociationTypeID(def))}},
			{`DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = 'companies' AND to_id = ? AND category = ? AND type_id = ?`,
				[]any{account, owner, c, spoke.CategoryHubSpot, primary}},
			{`DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ? AND category = ? AND type_id = ?`,
				[]any{account, c, ownerType, owner, spoke.CategoryHubSpot, spoke.PairedAssociationTypeID(primary)}},
		} {
			if _, err := s.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("demote primary company %d of %d: %w", c, owner, err)
			}
		}
	}
	return nil
}

// primaryCompany returns the live company that record id (of a type with
// primary companies) has as its primary, or 0.
func primaryCompany(ctx context.Context, s session, account int64, objectType string, id int64) (int64, error) {
	typeID, ok := spoke.PrimaryCompanyTypeIDs[objectType]
	if !ok {
		return 0, nil
	}
	var company int64
	err := s.QueryRowContext(ctx, qPrimaryCompany, account, id, typeID).Scan(&company)
	if errors.Is(err, sql.ErrNoRows) {
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
func keepPrimaryCompany(ctx context.Context, s session, account int64, objectType string, id, company int64) error {
	if company == 0 {
		return nil
	}
	at := spoke.AssociationType{Category: spoke.CategoryHubSpot, TypeID: spoke.PrimaryCompanyTypeIDs[objectType]}
	return demotePrimary(ctx, s, account, objectType, id, "companies", company, at)
}

// A write of a contact's associatedcompanyid sets its primary company, as
// on HubSpot: the contact is associated with the company by the primary
// and the default types (the previous primary keeps the default one), and
// a write of "" removes the primary type. checkPrimaryCompanyWrites fails
// inputs naming no live company before anything is written;
// linkPrimaryCompanies makes the links after the records are written.

// checkPrimaryCompanyWrites sets the error of every input whose
// associatedcompanyid is not a live company's id.
func checkPrimaryCompanyWrites(ctx context.Context, s session, account int64, t spoke.ObjectType, valid []map[string]string, results []spoke.WriteResult) error {
	if t.Name != "contacts" {
		return nil
	}
	for i, props := range valid {
		v := props[spoke.PropAssociatedCompanyID]
		if results[i].Err != nil || v == "" {
			continue
		}
		var typ string
		id, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			err = s.QueryRowContext(ctx, qRecordType, account, id).Scan(&typ)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, strconv.ErrSyntax) && !errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("read company %s: %w", v, err)
		}
		if typ != "companies" {
			results[i].Err = ValidationError([]*spoke.ValueError{{Name: spoke.PropAssociatedCompanyID, Error: "INVALID_OBJECT_ID",
				Message: fmt.Sprintf("%s is not the id of a company: associatedcompanyid sets the contact's primary company.", v)}})
		}
	}
	return nil
}

// linkPrimaryCompanies associates each written contact that set
// associatedcompanyid with that company as its primary (or removes its
// primary type for ""), adding the records to touched.
func linkPrimaryCompanies(ctx context.Context, s session, account int64, t spoke.ObjectType, valid []map[string]string, results []spoke.WriteResult, touchedp *touchedSet) error {
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
		if *touchedp == nil {
			*touchedp = touchedSet{}
		}
		touched := *touchedp
		touched.Touch(r.ID)
		if v == "" {
			rows, err := s.QueryContext(ctx, `SELECT to_id FROM associations WHERE account_id = ? AND from_id = ? AND to_type = 'companies' AND category = ? AND type_id = ?`,
				account, r.ID, spoke.CategoryHubSpot, primary)
			if err != nil {
				return fmt.Errorf("read the primary company of %d: %w", r.ID, err)
			}
			var companies []int64
			for rows.Next() {
				var c int64
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return err
				}
				companies = append(companies, c)
			}
			rows.Close()
			for _, c := range companies {
				touched.Add(c, r.ID) // rare: count both anew
				for _, row := range [][]any{{account, r.ID, "companies", c, primary}, {account, c, t.Name, r.ID, spoke.PairedAssociationTypeID(primary)}} {
					if _, err := s.ExecContext(ctx, `DELETE FROM associations WHERE account_id = ? AND from_id = ? AND to_type = ? AND to_id = ? AND category = 'HUBSPOT_DEFINED' AND type_id = ?`, row...); err != nil {
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
		added, err := link(ctx, s, account, t.Name, r.ID, "companies", company, types)
		if err != nil {
			return err
		}
		if added {
			touched.Linked(r.ID, t.Name, company, "companies", 1)
		}
	}
	return nil
}
