package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// recordsPerPage is the page size of the record tables.
const recordsPerPage = 25

// columns are the properties each record table shows beside the id, for
// the types whose defaults say too little or too much; other types show
// their default properties (typeColumns).
var columns = map[string][]string{
	"contacts":  {"firstname", "lastname", "email", "lifecyclestage", "hubspot_owner_id"},
	"companies": {"name", "domain", "industry", "hubspot_owner_id"},
	"deals":     {"dealname", "amount", "dealstage", "hubspot_owner_id"},
	"tickets":   {"subject", "hs_pipeline_stage", "hs_ticket_priority", "hubspot_owner_id"},
}

// typeColumns returns the properties a table of t shows: the list above,
// else t's default properties without the ones every record has.
func typeColumns(t spoke.ObjectType) []string {
	if c := columns[t.Name]; c != nil {
		return c
	}
	var out []string
	for _, p := range t.DefaultProperties {
		if t.IsComputedProperty(p) || p == "hs_timestamp" {
			continue
		}
		out = append(out, p)
		if len(out) == 4 {
			break
		}
	}
	return out
}

// objectType resolves the {type} of the path: a standard type, or one of
// the account's custom objects when the server knows the schemas.
func (s *Server) objectType(r *http.Request, sess *session) (spoke.ObjectType, error) {
	name := r.PathValue("type")
	if s.Schemas != nil {
		t, err := s.Schemas.ObjectType(r.Context(), sess.token.AccountID, name)
		if err == nil {
			return t, nil
		}
		if spoke.ErrorCode(err) != spoke.EINVALID && spoke.ErrorCode(err) != spoke.ENOTFOUND {
			return t, err
		}
	} else if t, ok := spoke.LookupObjectType(name); ok {
		return t, nil
	}
	return spoke.ObjectType{}, spoke.NotFoundf("Spoke has no records of type %q.", name)
}

// canRead reports whether the session may read records of t: any one of
// its read scopes will do, as in the API.
func canRead(sess *session, t spoke.ObjectType) bool {
	for _, sc := range t.ReadScopes {
		if sess.token.HasScope(sc) {
			return true
		}
	}
	return false
}

// requireRead is require for t's read scopes.
func requireRead(sess *session, t spoke.ObjectType) error {
	if canRead(sess, t) || len(t.ReadScopes) == 0 {
		return nil
	}
	return require(sess, t.ReadScopes[0])
}

// typeEntry is one line of the record types page.
type typeEntry struct {
	Name, Label, ID string
	Custom          bool
}

// typesPage lists every object type the account has whose records the
// token may read: the standard ones, then the custom objects.
func (s *Server) typesPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	var list []typeEntry
	for _, t := range spoke.ObjectTypes {
		if canRead(sess, t) {
			list = append(list, typeEntry{Name: t.Name, Label: typeLabel(t.Name), ID: t.ID})
		}
	}
	if s.Schemas != nil {
		schemas, err := s.Schemas.ListSchemas(r.Context(), sess.token.AccountID, false)
		if err != nil {
			return err
		}
		for _, sc := range schemas {
			t := sc.ObjectType()
			if canRead(sess, t) {
				list = append(list, typeEntry{Name: t.Name, Label: schemaLabel(sc), ID: t.ID, Custom: true})
			}
		}
	}
	s.render(w, r, sess, http.StatusOK, "types.html", map[string]any{"Title": "Records", "Types": list})
	return nil
}

// schemaLabel is a custom object's plural label, else its name.
func schemaLabel(sc *spoke.ObjectSchema) string {
	if sc.PluralLabel != "" {
		return sc.PluralLabel
	}
	return sc.Name
}

// label names t in headings: a custom object by its plural label.
func (s *Server) label(r *http.Request, sess *session, t spoke.ObjectType) string {
	if t.Custom && s.Schemas != nil {
		if sc, err := s.Schemas.GetSchema(r.Context(), sess.token.AccountID, t.ID); err == nil {
			return schemaLabel(sc)
		}
	}
	return typeLabel(t.Name)
}

// columnLabels returns the labels of t's properties cols, or their names
// when the token may not read t's property definitions.
func (s *Server) columnLabels(r *http.Request, sess *session, t spoke.ObjectType, cols []string) []string {
	out := append([]string(nil), cols...)
	if !canReadSchema(sess, t) {
		return out
	}
	defs, err := s.Properties.Definitions(r.Context(), sess.token.AccountID, t.Name)
	if err != nil {
		return out
	}
	for i, c := range cols {
		if p, ok := defs[c]; ok && p.Label != "" {
			out[i] = p.Label
		}
	}
	return out
}

