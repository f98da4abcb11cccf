package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
)

// associationV3Routes serves associations v3 over the same stored
// associations as v4: types are named ("contact_to_company") instead of
// {category, typeId} pairs.
func (s *Server) associationV3Routes() []route {
	return []route{
		writes("PUT /crm/v3/objects/{fromType}/{fromId}/associations/{toType}/{toId}/{assocType}", s.associateV3),
		writes("DELETE /crm/v3/objects/{fromType}/{fromId}/associations/{toType}/{toId}/{assocType}", s.removeAssociationV3),
		reads("GET /crm/v3/objects/{fromType}/{fromId}/associations/{toType}", s.listAssociationsV3),
		writes("POST /crm/v3/associations/{fromType}/{toType}/batch/create", s.batchAssociateV3),
		reads("POST /crm/v3/associations/{fromType}/{toType}/batch/read", s.batchReadAssociationsV3),
		writes("POST /crm/v3/associations/{fromType}/{toType}/batch/archive", s.batchRemoveAssociationsV3),
		reads("GET /crm/v3/associations/{fromType}/{toType}/types", s.listTypesV3),
	}
}

// v3 batch limits, from HubSpot's v3 associations guide.
const (
	maxV3BatchCreate = 2000
	maxV3BatchRead   = 1000
)

// v3Types knows the association types between one pair of object types
// and names them the v3 way.
type v3Types struct {
	from, to spoke.ObjectType
	types    []spoke.AssociationType
}

// typesV3 loads the association types from one object type to another:
// HubSpot's and the account's labels.
func (s *Server) typesV3(ctx context.Context, acct int64, from, to spoke.ObjectType) (*v3Types, error) {
	types, err := s.Associations.AssociationLabels(ctx, acct, from.Name, to.Name)
	if err != nil {
		return nil, err
	}
	return &v3Types{from: from, to: to, types: types}, nil
}

// resolve finds the type a v3 name or numeric id names, or answers
// HubSpot's INVALID_ASSOCIATION_TYPE.
func (v *v3Types) resolve(name string) (spoke.AssociationType, error) {
	return spoke.ResolveV3AssociationType(v.from, v.to, name, v.types)
}

// name is the v3 name of a stored association type; a label's internal
// name comes from the pair's definitions.
func (v *v3Types) name(t spoke.AssociationType) string {
	if t.Category != spoke.CategoryHubSpot {
		for _, d := range v.types {
			if d.Category == t.Category && d.TypeID == t.TypeID {
				return spoke.V3AssociationTypeName(v.from, v.to, d)
			}
		}
	}
	return spoke.V3AssociationTypeName(v.from, v.to, t)
}

// refs lists associations as v3 AssociatedIds: one {id, type} per type
// of each link, as HubSpot repeats a record once per label.
func (v *v3Types) refs(assocs []spoke.Association) []assocRef {
	out := make([]assocRef, 0, len(assocs))
	for _, a := range assocs {
		for _, t := range a.Types {
			out = append(out, assocRef{ID: strconv.FormatInt(a.ToID, 10), Type: v.name(t)})
		}
	}
	return out
}

