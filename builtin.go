package spoke

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// PropMergedObjectIDs lists, separated by semicolons, the ids of the records
// merged into a record.
const PropMergedObjectIDs = "hs_merged_object_ids"

// PropLifecycleStage is the lifecycle stage of contacts and companies.
// Entering stage X sets the read-only hs_lifecyclestage_X_date (see
// LifecycleStageDateProperty).
const PropLifecycleStage = "lifecyclestage"

// LifecycleStageDateProperty names the property that records when a record
// entered a lifecycle stage: hs_lifecyclestage_<stage>_date.
func LifecycleStageDateProperty(stage string) string {
	return "hs_lifecyclestage_" + stage + "_date"
}

// The catalogue of HubSpot-defined properties is data, not code: one JSON
// file per object type under defaults/, named after the type's plural name
// ("contacts.json"), in the shape of HubSpot's property API (name, label,
// type, fieldType, groupName, options, calculated,
// modificationMetadata.readOnlyValue, ...). Adding an object type's
// defaults is adding its file.
//
//go:embed defaults/*.json
var defaultFiles embed.FS

// catalogFile is one defaults/<type>.json.
type catalogFile struct {
	ObjectType string            `json:"objectType"`
	Groups     []catalogGroup    `json:"groups"`
	Properties []catalogProperty `json:"properties"`
}

type catalogGroup struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	DisplayOrder int    `json:"displayOrder"`
}