// canReadSchema reports whether the session may read t's property
// definitions.
func canReadSchema(sess *session, t spoke.ObjectType) bool {
	for _, sc := range t.SchemaReadScopes {
		if sess.token.HasScope(sc) {
			return true
		}
	}
	return false
}

// valueNames turns stored values into what people call them: owner ids
// into the owner's name, pipeline and stage ids into their labels. It
// reads each owner once and the type's pipelines once per page.
type valueNames struct {
	s      *Server
	r      *http.Request
	sess   *session
	t      spoke.ObjectType
	owners map[string]string
	stages map[string]string // pipeline and stage id → label
}

func (s *Server) names(r *http.Request, sess *session, t spoke.ObjectType) *valueNames {
	return &valueNames{s: s, r: r, sess: sess, t: t, owners: map[string]string{}}
}

// show returns what a table shows for property p's value v.
func (n *valueNames) show(p, v string) string {
	if v == "" {
		return v
	}
	switch {
	case p == "hubspot_owner_id" || strings.HasSuffix(p, "_owner_id"):
		return n.owner(v)
	case p == "dealstage" || p == "hs_pipeline_stage" || p == "pipeline" || p == "hs_pipeline":
		return n.stage(v)
	}
	return v
}

func (n *valueNames) owner(v string) string {
	if name, ok := n.owners[v]; ok {
		return name
	}
	name := v
	id, err := strconv.ParseInt(v, 10, 64)
	if n.s.Owners != nil && err == nil && n.sess.token.HasScope("crm.objects.owners.read") {
		// A live owner first, then an archived one (records keep the id).
		for _, archived := range []bool{false, true} {
			if o, err := n.s.Owners.GetOwner(n.r.Context(), n.sess.token.AccountID, id, false, archived); err == nil {
				name = o.Name()
				break
			}
		}
	}
	n.owners[v] = name
	return name
}

func (n *valueNames) stage(v string) string {
	if n.stages == nil {
		n.stages = map[string]string{}
		if n.s.Pipelines != nil && (n.t.Name == "deals" || n.t.Name == "tickets") {
			if list, err := n.s.Pipelines.ListPipelines(n.r.Context(), n.sess.token.AccountID, n.t.Name); err == nil {
				for _, p := range list {
					n.stages[p.ID] = p.Label
					for _, st := range p.Stages {
						n.stages[st.ID] = st.Label
					}
				}
			}
		}
	}
	if l, ok := n.stages[v]; ok {
		return l
	}
	return v
}

// recordsPage lists records newest id last, paged by id; with a query it
// searches the type's searchable properties, paged by offset.
func (s *Server) recordsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	t, err := s.objectType(r, sess)
	if err != nil {
		return err
	}
	if err := requireRead(sess, t); err != nil {
		return err
	}
	acct := sess.token.AccountID
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	cols := typeColumns(t)
	data := map[string]any{"Title": s.label(r, sess, t), "Type": t.Name, "Columns": s.columnLabels(r, sess, t, cols), "Query": q}
	var recs []*spoke.Record
	var next string
	if q == "" {
		list, more, err := s.Records.ListRecords(r.Context(), acct, t.Name, spoke.ListOptions{Limit: recordsPerPage, After: after, Only: cols})
		if err != nil {
			return err
		}
		recs = list
		if more {
			next = "after=" + strconv.FormatInt(list[len(list)-1].ID, 10)
		}
	} else {
		res, err := s.Records.SearchRecords(r.Context(), acct, t.Name, spoke.SearchRequest{Query: q, Properties: cols,
			Limit: recordsPerPage, After: int(after)})
		if err != nil {
			return err
		}
		recs = res.Records
		data["Total"] = res.Total
		if res.Next > 0 {
			next = url.Values{"q": {q}, "after": {strconv.Itoa(res.Next)}}.Encode()
		}
	}
	names := s.names(r, sess, t)
	rows := make([][]string, len(recs))
	for i, rec := range recs {
		row := []string{strconv.FormatInt(rec.ID, 10)}
		for _, c := range cols {
			v, _ := rec.Value(t, c)
			row = append(row, names.show(c, v))
		}
		rows[i] = row
	}
	data["Rows"], data["Next"], data["Paged"] = rows, next, after > 0
	s.render(w, r, sess, http.StatusOK, "records.html", data)
	return nil
}

