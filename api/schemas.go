package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// schemaRoutes serves custom object schemas at HubSpot's documented
// /crm/v3/schemas and at /crm-object-schemas/v3/schemas, where the
// official clients send them.
func (s *Server) schemaRoutes() []route {
	var out []route
	for _, base := range []string{"/crm/v3/schemas", "/crm-object-schemas/v3/schemas"} {
		out = append(out,
			reads("GET "+base, s.listSchemas),
			writes("POST "+base, s.createSchema),
			reads("GET "+base+"/{objectType}", s.getSchema),
			writes("PATCH "+base+"/{objectType}", s.updateSchema),
			writes("DELETE "+base+"/{objectType}", s.deleteSchema),
			writes("POST "+base+"/{objectType}/associations", s.createSchemaAssociation),
			writes("DELETE "+base+"/{objectType}/associations/{associationIdentifier}", s.deleteSchemaAssociation),
		)
	}
	return out
}

// Schema scopes, as HubSpot's schemas API description names them.
var (
	schemaReadScopes  = []string{"crm.schemas.custom.read", "crm.objects.custom.read"}
	schemaWriteScopes = []string{"crm.schemas.custom.write"}
)

type schemaLabels struct {
	Singular string `json:"singular"`
	Plural   string `json:"plural"`
}

type schemaAssociationWire struct {
	ID               string `json:"id"`
	FromObjectTypeID string `json:"fromObjectTypeId"`
	ToObjectTypeID   string `json:"toObjectTypeId"`
	Name             string `json:"name"`
	CreatedAt        string `json:"createdAt,omitempty"`
	UpdatedAt        string `json:"updatedAt,omitempty"`
}

// schemaWire is HubSpot's ObjectSchema.
type schemaWire struct {
	ID                         string                  `json:"id"`
	ObjectTypeID               string                  `json:"objectTypeId"`
	FullyQualifiedName         string                  `json:"fullyQualifiedName"`
	Name                       string                  `json:"name"`
	Labels                     schemaLabels            `json:"labels"`
	Description                string                  `json:"description,omitempty"`
	PrimaryDisplayProperty     string                  `json:"primaryDisplayProperty,omitempty"`
	SecondaryDisplayProperties []string                `json:"secondaryDisplayProperties"`
	RequiredProperties         []string                `json:"requiredProperties"`
	SearchableProperties       []string                `json:"searchableProperties"`
	Properties                 []propertyWire          `json:"properties"`
	Associations               []schemaAssociationWire `json:"associations"`
	MetaType                   string                  `json:"metaType"`
	PortalID                   int64                   `json:"portalId"`
	AllowsSensitiveProperties  bool                    `json:"allowsSensitiveProperties"`
	Archived                   bool                    `json:"archived"`
	CreatedAt                  string                  `json:"createdAt"`
	UpdatedAt                  string                  `json:"updatedAt"`
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Server) schemaToWire(r *http.Request, sc *spoke.ObjectSchema) (schemaWire, error) {
	w := schemaWire{ID: strconv.FormatInt(sc.ID, 10), ObjectTypeID: sc.ObjectTypeID(), FullyQualifiedName: sc.FullyQualifiedName(),
		Name: sc.Name, Labels: schemaLabels{sc.SingularLabel, sc.PluralLabel}, Description: sc.Description,
		PrimaryDisplayProperty: sc.PrimaryDisplayProperty, SecondaryDisplayProperties: orEmpty(sc.SecondaryDisplayProperties),
		RequiredProperties: orEmpty(sc.RequiredProperties), SearchableProperties: orEmpty(sc.SearchableProperties),
		Properties: []propertyWire{}, Associations: []schemaAssociationWire{}, MetaType: "PORTAL_SPECIFIC", PortalID: sc.AccountID,
		Archived: sc.Archived, CreatedAt: spoke.FormatTime(sc.CreatedAt), UpdatedAt: spoke.FormatTime(sc.UpdatedAt)}
	for _, a := range sc.Associations {
		w.Associations = append(w.Associations, associationDefToWire(a))
	}
	if sc.Archived {
		return w, nil // an archived type's properties cannot be read
	}
	props, err := s.Properties.ListProperties(r.Context(), account(r), sc.ObjectTypeID(), false)
	if err != nil {
		return w, err
	}
	for _, p := range props {
		w.Properties = append(w.Properties, propertyToWire(p))
	}
	return w, nil
}

func associationDefToWire(a spoke.SchemaAssociation) schemaAssociationWire {
	w := schemaAssociationWire{ID: strconv.Itoa(a.ID), FromObjectTypeID: a.FromObjectTypeID, ToObjectTypeID: a.ToObjectTypeID, Name: a.Name}
	if !a.CreatedAt.IsZero() {
		w.CreatedAt, w.UpdatedAt = spoke.FormatTime(a.CreatedAt), spoke.FormatTime(a.CreatedAt)
	}
	return w
}

func (s *Server) schemas(r *http.Request, write bool) error {
	if s.Schemas == nil {
		return spoke.NotFoundf("Custom objects are not available on this server.")
	}
	if write {
		return require(r, schemaWriteScopes...)
	}
	return require(r, schemaReadScopes...)
}

// schemaBody checks a schema write's scope and reads its body into v.
func (s *Server) schemaBody(r *http.Request, v any) error {
	if err := s.schemas(r, true); err != nil {
		return err
	}
	return decode(r, v)
}

// writeSchema answers with a schema in HubSpot's ObjectSchema shape.
func (s *Server) writeSchema(w http.ResponseWriter, r *http.Request, status int, sc *spoke.ObjectSchema) error {
	sw, err := s.schemaToWire(r, sc)
	if err != nil {
		return err
	}
	writeJSON(w, status, sw)
	return nil
}