type catalogOption struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Description  string `json:"description"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type catalogProperty struct {
	Name                 string          `json:"name"`
	Label                string          `json:"label"`
	Type                 string          `json:"type"`
	FieldType            string          `json:"fieldType"`
	GroupName            string          `json:"groupName"`
	Description          string          `json:"description"`
	Options              []catalogOption `json:"options"`
	DisplayOrder         int             `json:"displayOrder"`
	HasUniqueValue       bool            `json:"hasUniqueValue"`
	Hidden               bool            `json:"hidden"`
	FormField            bool            `json:"formField"`
	Calculated           bool            `json:"calculated"`
	ModificationMetadata struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
	// SpokeValueIndex asks for a value index on the property (see
	// Property.ValueIndex); it is Spoke's, not HubSpot's.
	SpokeValueIndex bool `json:"spokeValueIndex"`
	// SpokeOptions says that the options are the account's data (see
	// Property.OptionsFrom); the file's options, if any, are only the
	// defaults of a new account.
	SpokeOptions string `json:"spokeOptions"`
	// SpokeCounts names the object type whose associated records the
	// property counts (see Property.CountsAssociated).
	SpokeCounts string `json:"spokeCounts"`
}

// Catalog holds the HubSpot-defined property groups and properties of one
// object type.
type Catalog struct {
	ObjectType string
	Groups     []*PropertyGroup
	Properties []*Property
}

// LoadCatalogs reads and checks every *.json file of fsys's root: each must
// name a known object type (and be named after it), list its groups, and
// define valid properties in existing groups, with the type's unique and
// computed properties among them.
func LoadCatalogs(fsys fs.FS) (map[string]*Catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Catalog, len(names))
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		c, err := parseCatalog(data)
		if err != nil {
			return nil, fmt.Errorf("default properties %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); c.ObjectType != want {
			return nil, fmt.Errorf("default properties %s: objectType %q, want %q", name, c.ObjectType, want)
		}
		out[c.ObjectType] = c
	}
	return out, nil
}

func parseCatalog(data []byte) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	t, ok := LookupObjectType(f.ObjectType)
	if !ok || t.Name != f.ObjectType {
		return nil, fmt.Errorf("unknown object type %q", f.ObjectType)
	}
	c := &Catalog{ObjectType: t.Name}
	groups := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || g.Label == "" || groups[g.Name] {
			return nil, fmt.Errorf("group %q needs a unique name and a label", g.Name)
		}
		groups[g.Name] = true
		c.Groups = append(c.Groups, &PropertyGroup{ObjectType: t.Name, Name: g.Name, Label: g.Label, DisplayOrder: g.DisplayOrder})
	}
	if len(c.Groups) == 0 || c.Groups[0].Name != BuiltinGroupName(t) {
		return nil, fmt.Errorf("the first group must be %s", BuiltinGroupName(t))
	}
	seen := map[string]*Property{}
	for _, cp := range f.Properties {
		p := &Property{ObjectType: t.Name, Name: cp.Name, Label: cp.Label, Type: cp.Type, FieldType: cp.FieldType,
			GroupName: cp.GroupName, Description: cp.Description, DisplayOrder: cp.DisplayOrder,
			HasUniqueValue: cp.HasUniqueValue, Hidden: cp.Hidden, FormField: cp.FormField, HubspotDefined: true,
			Calculated: cp.Calculated, ReadOnlyValue: cp.ModificationMetadata.ReadOnlyValue || cp.Calculated,
			ValueIndex: cp.SpokeValueIndex, OptionsFrom: cp.SpokeOptions, CountsAssociated: cp.SpokeCounts}
		for _, o := range cp.Options {
			p.Options = append(p.Options, Option(o))
		}
		switch cp.SpokeOptions {
		case "", OptionsOwners, OptionsTeams, OptionsPipelines, OptionsPipelineStages:
		default:
			return nil, fmt.Errorf("property %s: unknown spokeOptions %q", cp.Name, cp.SpokeOptions)
		}
		if cp.SpokeOptions != "" && cp.Type != TypeEnumeration {
			return nil, fmt.Errorf("property %s: spokeOptions needs an enumeration", cp.Name)
		}
		if cp.SpokeCounts != "" {
			if to, ok := LookupObjectType(cp.SpokeCounts); !ok || to.Name != cp.SpokeCounts {
				return nil, fmt.Errorf("property %s: spokeCounts names no object type: %q", cp.Name, cp.SpokeCounts)
			}
			if cp.Type != TypeNumber || !p.ReadOnlyValue {
				return nil, fmt.Errorf("property %s: spokeCounts needs a read-only number", cp.Name)
			}
		}
		if cp.FieldType == "" {
			return nil, fmt.Errorf("property %s has no fieldType", cp.Name)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("property %s: %w", cp.Name, err)
		}
		if !groups[p.GroupName] {
			return nil, fmt.Errorf("property %s is in group %q, which the file does not list", p.Name, p.GroupName)
		}
		if seen[p.Name] != nil {
			return nil, fmt.Errorf("property %s is defined twice", p.Name)
		}
		if p.HasUniqueValue != (p.Name == t.UniqueProperty) {
			return nil, fmt.Errorf("property %s: hasUniqueValue must be set on the type's unique property (%q) only", p.Name, t.UniqueProperty)
		}
		if p.ValueIndex && (p.ReadOnlyValue || !indexable(p.Type)) {
			return nil, fmt.Errorf("property %s: only writable number, date and datetime properties take spokeValueIndex", p.Name)
		}
		seen[p.Name] = p
		c.Properties = append(c.Properties, p)
	}
	// Spoke computes these for every record: they must be defined, and
	// read-only.
	for _, name := range []string{PropObjectID, PropCreateDate, t.LastModifiedProperty, PropMergedObjectIDs} {
		if p := seen[name]; p == nil || !p.ReadOnlyValue {
			return nil, fmt.Errorf("property %s must be defined and read-only", name)
		}
	}
	if p := seen[PropHSCreateDate]; p != nil && !p.ReadOnlyValue {
		return nil, fmt.Errorf("property %s must be read-only", PropHSCreateDate)
	}
	for _, name := range t.RequiredProperties {
		if p := seen[name]; p == nil || p.ReadOnlyValue {
			return nil, fmt.Errorf("required property %s must be defined and writable", name)
		}
	}
	if t.UniqueProperty != "" && seen[t.UniqueProperty] == nil {
		return nil, fmt.Errorf("the unique property %s is not defined", t.UniqueProperty)
	}
	// A lifecycle stage's date is maintained by Spoke, so it must be
	// read-only; every stage needs one.
	if ls := seen[PropLifecycleStage]; ls != nil {
		for _, o := range ls.Options {
			if d := seen[LifecycleStageDateProperty(o.Value)]; d == nil || !d.ReadOnlyValue || d.Type != TypeDateTime {
				return nil, fmt.Errorf("lifecycle stage %s needs the read-only datetime %s", o.Value, LifecycleStageDateProperty(o.Value))
			}
		}
	}
	sort.SliceStable(c.Properties, func(i, j int) bool { return c.Properties[i].Name < c.Properties[j].Name })
	return c, nil
}

func indexable(typ string) bool {
	return typ == TypeNumber || typ == TypeDate || typ == TypeDateTime
}

// catalogs is the compiled-in catalogue, checked at start: a broken file
// is a build mistake, caught by the package's tests.
var catalogs = func() map[string]*Catalog {
	sub, err := fs.Sub(defaultFiles, "defaults")
	if err != nil {
		panic(err)
	}
	c, err := LoadCatalogs(sub)
	if err != nil {
		panic(err)
	}
	return c
}()

// BuiltinGroupName is the main property group of an object type's
// HubSpot-defined properties ("contactinformation" and so on), where
// properties go when a caller names no group.
func BuiltinGroupName(t ObjectType) string { return t.Singular + "information" }

// BuiltinProperties returns copies of the HubSpot-defined properties of t,
// computed ones included, sorted by name. A custom object type has the
// properties Spoke computes for every record.
func BuiltinProperties(t ObjectType) []*Property {
	if t.Custom {
		return customObjectProperties(t)
	}
	c := catalogs[t.Name]
	if c == nil {
		return nil
	}
	out := make([]*Property, len(c.Properties))
	for i, p := range c.Properties {
		cp := *p
		out[i] = &cp
	}
	return out
}

// customObjectProperties are the HubSpot-defined properties of a custom
// object type: the ones Spoke computes for every record.
func customObjectProperties(t ObjectType) []*Property {
	g := BuiltinGroupName(t)
	ro := func(name, label, typ, fieldType, desc string) *Property {
		return &Property{ObjectType: t.Name, Name: name, Label: label, Type: typ, FieldType: fieldType, GroupName: g,
			Description: desc, DisplayOrder: -1, HubspotDefined: true, ReadOnlyValue: true}
	}
	id := ro(PropObjectID, "Record ID", TypeNumber, "number", "The unique ID for this record. This value is automatically set by HubSpot and may not be modified.")
	id.Calculated, id.FormField = true, true
	return []*Property{
		ro(PropCreateDate, "Create Date", TypeDateTime, "date", "The date that a record entered the system."),
		ro(PropHSCreateDate, "Object create date/time", TypeDateTime, "date", "The date and time at which this object was created. This value is automatically set by HubSpot and may not be modified."),
		ro("hs_lastmodifieddate", "Object last modified date/time", TypeDateTime, "date", "Most recent timestamp of any property update for this object. This includes HubSpot internal properties, which can be visible or hidden. This property is updated automatically."),
		ro(PropMergedObjectIDs, "Merged record IDs", TypeString, "text", "The list of record IDs that have been merged into this record. This value is set automatically by HubSpot."),
		id,
	}
}

// BuiltinGroups returns copies of the HubSpot-defined property groups of t,
// in display order.
func BuiltinGroups(t ObjectType) []*PropertyGroup {
	c := catalogs[t.Name]
	if c == nil {
		return []*PropertyGroup{{ObjectType: t.Name, Name: BuiltinGroupName(t), Label: strings.ToUpper(t.Singular[:1]) + t.Singular[1:] + " information"}}
	}
	out := make([]*PropertyGroup, len(c.Groups))
	for i, g := range c.Groups {
		cg := *g
		out[i] = &cg
	}
	return out
}

// IsBuiltinGroup reports whether name is a HubSpot-defined property group
// of t.
func IsBuiltinGroup(t ObjectType, name string) bool {
	for _, g := range BuiltinGroups(t) {
		if g.Name == name {
			return true
		}
	}
	return false
}

// ReadOnlyValueError is HubSpot's answer to a write of a property Spoke
// maintains: READ_ONLY_VALUE, worded for calculated or read-only
// properties as HubSpot words them.
func ReadOnlyValueError(p *Property) *ValueError {
	kind := "read only"
	if p.Calculated {
		kind = "calculated"
	}
	return &ValueError{Name: p.Name, Error: "READ_ONLY_VALUE", Message: fmt.Sprintf("%q is a %s property; its value cannot be set.", p.Name, kind)}
}
