package api

import (
	"context"
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

// linkPath resolves an association path that names two records,
// .../{fromType}/{fromId}/associations/{toType}/{toId}, checking the
// scopes on both types.
func linkPath(r *http.Request, write bool) (from, to spoke.ObjectType, fromID, toID int64, err error) {
	if from, to, err = pair(r, write); err != nil {
		return
	}
	if fromID, err = pathID(r, "fromId"); err != nil {
		return
	}
	toID, err = pathID(r, "toId")
	return
}

// batchOf is the body of a batch call: {"inputs": [...]}.
type batchOf[T any] struct {
	Inputs []T `json:"inputs"`
}

// decodeInputs reads a batch body that must hold 1 to max inputs; noun
// names them in the error ("associations", "ids").
func decodeInputs[T any](r *http.Request, max int, noun string) ([]T, error) {
	var in batchOf[T]
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > max {
		return nil, spoke.Invalidf("inputs must hold 1 to %d %s, got %d.", max, noun, len(in.Inputs))
	}
	return in.Inputs, nil
}

// batchFailure adds an input's own failure (a *spoke.Error) to a batch's
// errors, for a 207; any other error ends the request and is handed back.
func batchFailure(errs []standardErr, err error) ([]standardErr, error) {
	e, ok := err.(*spoke.Error)
	if !ok {
		return errs, err
	}
	return append(errs, toStandardErr(e)), nil
}

// Batch limits shared by associations v3 and v4, from HubSpot's guides.
const (
	maxBatchLinks = 2000
	maxBatchReads = 1000
)

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
	from, to, fromID, toID, err := linkPath(r, true)
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
	from, to, fromID, toID, err := linkPath(r, true)
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

// afterLast is the cursor of the page after assocs: its last associated
// record's id.
func afterLast(assocs []spoke.Association) string {
	return strconv.FormatInt(assocs[len(assocs)-1].ToID, 10)
}

// pageAfter is the paging of a page of associations that has more after
// it.
func pageAfter(assocs []spoke.Association) *nextPage {
	p := &nextPage{}
	p.Next.After = afterLast(assocs)
	return p
}

// listLinks reads the page of a record's associations that a v3 or v4
// GET .../{fromType}/{fromId}/associations/{toType} asks for: limit 1 to
// 500 (500 unless given), after the associated record id a previous page
// ended at.
func (s *Server) listLinks(r *http.Request) (from, to spoke.ObjectType, assocs []spoke.Association, more bool, err error) {
	if from, to, err = pair(r, false); err != nil {
		return
	}
	fromID, err := pathID(r, "fromId")
	if err != nil {
		return
	}
	limit, err := intParam(r, "limit", 500, 1, 500)
	if err != nil {
		return
	}
	var after int64
	if a := r.URL.Query().Get("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil {
			err = spoke.Invalidf("Query parameter after must be the cursor from paging.next.after, got %q.", a)
			return
		}
	}
	assocs, more, err = s.Associations.ListAssociations(r.Context(), account(r), from.Name, fromID, to.Name, after, limit)
	return
}