func (s *Server) listSchemas(w http.ResponseWriter, r *http.Request) error {
	if err := s.schemas(r, false); err != nil {
		return err
	}
	archived, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	list, err := s.Schemas.ListSchemas(r.Context(), account(r), archived)
	if err != nil {
		return err
	}
	out := struct {
		Results []schemaWire `json:"results"`
	}{Results: []schemaWire{}}
	for _, sc := range list {
		sw, err := s.schemaToWire(r, sc)
		if err != nil {
			return err
		}
		out.Results = append(out.Results, sw)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) error {
	if err := s.schemas(r, false); err != nil {
		return err
	}
	sc, err := s.Schemas.GetSchema(r.Context(), account(r), r.PathValue("objectType"))
	if err != nil {
		return err
	}
	return s.writeSchema(w, r, http.StatusOK, sc)
}

// schemaInput is ObjectSchemaEgg, and ObjectTypeDefinitionPatch for
// updates.
type schemaInput struct {
	Name                       string           `json:"name"`
	Labels                     *schemaLabels    `json:"labels"`
	Description                *string          `json:"description"`
	ClearDescription           bool             `json:"clearDescription"`
	PrimaryDisplayProperty     *string          `json:"primaryDisplayProperty"`
	SecondaryDisplayProperties *[]string        `json:"secondaryDisplayProperties"`
	RequiredProperties         *[]string        `json:"requiredProperties"`
	SearchableProperties       *[]string        `json:"searchableProperties"`
	AssociatedObjects          []string         `json:"associatedObjects"`
	Properties                 []*propertyInput `json:"properties"`
	MetaType                   string           `json:"metaType"`
}

func (s *Server) createSchema(w http.ResponseWriter, r *http.Request) error {
	var body schemaInput
	if err := s.schemaBody(r, &body); err != nil {
		return err
	}
	in := spoke.SchemaInput{Name: body.Name, Description: deref(body.Description), PrimaryDisplayProperty: deref(body.PrimaryDisplayProperty),
		SecondaryDisplayProperties: deref(body.SecondaryDisplayProperties), RequiredProperties: deref(body.RequiredProperties),
		SearchableProperties: deref(body.SearchableProperties), AssociatedObjects: body.AssociatedObjects}
	if body.Labels != nil {
		in.SingularLabel, in.PluralLabel = body.Labels.Singular, body.Labels.Plural
	}
	for _, p := range body.Properties {
		if p == nil {
			return spoke.Invalidf("properties must be property definitions.")
		}
		in.Properties = append(in.Properties, p.property(""))
	}
	sc, err := s.Schemas.CreateSchema(r.Context(), account(r), in)
	if err != nil {
		return err
	}
	return s.writeSchema(w, r, http.StatusCreated, sc)
}

func (s *Server) updateSchema(w http.ResponseWriter, r *http.Request) error {
	var body schemaInput
	if err := s.schemaBody(r, &body); err != nil {
		return err
	}
	upd := spoke.SchemaUpdate{Description: body.Description, PrimaryDisplayProperty: body.PrimaryDisplayProperty,
		SecondaryDisplayProperties: body.SecondaryDisplayProperties, RequiredProperties: body.RequiredProperties,
		SearchableProperties: body.SearchableProperties}
	if body.ClearDescription {
		empty := ""
		upd.Description = &empty
	}
	if body.Labels != nil {
		upd.SingularLabel, upd.PluralLabel = &body.Labels.Singular, &body.Labels.Plural
	}
	sc, err := s.Schemas.UpdateSchema(r.Context(), account(r), r.PathValue("objectType"), upd)
	if err != nil {
		return err
	}
	return s.writeSchema(w, r, http.StatusOK, sc)
}

// deleteSchema archives a schema, or with archived=true purges an
// archived one so its name can be used again.
func (s *Server) deleteSchema(w http.ResponseWriter, r *http.Request) error {
	if err := s.schemas(r, true); err != nil {
		return err
	}
	purge, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	if err := s.Schemas.DeleteSchema(r.Context(), account(r), r.PathValue("objectType"), purge); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func (s *Server) createSchemaAssociation(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		FromObjectTypeID string `json:"fromObjectTypeId"`
		ToObjectTypeID   string `json:"toObjectTypeId"`
		Name             string `json:"name"`
	}
	if err := s.schemaBody(r, &body); err != nil {
		return err
	}
	if body.ToObjectTypeID == "" {
		return spoke.Invalidf("toObjectTypeId is required.")
	}
	objectType := r.PathValue("objectType")
	if body.FromObjectTypeID != "" && !strings.EqualFold(body.FromObjectTypeID, objectType) {
		sc, err := s.Schemas.GetSchema(r.Context(), account(r), objectType)
		if err != nil {
			return err
		}
		if !sc.Matches(body.FromObjectTypeID) {
			return spoke.Invalidf("fromObjectTypeId %s is not the schema's object type %s.", body.FromObjectTypeID, sc.ObjectTypeID())
		}
	}
	a, err := s.Schemas.CreateSchemaAssociation(r.Context(), account(r), objectType, body.ToObjectTypeID, body.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, associationDefToWire(a))
	return nil
}

func (s *Server) deleteSchemaAssociation(w http.ResponseWriter, r *http.Request) error {
	if err := s.schemas(r, true); err != nil {
		return err
	}
	id, err := strconv.Atoi(r.PathValue("associationIdentifier"))
	if err != nil || id <= 0 {
		return spoke.NotFoundf("No association %s on object type %s.", r.PathValue("associationIdentifier"), r.PathValue("objectType"))
	}
	if err := s.Schemas.DeleteSchemaAssociation(r.Context(), account(r), r.PathValue("objectType"), id); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
