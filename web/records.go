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

// columns are the properties each record table shows beside the id.
var columns = map[string][]string{
	"contacts":  {"firstname", "lastname", "email", "lifecyclestage"},
	"companies": {"name", "domain", "industry"},
	"deals":     {"dealname", "amount", "dealstage"},
	"tickets":   {"subject", "hs_pipeline_stage", "hs_ticket_priority"},
}

func objectType(r *http.Request) (spoke.ObjectType, error) {
	t, ok := spoke.LookupObjectType(r.PathValue("type"))
	if !ok || columns[t.Name] == nil {
		return t, spoke.NotFoundf("Spoke has no records of type %q.", r.PathValue("type"))
	}
	return t, nil
}

// recordsPage lists records newest id last, paged by id; with a query it
// searches the type's searchable properties, paged by offset.
func (s *Server) recordsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	t, err := objectType(r)
	if err != nil {
		return err
	}
	if err := require(sess, "crm.objects."+t.Name+".read"); err != nil {
		return err
	}
	acct := sess.token.AccountID
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	data := map[string]any{"Title": typeLabel(t.Name), "Type": t.Name, "Columns": columns[t.Name], "Query": q}
	var recs []*spoke.Record
	var next string
	if q == "" {
		list, more, err := s.Records.ListRecords(r.Context(), acct, t.Name, spoke.ListOptions{Limit: recordsPerPage, After: after, Only: columns[t.Name]})
		if err != nil {
			return err
		}
		recs = list
		if more {
			next = "after=" + strconv.FormatInt(list[len(list)-1].ID, 10)
		}
	} else {
		res, err := s.Records.SearchRecords(r.Context(), acct, t.Name, spoke.SearchRequest{Query: q, Properties: columns[t.Name],
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
	rows := make([][]string, len(recs))
	for i, rec := range recs {
		row := []string{strconv.FormatInt(rec.ID, 10)}
		for _, c := range columns[t.Name] {
			v, _ := rec.Value(t, c)
			row = append(row, v)
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
	t, err := objectType(r)
	if err != nil {
		return err
	}
	if err := require(sess, "crm.objects."+t.Name+".read"); err != nil {
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
	if sess.token.HasScope("crm.schemas." + t.Name + ".read") {
		if defs, err := s.Properties.Definitions(r.Context(), acct, t.Name); err == nil {
			for n, p := range defs {
				labels[n] = p.Label
			}
		}
	}
	props := make([]propertyView, 0, len(names))
	for _, n := range names {
		label := labels[n]
		if label == "" {
			label = n
		}
		props = append(props, propertyView{Name: n, Label: label, Value: rec.Properties[n], History: rec.History[n]})
	}
	sort.Slice(props, func(i, j int) bool { return props[i].Label < props[j].Label })

	var assocs []assocView
	for _, other := range objectTypes {
		if !sess.token.HasScope("crm.objects." + other + ".read") {
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
	data := map[string]any{"Title": typeLabel(t.Name) + " " + id, "Type": t.Name, "Record": rec, "Props": props, "Assocs": assocs,
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
