package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// objectRoutes serves CRM v3 objects.
func (s *Server) objectRoutes() []route {
	return []route{
		reads("GET /crm/v3/objects/{objectType}", s.listObjects),
		writes("POST /crm/v3/objects/{objectType}", s.createObject),
		reads("GET /crm/v3/objects/{objectType}/{id}", s.getObject),
		writes("PATCH /crm/v3/objects/{objectType}/{id}", s.updateObject),
		writes("DELETE /crm/v3/objects/{objectType}/{id}", s.archiveObject),
		reads("POST /crm/v3/objects/{objectType}/search", s.searchObjects),
		reads("POST /crm/v3/objects/{objectType}/batch/read", s.batchRead),
		writes("POST /crm/v3/objects/{objectType}/batch/create", s.batchWrite(spoke.WriteCreate)),
		writes("POST /crm/v3/objects/{objectType}/batch/update", s.batchWrite(spoke.WriteUpdate)),
		writes("POST /crm/v3/objects/{objectType}/batch/upsert", s.batchWrite(spoke.WriteUpsert)),
		writes("POST /crm/v3/objects/{objectType}/batch/archive", s.batchArchive),
		writes("POST /crm/v3/objects/{objectType}/merge", s.mergeObjects),
		writes("POST /crm/v3/objects/{objectType}/gdpr-delete", s.purgeObject),
	}
}

// objectType resolves the path's object type and checks the scope.
func objectType(r *http.Request, write bool) (spoke.ObjectType, error) {
	t, err := resolveType(r, r.PathValue("objectType"))
	if err != nil {
		return t, err
	}
	return t, require(r, objectScope(t, write)...)
}

func account(r *http.Request) int64 { return tokenFrom(r.Context()).AccountID }

// apiSource is the history source of writes made with the request's token.
func apiSource(r *http.Request) spoke.WriteSource {
	return spoke.WriteSource{Type: spoke.SourceAPI, ID: strconv.FormatInt(tokenFrom(r.Context()).ID, 10)}
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, false)
	if err != nil {
		return err
	}
	limit, archived, after, err := listQuery(r, 10, 100)
	if err != nil {
		return err
	}
	v := view{t: t, properties: listParam(r, "properties"), withHistory: listParam(r, "propertiesWithHistory")}
	recs, more, err := s.Records.ListRecords(r.Context(), account(r), t.Name, spoke.ListOptions{Limit: limit, After: after, Archived: archived, WithHistory: v.withHistory})
	if err != nil {
		return err
	}
	assocs, err := s.associationsOf(r, recs, listParam(r, "associations"))
	if err != nil {
		return err
	}
	out := struct {
		Results []*publicObject `json:"results"`
		Paging  *listPaging     `json:"paging,omitempty"`
	}{Results: make([]*publicObject, 0, len(recs))}
	for _, rec := range recs {
		o := v.toWire(rec)
		o.Associations = assocs[rec.ID]
		out.Results = append(out.Results, o)
	}
	if more {
		out.Paging = s.nextPageLink(r, strconv.FormatInt(recs[len(recs)-1].ID, 10))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// associationsOf loads, for each record, the associated records of the
// requested types, in the shape of the v3 "associations" field.
func (s *Server) associationsOf(r *http.Request, recs []*spoke.Record, types []string) (map[int64]map[string]*assocCollection, error) {
	if len(types) == 0 || len(recs) == 0 {
		return nil, nil
	}
	// Resolve and dedupe the types once: "companies,0-2,company" is one
	// type, and a repeated one must not multiply the queries.
	var targets []spoke.ObjectType
	seen := map[string]bool{}
	for _, tn := range types {
		tt, err := resolveType(r, tn)
		if err != nil {
			return nil, spoke.Invalidf("Unknown association object type %q.", tn)
		}
		if !seen[tt.Name] {
			seen[tt.Name] = true
			targets = append(targets, tt)
		}
	}
	out := make(map[int64]map[string]*assocCollection, len(recs))
	// v3 names each link's type ("contact_to_company_unlabeled"), labels
	// by their definitions: load those once per pair of types.
	names := map[[2]string]*v3Types{}
	for _, rec := range recs {
		from, err := resolveType(r, rec.ObjectType)
		if err != nil {
			return nil, err
		}
		for _, tt := range targets {
			assocs, _, err := s.Associations.ListAssociations(r.Context(), account(r), rec.ObjectType, rec.ID, tt.Name, 0, 500)
			if err != nil {
				return nil, err
			}
			if len(assocs) == 0 {
				continue
			}
			key := [2]string{from.Name, tt.Name}
			if names[key] == nil {
				if names[key], err = s.typesV3(r.Context(), account(r), from, tt); err != nil {
					return nil, err
				}
			}
			refs := names[key].refs(assocs)
			if out[rec.ID] == nil {
				out[rec.ID] = map[string]*assocCollection{}
			}
			out[rec.ID][tt.Name] = &assocCollection{Results: refs}
		}
	}
	return out, nil
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, false)
	if err != nil {
		return err
	}
	archived, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	v := view{t: t, properties: listParam(r, "properties"), withHistory: listParam(r, "propertiesWithHistory")}
	recs, err := s.Records.GetRecords(r.Context(), account(r), t.Name, []string{id},
		spoke.ReadOptions{IDProperty: r.URL.Query().Get("idProperty"), Archived: archived, WithHistory: v.withHistory})
	if err != nil {
		return err
	}
	rec, ok := recs[id]
	if !ok {
		return spoke.ObjectNotFound(id)
	}
	assocs, err := s.associationsOf(r, []*spoke.Record{rec}, listParam(r, "associations"))
	if err != nil {
		return err
	}
	o := v.toWire(rec)
	o.Associations = assocs[rec.ID]
	writeJSON(w, http.StatusOK, o)
	return nil
}

