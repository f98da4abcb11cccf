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

// v3Link resolves a v3 path that names one link,
// .../{fromId}/associations/{toType}/{toId}/{assocType}: the pair's type
// names, the two records and the association type.
func (s *Server) v3Link(r *http.Request) (names *v3Types, fromID, toID int64, t spoke.AssociationType, err error) {
	from, to, fromID, toID, err := linkPath(r, true)
	if err != nil {
		return
	}
	if names, err = s.typesV3(r.Context(), account(r), from, to); err != nil {
		return
	}
	t, err = names.resolve(r.PathValue("assocType"))
	return
}

// associateV3 is PUT /crm/v3/objects/{from}/{id}/associations/{to}/{toId}/{type}:
// it links the records with the named type and answers 200 with the from
// record (its computed properties) and its associations of the to type,
// as HubSpot's SimplePublicObjectWithAssociations.
func (s *Server) associateV3(w http.ResponseWriter, r *http.Request) error {
	names, fromID, toID, t, err := s.v3Link(r)
	if err != nil {
		return err
	}
	from, to := names.from, names.to
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
	names, fromID, toID, t, err := s.v3Link(r)
	if err != nil {
		return err
	}
	if err := s.Associations.RemoveAssociationTypes(r.Context(), account(r), names.from.Name, fromID, names.to.Name, toID, []spoke.AssociationType{t}); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// listAssociationsV3 is GET /crm/v3/objects/{from}/{id}/associations/{to}:
// HubSpot's CollectionResponseAssociatedIdForwardPaging, paged by the
// associated record's id.
func (s *Server) listAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	from, to, assocs, more, err := s.listLinks(r)
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
		out.Paging = s.nextPageLink(r, afterLast(assocs))
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

// decodeV3Links checks the path of a v3 batch create or archive, reads
// its body, 1 to 2,000 PublicAssociations, and loads the pair's type
// names.
func (s *Server) decodeV3Links(r *http.Request) ([]publicAssociation, *v3Types, error) {
	from, to, err := pair(r, true)
	if err != nil {
		return nil, nil, err
	}
	inputs, err := decodeInputs[publicAssociation](r, maxBatchLinks, "associations")
	if err != nil {
		return nil, nil, err
	}
	names, err := s.typesV3(r.Context(), account(r), from, to)
	if err != nil {
		return nil, nil, err
	}
	return inputs, names, nil
}

// batchAssociateV3 is POST /crm/v3/associations/{from}/{to}/batch/create:
// {"inputs":[{"from":{"id"},"to":{"id"},"type":"contact_to_company"}]};
// 201 with the created associations, 207 with the failed ones in errors.
func (s *Server) batchAssociateV3(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	inputs, names, err := s.decodeV3Links(r)
	if err != nil {
		return err
	}
	from, to := names.from, names.to
	results := []publicAssociation{}
	var errs []standardErr
	for _, item := range inputs {
		_, _, _, err := s.linkOne(r.Context(), account(r), from, to, item.From, item.To, func() ([]spoke.AssociationType, error) {
			t, err := names.resolve(string(item.Type))
			return []spoke.AssociationType{t}, err
		})
		if err == nil {
			results = append(results, item)
			continue
		}
		if errs, err = batchFailure(errs, err); err != nil {
			return err
		}
	}
	writeBatch(w, http.StatusCreated, started, results, errs)
	return nil
}

// batchReadAssociationsV3 is POST /crm/v3/associations/{from}/{to}/batch/read:
// {"inputs":[{"id"}]}; 200 with [{from:{id}, to:[{id, type}], paging?}],
// 207 when some ids name no record.
func (s *Server) batchReadAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	return batchReadLinks(s, w, r, func(from, to spoke.ObjectType) (func([]spoke.Association) []assocRef, error) {
		names, err := s.typesV3(r.Context(), account(r), from, to)
		if err != nil {
			return nil, err
		}
		return names.refs, nil
	})
}

// batchRemoveAssociationsV3 is POST /crm/v3/associations/{from}/{to}/batch/archive:
// {"inputs":[{"from":{"id"},"to":{"id"},"type"}]} removes each named type
// of link; 204. Every type is checked before anything is removed.
func (s *Server) batchRemoveAssociationsV3(w http.ResponseWriter, r *http.Request) error {
	inputs, names, err := s.decodeV3Links(r)
	if err != nil {
		return err
	}
	from, to := names.from, names.to
	links := make([]typedLink, len(inputs))
	for i, item := range inputs {
		t, err := names.resolve(string(item.Type))
		if err != nil {
			return err
		}
		links[i] = typedLink{item.From, item.To, []spoke.AssociationType{t}}
	}
	if err := s.removeLinkTypes(r.Context(), account(r), from, to, links); err != nil {
		return err
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
