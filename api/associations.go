package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
)

// associationRoutes serves associations v4.
func (s *Server) associationRoutes() []route {
	return []route{
		writes("PUT /crm/v4/objects/{fromType}/{fromId}/associations/{toType}/{toId}", s.associate),
		writes("PUT /crm/v4/objects/{fromType}/{fromId}/associations/default/{toType}/{toId}", s.associateDefault),
		reads("GET /crm/v4/objects/{fromType}/{fromId}/associations/{toType}", s.listAssociations),
		writes("DELETE /crm/v4/objects/{fromType}/{fromId}/associations/{toType}/{toId}", s.removeAssociation),
		writes("POST /crm/v4/associations/{fromType}/{toType}/batch/create", s.batchAssociate),
		writes("POST /crm/v4/associations/{fromType}/{toType}/batch/associate/default", s.batchAssociateDefault),
		reads("POST /crm/v4/associations/{fromType}/{toType}/batch/read", s.batchReadAssociations),
		writes("POST /crm/v4/associations/{fromType}/{toType}/batch/archive", s.batchRemoveAssociations),
		writes("POST /crm/v4/associations/{fromType}/{toType}/batch/labels/archive", s.batchRemoveLabels),
		reads("GET /crm/v4/associations/{fromType}/{toType}/labels", s.listLabels),
		writes("POST /crm/v4/associations/{fromType}/{toType}/labels", s.createLabel),
		writes("PUT /crm/v4/associations/{fromType}/{toType}/labels", s.updateLabel),
		writes("DELETE /crm/v4/associations/{fromType}/{toType}/labels/{typeId}", s.deleteLabel),
	}
}

// pair resolves the from and to object types of an association path and
// checks the scopes on both.
func pair(r *http.Request, write bool) (from, to spoke.ObjectType, err error) {
	if from, err = resolveType(r, r.PathValue("fromType")); err != nil {
		return
	}
	if to, err = resolveType(r, r.PathValue("toType")); err != nil {
		return
	}
	if err = require(r, objectScope(from, write)...); err != nil {
		return
	}
	err = require(r, objectScope(to, false)...)
	return
}

func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, spoke.ObjectNotFound(v)
	}
	return id, nil
}

func parseID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, spoke.ObjectNotFound(v)
	}
	return id, nil
}

type assocSpec struct {
	AssociationCategory string `json:"associationCategory"`
	AssociationTypeID   int    `json:"associationTypeId"`
}

func specsToTypes(specs []assocSpec) ([]spoke.AssociationType, error) {
	if len(specs) == 0 {
		return nil, spoke.Invalidf("Give at least one association type: [{\"associationCategory\": \"HUBSPOT_DEFINED\", \"associationTypeId\": N}].")
	}
	out := make([]spoke.AssociationType, len(specs))
	for i, s := range specs {
		switch s.AssociationCategory {
		case spoke.CategoryHubSpot, spoke.CategoryUser, spoke.CategoryIntegrator:
		default:
			return nil, spoke.Invalidf("associationCategory must be HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED, got %q.", s.AssociationCategory)
		}
		if s.AssociationTypeID <= 0 {
			return nil, spoke.Invalidf("associationTypeId must be a positive integer.")
		}
		out[i] = spoke.AssociationType{Category: s.AssociationCategory, TypeID: s.AssociationTypeID}
	}
	return out, nil
}

type labelsBetween struct {
	FromObjectTypeID string   `json:"fromObjectTypeId"`
	FromObjectID     int64    `json:"fromObjectId"`
	ToObjectTypeID   string   `json:"toObjectTypeId"`
	ToObjectID       int64    `json:"toObjectId"`
	Labels           []string `json:"labels"`
}

func labelsOf(from, to spoke.ObjectType, fromID, toID int64, types []spoke.AssociationType) labelsBetween {
	out := labelsBetween{FromObjectTypeID: from.ID, FromObjectID: fromID, ToObjectTypeID: to.ID, ToObjectID: toID, Labels: []string{}}
	for _, t := range types {
		if t.Label != "" {
			out.Labels = append(out.Labels, t.Label)
		}
	}
	return out
}

func (s *Server) associate(w http.ResponseWriter, r *http.Request) error {
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
	var specs []assocSpec
	if err := decode(r, &specs); err != nil {
		return err
	}
	types, err := specsToTypes(specs)
	if err != nil {
		return err
	}
	types, err = s.Associations.Associate(r.Context(), account(r), from.Name, fromID, to.Name, toID, types)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, labelsOf(from, to, fromID, toID, types))
	return nil
}

type idRef struct {
	ID flexString `json:"id"`
}

type defaultResult struct {
	From            idRef     `json:"from"`
	To              idRef     `json:"to"`
	AssociationSpec assocSpec `json:"associationSpec"`
}