// objectInput is SimplePublicObjectInput(ForCreate) and the batch inputs.
type objectInput struct {
	ID           flexString  `json:"id"`
	IDProperty   string      `json:"idProperty"`
	Properties   *propValues `json:"properties"`
	Associations []struct {
		To struct {
			ID flexString `json:"id"`
		} `json:"to"`
		Types []struct {
			AssociationCategory string `json:"associationCategory"`
			AssociationTypeID   int    `json:"associationTypeId"`
		} `json:"types"`
	} `json:"associations"`
	ObjectWriteTraceID string `json:"objectWriteTraceId"`
}

func (in *objectInput) domain(where string) (spoke.RecordInput, error) {
	if in.Properties == nil {
		return spoke.RecordInput{}, spoke.Invalidf("%sproperties is required.", where)
	}
	out := spoke.RecordInput{ID: string(in.ID), IDProperty: in.IDProperty, Properties: *in.Properties}
	for i, a := range in.Associations {
		if a.To.ID == "" {
			return out, spoke.Invalidf("%sassociations[%d].to.id is required.", where, i)
		}
		ai := spoke.AssociationInput{ToID: string(a.To.ID)}
		for _, t := range a.Types {
			ai.Types = append(ai.Types, spoke.AssociationType{Category: t.AssociationCategory, TypeID: t.AssociationTypeID})
		}
		out.Associations = append(out.Associations, ai)
	}
	return out, nil
}

// writeOne runs a single-record write and returns its result or error.
func (s *Server) writeOne(r *http.Request, t spoke.ObjectType, mode spoke.WriteMode, in spoke.RecordInput) (*spoke.Record, error) {
	res, err := s.Records.WriteRecords(r.Context(), account(r), t.Name, mode, []spoke.RecordInput{in}, apiSource(r))
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return res[0].Record, nil
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	var body objectInput
	if err := decode(r, &body); err != nil {
		return err
	}
	in, err := body.domain("")
	if err != nil {
		return err
	}
	rec, err := s.writeOne(r, t, spoke.WriteCreate, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, view{t: t, properties: keys(rec.Properties)}.toWire(rec))
	return nil
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) updateObject(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	var body objectInput
	if err := decode(r, &body); err != nil {
		return err
	}
	in, err := body.domain("")
	if err != nil {
		return err
	}
	in.ID, in.IDProperty = r.PathValue("id"), r.URL.Query().Get("idProperty")
	rec, err := s.writeOne(r, t, spoke.WriteUpdate, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view{t: t, properties: keys(rec.Properties)}.toWire(rec))
	return nil
}