// associateV3 is PUT /crm/v3/objects/{from}/{id}/associations/{to}/{toId}/{type}:
// it links the records with the named type and answers 200 with the from
// record (its computed properties) and its associations of the to type,
// as HubSpot's SimplePublicObjectWithAssociations.
func (s *Server) associateV3(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	fromID, err := pathID(r, "fromId")
	if err != nil {
		return err
	}
	toID, err := pathID(r, "toId")
	if err != nil {
		return err
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	t, err := names.resolve(r.PathValue("assocType"))
	if err != nil {
		return err
	}
	if _, err := s.Associations.Associate(r.Context(), account(r), from.Name, fromID, to.Name, toID, []spoke.AssociationType{t}); err != nil {
		return err
	}
	key := strconv.FormatInt(fromID, 10)
	recs, err := s.Records.GetRecords(r.Context(), account(r), from.Name, []string{key}, spoke.ReadOptions{})
	if err != nil {
		return err
	}
	rec, ok := recs[key]
	if !ok {
		return spoke.ObjectNotFound(r.PathValue("fromId"))
	}
	assocs, _, err := s.Associations.ListAssociations(r.Context(), account(r), from.Name, fromID, to.Name, 0, 500)
	if err != nil {
		return err
	}
	// HubSpot answers with the computed properties only.
	o := view{t: from, properties: []string{spoke.PropObjectID}}.toWire(rec)
	o.Associations = map[string]*assocCollection{to.Name: {Results: names.refs(assocs)}}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// removeAssociationV3 is DELETE .../associations/{to}/{toId}/{type}: it
// removes that type of link (and its reverse) and keeps the others; 204.
func (s *Server) removeAssociationV3(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	fromID, err := pathID(r, "fromId")
	if err != nil {
		return err
	}
	toID, err := pathID(r, "toId")
	if err != nil {
		return err
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	t, err := names.resolve(r.PathValue("assocType"))
	if err != nil {
		return err
	}
	if err := s.Associations.RemoveAssociationTypes(r.Context(), account(r), from.Name, fromID, to.Name, toID, []spoke.AssociationType{t}); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// listAssociationsV3 is GET /crm/v3/objects/{from}/{id}/associations/{to}:
// HubSpot's CollectionResponseAssociatedIdForwardPaging, paged by the
// associated record's id.
func (s *Server) listAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, false)
	if err != nil {
		return err
	}
	fromID, err := pathID(r, "fromId")
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 500, 1, 500)
	if err != nil {
		return err
	}
	var after int64
	if a := r.URL.Query().Get("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil {
			return spoke.Invalidf("Query parameter after must be the cursor from paging.next.after, got %q.", a)
		}
	}
	assocs, more, err := s.Associations.ListAssociations(r.Context(), account(r), from.Name, fromID, to.Name, after, limit)
	if err != nil {
		return err
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	out := struct {
		Results []assocRef  `json:"results"`
		Paging  *listPaging `json:"paging,omitempty"`
	}{Results: names.refs(assocs)}
	if more {
		out.Paging = s.nextPageLink(r, strconv.FormatInt(assocs[len(assocs)-1].ToID, 10))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// publicAssociation is HubSpot's v3 PublicAssociation.
type publicAssociation struct {
	From idRef      `json:"from"`
	To   idRef      `json:"to"`
	Type flexString `json:"type"`
}

// batchAssociateV3 is POST /crm/v3/associations/{from}/{to}/batch/create:
// {"inputs":[{"from":{"id"},"to":{"id"},"type":"contact_to_company"}]};
// 201 with the created associations, 207 with the failed ones in errors.
func (s *Server) batchAssociateV3(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Inputs []publicAssociation `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > maxV3BatchCreate {
		return spoke.Invalidf("inputs must hold 1 to %d associations, got %d.", maxV3BatchCreate, len(in.Inputs))
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	results := []publicAssociation{}
	var errs []standardErr
	for _, item := range in.Inputs {
		err := s.associateOneV3(r.Context(), account(r), names, item)
		if err == nil {
			results = append(results, item)
			continue
		}
		e, ok := err.(*spoke.Error)
		if !ok {
			return err
		}
		errs = append(errs, toStandardErr(e))
	}
	writeBatch(w, http.StatusCreated, started, results, errs)
	return nil
}

// associateOneV3 links one input of a v3 batch create.
func (s *Server) associateOneV3(ctx context.Context, acct int64, names *v3Types, item publicAssociation) error {
	fromID, err := parseID(string(item.From.ID))
	if err != nil {
		return err
	}
	toID, err := parseID(string(item.To.ID))
	if err != nil {
		return err
	}
	t, err := names.resolve(string(item.Type))
	if err != nil {
		return err
	}
	_, err = s.Associations.Associate(ctx, acct, names.from.Name, fromID, names.to.Name, toID, []spoke.AssociationType{t})
	return err
}

// batchReadAssociationsV3 is POST /crm/v3/associations/{from}/{to}/batch/read:
// {"inputs":[{"id"}]}; 200 with [{from:{id}, to:[{id, type}], paging?}],
// 207 when some ids name no record.
func (s *Server) batchReadAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	from, to, err := pair(r, false)
	if err != nil {
		return err
	}
	var in struct {
		Inputs []struct {
			ID    flexString `json:"id"`
			After flexString `json:"after"`
		} `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > maxV3BatchRead {
		return spoke.Invalidf("inputs must hold 1 to %d ids, got %d.", maxV3BatchRead, len(in.Inputs))
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	type result struct {
		From   idRef      `json:"from"`
		To     []assocRef `json:"to"`
		Paging *nextPage  `json:"paging,omitempty"`
	}
	results := []result{}
	var missing []string
	for _, item := range in.Inputs {
		id, err := parseID(string(item.ID))
		if err != nil {
			missing = append(missing, string(item.ID))
			continue
		}
		var after int64
		if item.After != "" {
			after, _ = strconv.ParseInt(string(item.After), 10, 64)
		}
		recs, err := s.Records.GetRecords(r.Context(), account(r), from.Name, []string{string(item.ID)}, spoke.ReadOptions{})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			missing = append(missing, string(item.ID))
			continue
		}
		assocs, more, err := s.Associations.ListAssociations(r.Context(), account(r), from.Name, id, to.Name, after, 500)
		if err != nil {
			return err
		}
		res := result{From: idRef{item.ID}, To: names.refs(assocs)}
		if more {
			res.Paging = &nextPage{}
			res.Paging.Next.After = strconv.FormatInt(assocs[len(assocs)-1].ToID, 10)
		}
		results = append(results, res)
	}
	var errs []standardErr
	if len(missing) > 0 {
		errs = append(errs, standardErr{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: "No " + from.Singular + " is associated with, or exists with, the given ids.",
			Context: map[string][]string{"fromObjectIds": missing}, Errors: []any{}, Links: map[string]string{}})
	}
	writeBatch(w, http.StatusOK, started, results, errs)
	return nil
}

// batchRemoveAssociationsV3 is POST /crm/v3/associations/{from}/{to}/batch/archive:
// {"inputs":[{"from":{"id"},"to":{"id"},"type"}]} removes each named type
// of link; 204. Every type is checked before anything is removed.
func (s *Server) batchRemoveAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Inputs []publicAssociation `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > maxV3BatchCreate {
		return spoke.Invalidf("inputs must hold 1 to %d associations, got %d.", maxV3BatchCreate, len(in.Inputs))
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	types := make([]spoke.AssociationType, len(in.Inputs))
	for i, item := range in.Inputs {
		if types[i], err = names.resolve(string(item.Type)); err != nil {
			return err
		}
	}
	for i, item := range in.Inputs {
		fromID, err := parseID(string(item.From.ID))
		if err != nil {
			continue // an unknown record has no links to remove
		}
		toID, err := parseID(string(item.To.ID))
		if err != nil {
			continue
		}
		if err := s.Associations.RemoveAssociationTypes(r.Context(), account(r), from.Name, fromID, to.Name, toID, types[i:i+1]); err != nil {
			return err
		}
	}
	writeNoContent(w)
	return nil
}

// listTypesV3 is GET /crm/v3/associations/{from}/{to}/types: HubSpot's
// CollectionResponsePublicAssociationDefinitionNoPaging, [{id, name}] with
// the id as a string.
func (s *Server) listTypesV3(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, false)
	if err != nil {
		return err
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return err
	}
	type definition struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	out := make([]definition, 0, len(names.types))
	for _, t := range names.types {
		out = append(out, definition{ID: strconv.Itoa(t.TypeID), Name: spoke.V3AssociationTypeName(from, to, t)})
	}
	writeJSON(w, http.StatusOK, struct {
		Results []definition `json:"results"`
	}{out})
	return nil
}