func (s *Server) associateDefault(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
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
	types, err := s.Associations.Associate(r.Context(), account(r), from.Name, fromID, to.Name, toID, nil)
	if err != nil {
		return err
	}
	res := []defaultResult{{From: idRef{flexString(r.PathValue("fromId"))}, To: idRef{flexString(r.PathValue("toId"))},
		AssociationSpec: assocSpec{types[0].Category, types[0].TypeID}}}
	writeBatch(w, http.StatusOK, started, res, nil)
	return nil
}

type typeWire struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

type multiAssociated struct {
	ToObjectID       int64      `json:"toObjectId"`
	AssociationTypes []typeWire `json:"associationTypes"`
}

func toMulti(assocs []spoke.Association) []multiAssociated {
	out := make([]multiAssociated, 0, len(assocs))
	for _, a := range assocs {
		m := multiAssociated{ToObjectID: a.ToID, AssociationTypes: make([]typeWire, 0, len(a.Types))}
		for _, t := range a.Types {
			tw := typeWire{Category: t.Category, TypeID: t.TypeID}
			if t.Label != "" {
				l := t.Label
				tw.Label = &l
			}
			m.AssociationTypes = append(m.AssociationTypes, tw)
		}
		out = append(out, m)
	}
	return out
}

type nextPage struct {
	Next struct {
		After string `json:"after"`
	} `json:"next"`
}