func (s *Server) archiveObject(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	if err := s.Records.ArchiveRecords(r.Context(), account(r), t.Name, []string{r.PathValue("id")}); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// mergeObjects is basicApi.merge: POST .../merge with the primary's id and
// the id of the record merged into it, answering the merged primary.
func (s *Server) mergeObjects(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	if !t.Mergeable {
		return spoke.NotFoundf("No API route matches %s %s: HubSpot does not merge %s.", r.Method, r.URL.Path, t.Name)
	}
	var body struct {
		PrimaryObjectID flexString `json:"primaryObjectId"`
		ObjectIDToMerge flexString `json:"objectIdToMerge"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	var ids [2]int64
	for i, f := range []struct {
		name  string
		value flexString
	}{{"primaryObjectId", body.PrimaryObjectID}, {"objectIdToMerge", body.ObjectIDToMerge}} {
		if f.value == "" {
			return spoke.Invalidf("%s is required.", f.name)
		}
		if ids[i], err = strconv.ParseInt(string(f.value), 10, 64); err != nil || ids[i] <= 0 {
			return spoke.Invalidf("%s must be a record id, got %q.", f.name, string(f.value))
		}
	}
	rec, err := s.Records.MergeRecords(r.Context(), account(r), t.Name, ids[0], ids[1], apiSource(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view{t: t, properties: keys(rec.Properties)}.toWire(rec))
	return nil
}

// purgeObject is basicApi.purge (contacts only): POST .../gdpr-delete with
// objectId (and idProperty to name it by email) erases the contact for
// good; 204.
func (s *Server) purgeObject(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	if t.Name != "contacts" {
		return spoke.NotFoundf("GDPR delete is available for contacts only, not %s.", t.Name)
	}
	var body struct {
		ObjectID   flexString `json:"objectId"`
		IDProperty string     `json:"idProperty"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ObjectID == "" {
		return spoke.Invalidf("objectId is required.")
	}
	if err := s.Records.PurgeRecord(r.Context(), account(r), t.Name, string(body.ObjectID), body.IDProperty); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

type batchReadInput struct {
	Inputs []struct {
		ID flexString `json:"id"`
	} `json:"inputs"`
	Properties            []string `json:"properties"`
	PropertiesWithHistory []string `json:"propertiesWithHistory"`
	IDProperty            string   `json:"idProperty"`
}

func checkBatchSize(n int) error {
	if n == 0 {
		return spoke.Invalidf("inputs must hold at least one input.")
	}
	if n > MaxBatchInputs {
		return spoke.Invalidf("inputs holds %d inputs; a batch takes at most %d.", n, MaxBatchInputs)
	}
	return nil
}

func (s *Server) batchRead(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	t, err := objectType(r, false)
	if err != nil {
		return err
	}
	archived, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	var body batchReadInput
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := checkBatchSize(len(body.Inputs)); err != nil {
		return err
	}
	ids := make([]string, len(body.Inputs))
	for i, in := range body.Inputs {
		ids[i] = string(in.ID)
	}
	recs, err := s.Records.GetRecords(r.Context(), account(r), t.Name, ids,
		spoke.ReadOptions{IDProperty: body.IDProperty, Archived: archived, WithHistory: body.PropertiesWithHistory})
	if err != nil {
		return err
	}
	v := view{t: t, properties: body.Properties, withHistory: body.PropertiesWithHistory}
	results := []*publicObject{}
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if rec, ok := recs[id]; ok {
			results = append(results, v.toWire(rec))
		} else {
			missing = append(missing, id)
		}
	}
	var errs []standardErr
	if len(missing) > 0 {
		errs = append(errs, standardErr{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: "Could not get some " + strings.ToUpper(t.Singular) + " objects, they may be deleted or not exist. Check that ids are valid.",
			Context: map[string][]string{"ids": missing}, Errors: []any{}, Links: map[string]string{}})
	}
	writeBatch(w, http.StatusOK, started, results, errs)
	return nil
}

func (s *Server) batchWrite(mode spoke.WriteMode) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		started := time.Now()
		t, err := objectType(r, true)
		if err != nil {
			return err
		}
		var body struct {
			Inputs []objectInput `json:"inputs"`
		}
		if err := decode(r, &body); err != nil {
			return err
		}
		if err := checkBatchSize(len(body.Inputs)); err != nil {
			return err
		}
		inputs := make([]spoke.RecordInput, len(body.Inputs))
		for i := range body.Inputs {
			if inputs[i], err = body.Inputs[i].domain("inputs[" + strconv.Itoa(i) + "]."); err != nil {
				return err
			}
			if mode == spoke.WriteCreate && inputs[i].ID != "" {
				inputs[i].ID = ""
			}
		}
		res, err := s.Records.WriteRecords(r.Context(), account(r), t.Name, mode, inputs, apiSource(r))
		if err != nil {
			return err
		}
		results := []*publicObject{}
		var errs []standardErr
		for _, wr := range res {
			if wr.Err != nil {
				errs = append(errs, toStandardErr(wr.Err))
				continue
			}
			o := view{t: t, properties: keys(wr.Record.Properties)}.toWire(wr.Record)
			if mode == spoke.WriteUpsert {
				isNew := wr.New
				o.New = &isNew
			}
			results = append(results, o)
		}
		ok := http.StatusOK
		if mode == spoke.WriteCreate {
			ok = http.StatusCreated
		}
		writeBatch(w, ok, started, results, errs)
		return nil
	}
}

func (s *Server) batchArchive(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, true)
	if err != nil {
		return err
	}
	var body batchReadInput
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := checkBatchSize(len(body.Inputs)); err != nil {
		return err
	}
	ids := make([]string, len(body.Inputs))
	for i, in := range body.Inputs {
		ids[i] = string(in.ID)
	}
	if err := s.Records.ArchiveRecords(r.Context(), account(r), t.Name, ids); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// searchInput is PublicObjectSearchRequest; sorts come as objects or as
