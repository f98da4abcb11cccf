package codetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/sqlite"
)

// crm is an in-process Spoke on a throwaway SQLite store: the API the
// code under test reaches. Each case that uses it gets an account of its
// own, so cases never see each other's records.
type crm struct {
	db  *sqlite.DB
	dir string
	srv *http.Server
	url string
	// shared is the token value every case's code gets: the API in front
	// of the store swaps it for the running case's own token (current).
	// One value for all cases keeps their secrets equal, so the sandbox
	// reuses warm workers across cases instead of starting one per case.
	shared  string
	current atomic.Pointer[string]
}

// use makes the shared token stand for tok, the running case's token.
func (c *crm) use(tok string) { c.current.Store(&tok) }

// wrap swaps the shared token for the running case's.
func (c *crm) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+c.shared {
			if cur := c.current.Load(); cur != nil {
				r.Header.Set("Authorization", "Bearer "+*cur)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// startCRM opens a store in a temporary directory and serves Spoke's API
// on a loopback port.
func startCRM(ctx context.Context, logger *slog.Logger) (*crm, error) {
	dir, err := os.MkdirTemp("", "spoke-test-crm-")
	if err != nil {
		return nil, fmt.Errorf("codetest: CRM store: %w", err)
	}
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("codetest: CRM store: %w", err)
	}
	db.Logger = logger
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("codetest: CRM listener: %w", err)
	}
	s := &api.Server{Records: db, Properties: db, Associations: db, Tokens: db, Flows: db, FlowChecker: db, Logger: logger}
	var rnd [16]byte
	rand.Read(rnd[:])
	c := &crm{db: db, dir: dir, url: "http://" + ln.Addr().String(), shared: "spoke-test-" + hex.EncodeToString(rnd[:])}
	c.srv = &http.Server{Handler: c.wrap(s.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln)
	return c, nil
}

// Close stops the API and removes the store.
func (c *crm) Close() error {
	c.srv.Close()
	err := c.db.Close()
	os.RemoveAll(c.dir)
	return err
}

// recKey names a record.
type recKey struct {
	Type string
	ID   int64
}

// assocKey names an association between two records (any type).
type assocKey struct{ From, To recKey }

// crmState is what an account holds: records with their stored
// properties, and associations.
type crmState struct {
	records map[recKey]map[string]string
	assocs  map[assocKey]bool
}

// account is a case's CRM account once seeded.
type account struct {
	id     int64
	token  string
	refs   map[string]recKey
	byKey  map[recKey]string
	before *crmState
}

// seed creates an account for cs with its properties, records and
// associations, and a token with every scope.
func (c *crm) seed(ctx context.Context, cs *Case) (*account, error) {
	id, err := c.db.CreateAccount(ctx, "spoke test: "+cs.ID())
	if err != nil {
		return nil, err
	}
	tok, _, err := c.db.CreateToken(ctx, id, "spoke test", nil, true)
	if err != nil {
		return nil, fmt.Errorf("codetest: token: %w", err)
	}
	a := &account{id: id, token: tok, refs: map[string]recKey{}, byKey: map[recKey]string{}}
	for _, p := range cs.CRM.Properties {
		t, err := spoke.ObjectTypeFor(p.ObjectType)
		if err != nil {
			return nil, fmt.Errorf("crm.properties %s: %w", p.Name, err)
		}
		prop := &spoke.Property{ObjectType: t.Name, Name: p.Name, Label: p.Label, Type: p.Type, FieldType: p.FieldType,
			GroupName: spoke.BuiltinGroupName(t)}
		for i, o := range p.Options {
			prop.Options = append(prop.Options, spoke.Option{Label: o, Value: o, DisplayOrder: i})
		}
		if _, err := c.db.CreateProperty(ctx, id, prop); err != nil {
			return nil, fmt.Errorf("crm.properties %s.%s: %w", p.ObjectType, p.Name, err)
		}
	}
	for _, r := range cs.CRM.Records {
		t, err := spoke.ObjectTypeFor(r.ObjectType)
		if err != nil {
			return nil, fmt.Errorf("crm.records.%s: %w", r.Ref, err)
		}
		res, err := c.db.WriteRecords(ctx, id, t.Name, spoke.WriteCreate, []spoke.RecordInput{{Properties: r.Properties}},
			spoke.WriteSource{Type: spoke.SourceImport, ID: "spoke-test"})
		if err == nil && res[0].Err != nil {
			err = res[0].Err
		}
		if err != nil {
			return nil, fmt.Errorf("crm.records.%s (line %d): %w", r.Ref, r.Line, err)
		}
		k := recKey{t.Name, res[0].Record.ID}
		a.refs[r.Ref], a.byKey[k] = k, r.Ref
	}
	for _, as := range cs.CRM.Associations {
		from, to := a.refs[as.From], a.refs[as.To]
		typeID, ok := spoke.DefaultAssociationTypeID(from.Type, to.Type)
		if !ok {
			return nil, fmt.Errorf("crm.associations (line %d): %s cannot be associated with %s", as.Line, from.Type, to.Type)
		}
		if _, err := c.db.Associate(ctx, id, from.Type, from.ID, to.Type, to.ID,
			[]spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: typeID}}); err != nil {
			return nil, fmt.Errorf("crm.associations (line %d): %w", as.Line, err)
		}
	}
	a.before, err = c.state(ctx, id)
	return a, err
}