// propertyView is one property of a record with its history.
type propertyView struct {
	Name, Label, Value string
	History            []spoke.PropertyValue
}

// assocView lists a record's associated records of one type.
type assocView struct {
	Type string
	IDs  []int64
	More bool
}

func (s *Server) recordPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	t, err := s.objectType(r, sess)
	if err != nil {
		return err
	}
	if err := requireRead(sess, t); err != nil {
		return err
	}
	acct := sess.token.AccountID
	id := r.PathValue("rid")
	// Read the record once to learn which properties it has, then with
	// their history.
	got, err := s.Records.GetRecords(r.Context(), acct, t.Name, []string{id}, spoke.ReadOptions{})
	if err != nil {
		return err
	}
	rec := got[id]
	if rec == nil {
		return spoke.NotFoundf("There is no %s record %s.", strings.TrimSuffix(t.Name, "s"), id)
	}
	names := make([]string, 0, len(rec.Properties))
	for n := range rec.Properties {
		names = append(names, n)
	}
	if got, err = s.Records.GetRecords(r.Context(), acct, t.Name, []string{id}, spoke.ReadOptions{WithHistory: names}); err != nil {
		return err
	} else if got[id] != nil {
		rec = got[id]
	}
	labels := map[string]string{}
	if canReadSchema(sess, t) {
		if defs, err := s.Properties.Definitions(r.Context(), acct, t.Name); err == nil {
			for n, p := range defs {
				labels[n] = p.Label
			}
		}
	}
	shown := s.names(r, sess, t)
	props := make([]propertyView, 0, len(names))
	for _, n := range names {
		label := labels[n]
		if label == "" {
			label = n
		}
		v := rec.Properties[n]
		if named := shown.show(n, v); named != v {
			v = named + " (" + v + ")"
		}
		props = append(props, propertyView{Name: n, Label: label, Value: v, History: rec.History[n]})
	}
	sort.Slice(props, func(i, j int) bool { return props[i].Label < props[j].Label })

	var assocs []assocView
	for _, ot := range spoke.ObjectTypes {
		other := ot.Name
		if !canRead(sess, ot) {
			continue
		}
		list, more, err := s.Associations.ListAssociations(r.Context(), acct, t.Name, rec.ID, other, 0, 20)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			continue
		}
		v := assocView{Type: other, More: more}
		for _, a := range list {
			v.IDs = append(v.IDs, a.ToID)
		}
		assocs = append(assocs, v)
	}
	data := map[string]any{"Title": s.label(r, sess, t) + " " + id, "Type": t.Name, "Record": rec, "Props": props, "Assocs": assocs,
		"Name": recordName(t.Name, rec)}
	if sess.token.HasScope("automation") {
		ens, err := s.Runs.RecordEnrollments(r.Context(), acct, t.Name, rec.ID, 20)
		if err != nil {
			return err
		}
		ids := []string{}
		for _, e := range ens {
			ids = append(ids, e.FlowID)
		}
		for _, p := range props {
			for _, h := range p.History {
				if h.SourceType == spoke.SourceAutomation {
					ids = append(ids, h.SourceID)
				}
			}
		}
		names := map[string]string{}
		for _, id := range ids {
			if _, ok := names[id]; ok {
				continue
			}
			names[id] = "workflow " + id + " (deleted)"
			if f, err := s.Flows.GetFlow(r.Context(), acct, id); err == nil {
				names[id] = f.Name
			}
		}
		data["Enrollments"], data["FlowNames"] = ens, names
	}
	s.render(w, r, sess, http.StatusOK, "record.html", data)
	return nil
}

// recordName is how a record is called in headings.
func recordName(typ string, rec *spoke.Record) string {
	p := rec.Properties
	var n string
	switch typ {
	case "contacts":
		n = strings.TrimSpace(p["firstname"] + " " + p["lastname"])
		if n == "" {
			n = p["email"]
		}
	case "companies":
		n = p["name"]
	case "deals":
		n = p["dealname"]
	case "tickets":
		n = p["subject"]
	}
	if n == "" {
		n = typeLabel(typ) + " " + strconv.FormatInt(rec.ID, 10)
	}
	return n
}