func (s *Server) listAssociations(w http.ResponseWriter, r *http.Request) error {
	_, _, assocs, more, err := s.listLinks(r)
	if err != nil {
		return err
	}
	out := struct {
		Results []multiAssociated `json:"results"`
		Paging  *nextPage         `json:"paging,omitempty"`
	}{Results: toMulti(assocs)}
	if more {
		out.Paging = pageAfter(assocs)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeAssociation(w http.ResponseWriter, r *http.Request) error {
	from, to, fromID, toID, err := linkPath(r, true)
	if err != nil {
		return err
	}
	if err := s.Associations.RemoveAssociations(r.Context(), account(r), from.Name, fromID, to.Name, toID); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// linkInput is one input of a v4 batch create or labels archive.
type linkInput struct {
	From  idRef       `json:"from"`
	To    idRef       `json:"to"`
	Types []assocSpec `json:"types"`
}

// batchAssocInput is the body of a v4 batch create or labels archive.
type batchAssocInput = batchOf[linkInput]

func (s *Server) batchAssociate(w http.ResponseWriter, r *http.Request) error {
	return s.batchLink(w, r, false)
}

func (s *Server) batchAssociateDefault(w http.ResponseWriter, r *http.Request) error {
	return s.batchLink(w, r, true)
}

// linkOne links the records one batch input names, with the types typesOf
// gives, or the default type when typesOf is nil, and returns the types
// the records then have. An id that names no record fails with
// OBJECT_NOT_FOUND before the types are looked at.
func (s *Server) linkOne(ctx context.Context, acct int64, from, to spoke.ObjectType, fromRef, toRef idRef, typesOf func() ([]spoke.AssociationType, error)) (fromID, toID int64, types []spoke.AssociationType, err error) {
	if fromID, err = parseID(string(fromRef.ID)); err != nil {
		return
	}
	if toID, err = parseID(string(toRef.ID)); err != nil {
		return
	}
	if typesOf != nil {
		if types, err = typesOf(); err != nil {
			return
		}
	}
	types, err = s.Associations.Associate(ctx, acct, from.Name, fromID, to.Name, toID, types)
	return
}

// decodeLinks checks the path of a v4 batch create or labels archive and
// reads its body, 1 to 2,000 inputs.
func decodeLinks(r *http.Request) (from, to spoke.ObjectType, inputs []linkInput, err error) {
	if from, to, err = pair(r, true); err != nil {
		return
	}
	inputs, err = decodeInputs[linkInput](r, maxBatchLinks, "associations")
	return
}

func (s *Server) batchLink(w http.ResponseWriter, r *http.Request, byDefault bool) error {
	started := time.Now()
	from, to, inputs, err := decodeLinks(r)
	if err != nil {
		return err
	}
	labels := []labelsBetween{}
	defaults := []defaultResult{}
	var errs []standardErr
	for _, item := range inputs {
		var typesOf func() ([]spoke.AssociationType, error)
		if !byDefault {
			typesOf = func() ([]spoke.AssociationType, error) { return specsToTypes(item.Types) }
		}
		fromID, toID, types, err := s.linkOne(r.Context(), account(r), from, to, item.From, item.To, typesOf)
		if err != nil {
			if errs, err = batchFailure(errs, err); err != nil {
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
		writeBatch(w, http.StatusOK, started, defaults, errs)
		return nil
	}
	writeBatch(w, http.StatusCreated, started, labels, errs)
	return nil
}

// linksOf is one result of a v3 or v4 batch read: a record's associations
// in the version's shape (To), and the cursor of the rest past 500.
type linksOf[T any] struct {
	From   idRef     `json:"from"`
	To     T         `json:"to"`
	Paging *nextPage `json:"paging,omitempty"`
}

// batchReadLinks answers a v3 or v4 batch read, {"inputs":[{"id",
// "after"?}]}: 200 with each record's associations of the to type, 207
// with the ids that name no record. wire is called once the inputs are
// valid and returns how one record's associations are written.
func batchReadLinks[T any](s *Server, w http.ResponseWriter, r *http.Request, wire func(from, to spoke.ObjectType) (func([]spoke.Association) T, error)) error {
	started := time.Now()
	from, to, err := pair(r, false)
	if err != nil {
		return err
	}
	inputs, err := decodeInputs[struct {
		ID    flexString `json:"id"`
		After flexString `json:"after"`
	}](r, maxBatchReads, "ids")
	if err != nil {
		return err
	}
	toWire, err := wire(from, to)
	if err != nil {
		return err
	}
	results := []linksOf[T]{}
	var missing []string
	for _, item := range inputs {
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
		res := linksOf[T]{From: idRef{item.ID}, To: toWire(assocs)}
		if more {
			res.Paging = pageAfter(assocs)
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

func (s *Server) batchReadAssociations(w http.ResponseWriter, r *http.Request) error {
	return batchReadLinks(s, w, r, func(_, _ spoke.ObjectType) (func([]spoke.Association) []multiAssociated, error) {
		return toMulti, nil
	})
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
	from, to, inputs, err := decodeLinks(r)
	if err != nil {
		return err
	}
	// Check every input before removing anything.
	links := make([]typedLink, len(inputs))
	for i, item := range inputs {
		types, err := specsToTypes(item.Types)
		if err != nil {
			return spoke.Invalidf("inputs[%d].types: %s", i, spoke.ErrorMessage(err))
		}
		links[i] = typedLink{item.From, item.To, types}
	}
	if err := s.removeLinkTypes(r.Context(), account(r), from, to, links); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// typedLink is one input of a batch archive of association types: the
// two records as sent and the types to remove between them.
type typedLink struct {
	from, to idRef
	types    []spoke.AssociationType
}

// removeLinkTypes removes each link's types and keeps the records' other
// types. An id that names no record is skipped: it has no links to remove.
func (s *Server) removeLinkTypes(ctx context.Context, acct int64, from, to spoke.ObjectType, links []typedLink) error {
	for _, l := range links {
		fromID, err := parseID(string(l.from.ID))
		if err != nil {
			continue
		}
		toID, err := parseID(string(l.to.ID))
		if err != nil {
			continue
		}
		if err := s.Associations.RemoveAssociationTypes(ctx, acct, from.Name, fromID, to.Name, toID, l.types); err != nil {
			return err
		}
	}
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