// state reads everything an account holds.
func (c *crm) state(ctx context.Context, acct int64) (*crmState, error) {
	st := &crmState{records: map[recKey]map[string]string{}, assocs: map[assocKey]bool{}}
	for _, t := range spoke.ObjectTypes {
		var after int64
		for {
			recs, more, err := c.db.ListRecords(ctx, acct, t.Name, spoke.ListOptions{Limit: 100, After: after})
			if err != nil {
				return nil, fmt.Errorf("codetest: read %s: %w", t.Name, err)
			}
			for _, r := range recs {
				st.records[recKey{t.Name, r.ID}] = r.Properties
				after = r.ID
			}
			if !more || len(recs) == 0 {
				break
			}
		}
	}
	for k := range st.records {
		for _, t := range spoke.ObjectTypes {
			if _, ok := spoke.DefaultAssociationTypeID(k.Type, t.Name); !ok {
				continue
			}
			as, _, err := c.db.ListAssociations(ctx, acct, k.Type, k.ID, t.Name, 0, 500)
			if err != nil {
				var se *spoke.Error
				if errors.As(err, &se) {
					continue
				}
				return nil, fmt.Errorf("codetest: read associations: %w", err)
			}
			for _, x := range as {
				st.assocs[assocKey{k, recKey{t.Name, x.ToID}}] = true
			}
		}
	}
	return st, nil
}

// Writes are the CRM writes a case's code made through the API.
type Writes struct {
	Created    []WrittenRecord `json:"created,omitempty"`
	Updated    []WrittenRecord `json:"updated,omitempty"`
	Associated []WrittenAssoc  `json:"associated,omitempty"`
}

// Empty reports whether the code wrote nothing.
func (w *Writes) Empty() bool {
	return w == nil || len(w.Created) == 0 && len(w.Updated) == 0 && len(w.Associated) == 0
}

// WrittenRecord is a created record with its properties, or an updated one
// with the properties that changed (new values; "" for a cleared one).
type WrittenRecord struct {
	Type       string            `json:"type"`
	Ref        string            `json:"ref,omitempty"`
	ID         int64             `json:"-"`
	Properties map[string]string `json:"properties"`
}

// WrittenAssoc is an association the code added. From and To are a seeded
// record's ref, or "type#n", the n-th record the code created.
type WrittenAssoc struct {
	From string `json:"from"`
	To   string `json:"to"`
	// FromType and ToType are the records' object types.
	FromType string `json:"-"`
	ToType   string `json:"-"`
}

// writes compares the account with its state after seeding. Associations
// are reported once per pair (HubSpot stores both directions).
func (c *crm) writes(ctx context.Context, a *account) (*Writes, error) {
	after, err := c.state(ctx, a.id)
	if err != nil {
		return nil, err
	}
	w := &Writes{}
	keys := make([]recKey, 0, len(after.records))
	for k := range after.records {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y recKey) int {
		if x.Type != y.Type {
			if x.Type < y.Type {
				return -1
			}
			return 1
		}
		return int(x.ID - y.ID)
	})
	names := map[recKey]string{}
	for k, ref := range a.byKey {
		names[k] = ref
	}
	counts := map[string]int{}
	for _, k := range keys {
		props := after.records[k]
		old, existed := a.before.records[k]
		if !existed {
			counts[k.Type]++
			names[k] = k.Type + "#" + strconv.Itoa(counts[k.Type])
			w.Created = append(w.Created, WrittenRecord{Type: k.Type, ID: k.ID, Ref: names[k], Properties: props})
			continue
		}
		changed := map[string]string{}
		for p, v := range props {
			if old[p] != v {
				changed[p] = v
			}
		}
		for p := range old {
			if _, ok := props[p]; !ok {
				changed[p] = ""
			}
		}
		if len(changed) > 0 {
			w.Updated = append(w.Updated, WrittenRecord{Type: k.Type, ID: k.ID, Ref: names[k], Properties: changed})
		}
	}
	seen := map[assocKey]bool{}
	for _, k := range keys {
		for _, t := range keys {
			ak := assocKey{k, t}
			if !after.assocs[ak] || a.before.assocs[ak] || seen[assocKey{t, k}] {
				continue
			}
			seen[ak] = true
			from, to := k, t
			if _, seeded := a.byKey[from]; !seeded {
				if _, seeded := a.byKey[to]; seeded {
					// A seeded record reads better first: "ada - companies#1".
					from, to = to, from
				}
			}
			w.Associated = append(w.Associated, WrittenAssoc{From: names[from], To: names[to], FromType: from.Type, ToType: to.Type})
		}
	}
	return w, nil
}