func (s *Server) listAssociations(w http.ResponseWriter, r *http.Request) error {
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
	out := struct {
		Results []multiAssociated `json:"results"`
		Paging  *nextPage         `json:"paging,omitempty"`
	}{Results: toMulti(assocs)}
	if more {
		out.Paging = &nextPage{}
		out.Paging.Next.After = strconv.FormatInt(assocs[len(assocs)-1].ToID, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeAssociation(w http.ResponseWriter, r *http.Request) error {
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
	if err := s.Associations.RemoveAssociations(r.Context(), account(r), from.Name, fromID, to.Name, toID); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

type batchAssocInput struct {
	Inputs []struct {
		From  idRef       `json:"from"`
		To    idRef       `json:"to"`
		Types []assocSpec `json:"types"`
	} `json:"inputs"`
}

func (s *Server) batchAssociate(w http.ResponseWriter, r *http.Request) error {
	return s.batchLink(w, r, false)
}

func (s *Server) batchAssociateDefault(w http.ResponseWriter, r *http.Request) error {
	return s.batchLink(w, r, true)
}

func (s *Server) batchLink(w http.ResponseWriter, r *http.Request, byDefault bool) error {
	started := time.Now()
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var in batchAssocInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 2000 {
		return spoke.Invalidf("inputs must hold 1 to 2000 associations, got %d.", len(in.Inputs))
	}
	var labels []labelsBetween
	var defaults []defaultResult
	var errs []standardErr
	for _, item := range in.Inputs {
		// fail keeps an input's own failure for the batch's errors and
		// hands back any other error, which ends the request.
		fail := func(err error) error {
			if e, ok := err.(*spoke.Error); ok {
				errs = append(errs, toStandardErr(e))
				return nil
			}
			return err
		}
		fromID, err := parseID(string(item.From.ID))
		if err != nil {
			if err := fail(err); err != nil {
				return err
			}
			continue
		}
		toID, err := parseID(string(item.To.ID))
		if err != nil {
			if err := fail(err); err != nil {
				return err
			}
			continue
		}
		var types []spoke.AssociationType
		if !byDefault {
			if types, err = specsToTypes(item.Types); err != nil {
				if err := fail(err); err != nil {
					return err
				}
				continue
			}
		}
		types, err = s.Associations.Associate(r.Context(), account(r), from.Name, fromID, to.Name, toID, types)
		if err != nil {
			if err := fail(err); err != nil {
				return err
			}
			continue
		}
		if byDefault {
			defaults = append(defaults, defaultResult{From: item.From, To: item.To, AssociationSpec: assocSpec{types[0].Category, types[0].TypeID}})
		} else {
			labels = append(labels, labelsOf(from, to, fromID, toID, types))
		}
	}
	if byDefault {
		if defaults == nil {
			defaults = []defaultResult{}
		}
		writeBatch(w, http.StatusOK, started, defaults, errs)
		return nil
	}
	if labels == nil {
		labels = []labelsBetween{}
	}
	writeBatch(w, http.StatusCreated, started, labels, errs)
	return nil
}

func (s *Server) batchReadAssociations(w http.ResponseWriter, r *http.Request) error {
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
	if len(in.Inputs) == 0 || len(in.Inputs) > 1000 {
		return spoke.Invalidf("inputs must hold 1 to 1000 ids, got %d.", len(in.Inputs))
	}
	type result struct {
		From   idRef             `json:"from"`
		To     []multiAssociated `json:"to"`
		Paging *nextPage         `json:"paging,omitempty"`
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
		res := result{From: idRef{item.ID}, To: toMulti(assocs)}
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

func (s *Server) batchRemoveAssociations(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Inputs []struct {
			From idRef   `json:"from"`
			To   []idRef `json:"to"`
		} `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	for _, item := range in.Inputs {
		fromID, err := parseID(string(item.From.ID))
		if err != nil {
			continue
		}
		for _, t := range item.To {
			toID, err := parseID(string(t.ID))
			if err != nil {
				continue
			}
			if err := s.Associations.RemoveAssociations(r.Context(), account(r), from.Name, fromID, to.Name, toID); err != nil {
				return err
			}
		}
	}
	writeNoContent(w)
	return nil
}

// batchRemoveLabels is v4 batchApi.archiveLabels: it removes the given
// association types (labels) between each pair and keeps the others; 204.
func (s *Server) batchRemoveLabels(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var in batchAssocInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 2000 {
		return spoke.Invalidf("inputs must hold 1 to 2000 associations, got %d.", len(in.Inputs))
	}
	// Check every input before removing anything.
	types := make([][]spoke.AssociationType, len(in.Inputs))
	for i, item := range in.Inputs {
		if types[i], err = specsToTypes(item.Types); err != nil {
			return spoke.Invalidf("inputs[%d].types: %s", i, spoke.ErrorMessage(err))
		}
	}
	for i, item := range in.Inputs {
		fromID, err := parseID(string(item.From.ID))
		if err != nil {
			continue // an unknown record has no labels to remove
		}
		toID, err := parseID(string(item.To.ID))
		if err != nil {
			continue
		}
		if err := s.Associations.RemoveAssociationTypes(r.Context(), account(r), from.Name, fromID, to.Name, toID, types[i]); err != nil {
			return err
		}
	}
	writeNoContent(w)
	return nil
}

// labelWire is HubSpot's AssociationSpecWithLabel; an unlabelled type has
// a null label.
type labelWire struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

// writeLabels answers 200 with HubSpot's
// CollectionResponseAssociationSpecWithLabelNoPaging.
func writeLabels(w http.ResponseWriter, types []spoke.AssociationType) {
	out := make([]labelWire, 0, len(types))
	for _, t := range types {
		l := labelWire{Category: t.Category, TypeID: t.TypeID}
		if t.Label != "" {
			label := t.Label
			l.Label = &label
		}
		out = append(out, l)
	}
	writeJSON(w, http.StatusOK, struct {
		Results []labelWire `json:"results"`
	}{out})
}

// listLabels is v4 schema definitionsApi.getAll: the association types from
// one object type to another, HubSpot's and the account's labels.
func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, false)
	if err != nil {
		return err
	}
	types, err := s.Associations.AssociationLabels(r.Context(), account(r), from.Name, to.Name)
	if err != nil {
		return err
	}
	writeLabels(w, types)
	return nil
}

// createLabel is definitionsApi.create: {"label", "name", "inverseLabel"?}
// defines a USER_DEFINED type; 200 with it.
func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var body struct {
		Label        string `json:"label"`
		Name         string `json:"name"`
		InverseLabel string `json:"inverseLabel"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	t, err := s.Associations.CreateAssociationLabel(r.Context(), account(r), from.Name, to.Name, body.Name, body.Label, body.InverseLabel)
	if err != nil {
		return err
	}
	writeLabels(w, []spoke.AssociationType{t})
	return nil
}

// updateLabel is definitionsApi.update: {"associationTypeId", "label",
// "inverseLabel"?} renames a label; 204.
func (s *Server) updateLabel(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	var body struct {
		AssociationTypeID int    `json:"associationTypeId"`
		Label             string `json:"label"`
		InverseLabel      string `json:"inverseLabel"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.AssociationTypeID <= 0 {
		return spoke.Invalidf("associationTypeId must be the typeId of a label, got %d.", body.AssociationTypeID)
	}
	if err := s.Associations.UpdateAssociationLabel(r.Context(), account(r), from.Name, to.Name, body.AssociationTypeID, body.Label, body.InverseLabel); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// deleteLabel is definitionsApi.archive: it removes a label and the
// associations of its type; 204.
func (s *Server) deleteLabel(w http.ResponseWriter, r *http.Request) error {
	from, to, err := pair(r, true)
	if err != nil {
		return err
	}
	id, err := strconv.Atoi(r.PathValue("typeId"))
	if err != nil || id <= 0 {
		return spoke.NotFoundf("No association label %q between %s and %s.", r.PathValue("typeId"), from.Name, to.Name)
	}
	if err := s.Associations.DeleteAssociationLabel(r.Context(), account(r), from.Name, to.Name, id); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
