package api

import (
	"net/http"
	"time"

	"github.com/spokehq/spoke"
)

// propertyRoutes serves CRM v3 properties and property groups.
func (s *Server) propertyRoutes() []route {
	return []route{
		reads("GET /crm/v3/properties/{objectType}", s.listProperties),
		writes("POST /crm/v3/properties/{objectType}", s.createProperty),
		reads("GET /crm/v3/properties/{objectType}/{name}", s.getProperty),
		writes("PATCH /crm/v3/properties/{objectType}/{name}", s.updateProperty),
		writes("DELETE /crm/v3/properties/{objectType}/{name}", s.archiveProperty),
		reads("POST /crm/v3/properties/{objectType}/batch/read", s.batchReadProperties),
		writes("POST /crm/v3/properties/{objectType}/batch/create", s.batchCreateProperties),
		writes("POST /crm/v3/properties/{objectType}/batch/archive", s.batchArchiveProperties),
		reads("GET /crm/v3/properties/{objectType}/groups", s.listGroups),
		writes("POST /crm/v3/properties/{objectType}/groups", s.createGroup),
		reads("GET /crm/v3/properties/{objectType}/groups/{name}", s.getGroup),
		writes("PATCH /crm/v3/properties/{objectType}/groups/{name}", s.updateGroup),
		writes("DELETE /crm/v3/properties/{objectType}/groups/{name}", s.archiveGroup),
	}
}

// schemaType resolves the path's object type and checks the schema scope.
func schemaType(r *http.Request, write bool) (spoke.ObjectType, error) {
	t, err := resolveType(r, r.PathValue("objectType"))
	if err != nil {
		return t, err
	}
	return t, require(r, schemaScope(t, write)...)
}

type optionWire struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Description  string `json:"description"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type propertyWire struct {
	Name                 string       `json:"name"`
	Label                string       `json:"label"`
	Type                 string       `json:"type"`
	FieldType            string       `json:"fieldType"`
	GroupName            string       `json:"groupName"`
	Description          string       `json:"description"`
	Options              []optionWire `json:"options"`
	DisplayOrder         int          `json:"displayOrder"`
	HasUniqueValue       bool         `json:"hasUniqueValue"`
	Hidden               bool         `json:"hidden"`
	FormField            bool         `json:"formField"`
	Calculated           bool         `json:"calculated"`
	ExternalOptions      bool         `json:"externalOptions"`
	HubspotDefined       bool         `json:"hubspotDefined"`
	Archived             bool         `json:"archived"`
	ArchivedAt           string       `json:"archivedAt,omitempty"`
	CreatedAt            string       `json:"createdAt,omitempty"`
	UpdatedAt            string       `json:"updatedAt,omitempty"`
	ModificationMetadata struct {
		Archivable         bool `json:"archivable"`
		ReadOnlyDefinition bool `json:"readOnlyDefinition"`
		ReadOnlyValue      bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
}

func propertyToWire(p *spoke.Property) propertyWire {
	w := propertyWire{Name: p.Name, Label: p.Label, Type: p.Type, FieldType: p.FieldType, GroupName: p.GroupName,
		Description: p.Description, Options: []optionWire{}, DisplayOrder: p.DisplayOrder, HasUniqueValue: p.HasUniqueValue,
		Hidden: p.Hidden, FormField: p.FormField, Calculated: p.Calculated, HubspotDefined: p.HubspotDefined, Archived: p.Archived}
	for _, o := range p.Options {
		w.Options = append(w.Options, optionWire(o))
	}
	if !p.CreatedAt.IsZero() {
		w.CreatedAt, w.UpdatedAt = spoke.FormatTime(p.CreatedAt), spoke.FormatTime(p.UpdatedAt)
	}
	if p.Archived {
		w.ArchivedAt = spoke.FormatTime(p.ArchivedAt)
	}
	w.ModificationMetadata.Archivable = !p.HubspotDefined
	w.ModificationMetadata.ReadOnlyDefinition = p.HubspotDefined
	w.ModificationMetadata.ReadOnlyValue = p.ReadOnlyValue
	return w
}

// propertyInput is PropertyCreate and PropertyUpdate.
type propertyInput struct {
	Name           string        `json:"name"`
	Label          *string       `json:"label"`
	Type           *string       `json:"type"`
	FieldType      *string       `json:"fieldType"`
	GroupName      *string       `json:"groupName"`
	Description    *string       `json:"description"`
	Options        *[]optionWire `json:"options"`
	DisplayOrder   *int          `json:"displayOrder"`
	HasUniqueValue bool          `json:"hasUniqueValue"`
	Hidden         *bool         `json:"hidden"`
	FormField      *bool         `json:"formField"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (in *propertyInput) options() *[]spoke.Option {
	if in.Options == nil {
		return nil
	}
	out := make([]spoke.Option, len(*in.Options))
	for i, o := range *in.Options {
		out[i] = spoke.Option(o)
	}
	return &out
}

func (in *propertyInput) property(objectType string) *spoke.Property {
	p := &spoke.Property{ObjectType: objectType, Name: in.Name, Label: deref(in.Label), Type: deref(in.Type),
		FieldType: deref(in.FieldType), GroupName: deref(in.GroupName), Description: deref(in.Description),
		DisplayOrder: -1, HasUniqueValue: in.HasUniqueValue, Hidden: deref(in.Hidden), FormField: deref(in.FormField)}
	if in.DisplayOrder != nil {
		p.DisplayOrder = *in.DisplayOrder
	}
	if o := in.options(); o != nil {
		p.Options = *o
	}
	return p
}