// strings ("-createdate"), after as a number or a string.
type searchInput struct {
	FilterGroups []struct {
		Filters []struct {
			PropertyName string       `json:"propertyName"`
			Operator     string       `json:"operator"`
			Value        *flexString  `json:"value"`
			HighValue    *flexString  `json:"highValue"`
			Values       []flexString `json:"values"`
		} `json:"filters"`
	} `json:"filterGroups"`
	Sorts      []sortInput `json:"sorts"`
	Query      string      `json:"query"`
	Properties []string    `json:"properties"`
	Limit      flexString  `json:"limit"`
	After      flexString  `json:"after"`
}

type sortInput struct{ spoke.Sort }

// UnmarshalJSON implements json.Unmarshaler for both sort shapes.
func (s *sortInput) UnmarshalJSON(b []byte) error {
	var str string
	if err := decodeBytes(b, &str); err == nil {
		s.Sort, err = sortFromString(str)
		return err
	}
	var obj struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	}
	if err := decodeBytes(b, &obj); err != nil {
		return spoke.Invalidf("each of sorts must be a property name or {propertyName, direction}.")
	}
	switch strings.ToUpper(obj.Direction) {
	case "", "ASCENDING", "ASC":
	case "DESCENDING", "DESC":
		s.Descending = true
	default:
		return spoke.Invalidf("sort direction must be ASCENDING or DESCENDING, got %q.", obj.Direction)
	}
	s.PropertyName = obj.PropertyName
	return nil
}

func (s *Server) searchObjects(w http.ResponseWriter, r *http.Request) error {
	t, err := objectType(r, false)
	if err != nil {
		return err
	}
	var body searchInput
	if err := decode(r, &body); err != nil {
		return err
	}
	req := spoke.SearchRequest{Query: body.Query, Properties: body.Properties}
	if body.Limit != "" {
		if req.Limit, err = strconv.Atoi(string(body.Limit)); err != nil || req.Limit < 1 {
			return spoke.Invalidf("limit must be a positive integer, got %q.", body.Limit)
		}
	}
	if body.After != "" {
		if req.After, err = strconv.Atoi(string(body.After)); err != nil || req.After < 0 {
			return spoke.Invalidf("after must be the cursor from paging.next.after, got %q.", body.After)
		}
	}
	if err := checkSearchLimits(&body, req.After); err != nil {
		return err
	}
	for gi, g := range body.FilterGroups {
		var fg spoke.FilterGroup
		for fi, f := range g.Filters {
			if f.PropertyName == "" || f.Operator == "" {
				return spoke.Invalidf("filterGroups[%d].filters[%d] needs propertyName and operator.", gi, fi)
			}
			sf := spoke.Filter{PropertyName: f.PropertyName, Operator: f.Operator}
			if f.Value != nil {
				sf.Value = string(*f.Value)
			}
			if f.HighValue != nil {
				sf.HighValue = string(*f.HighValue)
			}
			for _, v := range f.Values {
				sf.Values = append(sf.Values, string(v))
			}
			op := strings.ToUpper(f.Operator)
			if f.Value == nil && (op == "EQ" || op == "NEQ" || op == "LT" || op == "LTE" || op == "GT" || op == "GTE" || op == "BETWEEN" || op == "CONTAINS_TOKEN" || op == "NOT_CONTAINS_TOKEN") {
				return spoke.Invalidf("filterGroups[%d].filters[%d]: operator %s needs a value.", gi, fi, op)
			}
			if op == "BETWEEN" && f.HighValue == nil {
				return spoke.Invalidf("filterGroups[%d].filters[%d]: BETWEEN needs value and highValue.", gi, fi)
			}
			fg.Filters = append(fg.Filters, sf)
		}
		req.FilterGroups = append(req.FilterGroups, fg)
	}
	for _, so := range body.Sorts {
		req.Sorts = append(req.Sorts, so.Sort)
	}
	res, err := s.Records.SearchRecords(r.Context(), account(r), t.Name, req)
	if err != nil {
		return err
	}
	v := view{t: t, properties: body.Properties}
	type paging struct {
		Next map[string]string `json:"next"`
	}
	out := struct {
		Total   int             `json:"total"`
		Results []*publicObject `json:"results"`
		Paging  *paging         `json:"paging,omitempty"`
	}{Total: res.Total, Results: make([]*publicObject, 0, len(res.Records))}
	for _, rec := range res.Records {
		out.Results = append(out.Results, v.toWire(rec))
	}
	if res.Next > 0 {
		out.Paging = &paging{Next: map[string]string{"after": strconv.Itoa(res.Next)}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