func (s *Server) listProperties(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, false)
	if err != nil {
		return err
	}
	archived, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	props, err := s.Properties.ListProperties(r.Context(), account(r), t.Name, archived)
	if err != nil {
		return err
	}
	only := map[string]bool{}
	for _, n := range listParam(r, "properties") {
		only[n] = true
	}
	out := []propertyWire{}
	for _, p := range props {
		if len(only) == 0 || only[p.Name] {
			out = append(out, propertyToWire(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

func (s *Server) getProperty(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, false)
	if err != nil {
		return err
	}
	p, err := s.Properties.GetProperty(r.Context(), account(r), t.Name, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, propertyToWire(p))
	return nil
}

func (s *Server) createProperty(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in propertyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Properties.CreateProperty(r.Context(), account(r), in.property(t.Name))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, propertyToWire(p))
	return nil
}

func (s *Server) updateProperty(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in propertyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Properties.UpdateProperty(r.Context(), account(r), t.Name, r.PathValue("name"), spoke.PropertyUpdate{
		Label: in.Label, Type: in.Type, FieldType: in.FieldType, GroupName: in.GroupName, Description: in.Description,
		Options: in.options(), DisplayOrder: in.DisplayOrder, Hidden: in.Hidden, FormField: in.FormField})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, propertyToWire(p))
	return nil
}

func (s *Server) archiveProperty(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	if err := s.Properties.ArchiveProperty(r.Context(), account(r), t.Name, r.PathValue("name")); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

type propertyNames struct {
	Inputs []struct {
		Name string `json:"name"`
	} `json:"inputs"`
}

func (s *Server) batchReadProperties(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	t, err := schemaType(r, false)
	if err != nil {
		return err
	}
	var in propertyNames
	if err := decode(r, &in); err != nil {
		return err
	}
	results := []propertyWire{}
	var errs []standardErr
	for _, n := range in.Inputs {
		p, err := s.Properties.GetProperty(r.Context(), account(r), t.Name, n.Name)
		if err != nil {
			if e, ok := err.(*spoke.Error); ok {
				errs = append(errs, toStandardErr(e))
				continue
			}
			return err
		}
		results = append(results, propertyToWire(p))
	}
	writeBatch(w, http.StatusOK, started, results, errs)
	return nil
}

func (s *Server) batchCreateProperties(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Inputs []propertyInput `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := checkBatchSize(len(in.Inputs)); err != nil {
		return err
	}
	results := []propertyWire{}
	var errs []standardErr
	for i := range in.Inputs {
		p, err := s.Properties.CreateProperty(r.Context(), account(r), in.Inputs[i].property(t.Name))
		if err != nil {
			if e, ok := err.(*spoke.Error); ok {
				errs = append(errs, toStandardErr(e))
				continue
			}
			return err
		}
		results = append(results, propertyToWire(p))
	}
	writeBatch(w, http.StatusCreated, started, results, errs)
	return nil
}

func (s *Server) batchArchiveProperties(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in propertyNames
	if err := decode(r, &in); err != nil {
		return err
	}
	for _, n := range in.Inputs {
		if err := s.Properties.ArchiveProperty(r.Context(), account(r), t.Name, n.Name); err != nil && spoke.ErrorCode(err) != spoke.ENOTFOUND {
			return err
		}
	}
	writeNoContent(w)
	return nil
}

type groupWire struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	DisplayOrder int    `json:"displayOrder"`
	Archived     bool   `json:"archived"`
}

func groupToWire(g *spoke.PropertyGroup) groupWire {
	return groupWire{Name: g.Name, Label: g.Label, DisplayOrder: g.DisplayOrder, Archived: g.Archived}
}

type groupInput struct {
	Name         string  `json:"name"`
	Label        *string `json:"label"`
	DisplayOrder *int    `json:"displayOrder"`
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, false)
	if err != nil {
		return err
	}
	groups, err := s.Properties.ListPropertyGroups(r.Context(), account(r), t.Name)
	if err != nil {
		return err
	}
	out := []groupWire{}
	for _, g := range groups {
		out = append(out, groupToWire(g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, false)
	if err != nil {
		return err
	}
	g, err := s.Properties.GetPropertyGroup(r.Context(), account(r), t.Name, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupToWire(g))
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	g := &spoke.PropertyGroup{ObjectType: t.Name, Name: in.Name, Label: deref(in.Label), DisplayOrder: -1}
	if in.DisplayOrder != nil {
		g.DisplayOrder = *in.DisplayOrder
	}
	g, err = s.Properties.CreatePropertyGroup(r.Context(), account(r), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, groupToWire(g))
	return nil
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	g, err := s.Properties.UpdatePropertyGroup(r.Context(), account(r), t.Name, r.PathValue("name"), spoke.PropertyGroupUpdate{Label: in.Label, DisplayOrder: in.DisplayOrder})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupToWire(g))
	return nil
}

func (s *Server) archiveGroup(w http.ResponseWriter, r *http.Request) error {
	t, err := schemaType(r, true)
	if err != nil {
		return err
	}
	if err := s.Properties.ArchivePropertyGroup(r.Context(), account(r), t.Name, r.PathValue("name")); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
