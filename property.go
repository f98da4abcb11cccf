package spoke

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Property value types, as HubSpot names them.
const (
	TypeString      = "string"
	TypeNumber      = "number"
	TypeBool        = "bool"
	TypeDate        = "date"
	TypeDateTime    = "datetime"
	TypeEnumeration = "enumeration"
	TypePhoneNumber = "phone_number"
)

// fieldTypes lists the field types HubSpot allows for each value type
// (the properties guide's table: bool booleancheckbox or
// calculation_equation; enumeration booleancheckbox, checkbox, radio,
// select or calculation_equation; date and datetime date; string file,
// text, textarea, calculation_equation, html or phonenumber; number number
// or calculation_equation; phone_number phonenumber), plus the
// combinations Spoke already accepted.
var fieldTypes = map[string][]string{
	TypeString:      {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"},
	TypeNumber:      {"number", "calculation_equation"},
	TypeBool:        {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
	TypeDate:        {"date"},
	TypeDateTime:    {"date"},
	TypeEnumeration: {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
	TypePhoneNumber: {"phonenumber", "text"},
}

// Property is a property definition of an object type.
type Property struct {
	ObjectType     string
	Name           string
	Label          string
	Type           string
	FieldType      string
	GroupName      string
	Description    string
	Options        []Option
	DisplayOrder   int
	HasUniqueValue bool
	Hidden         bool
	FormField      bool
	HubspotDefined bool
	// ReadOnlyValue is true for properties Spoke computes or that HubSpot
	// maintains: writes of them are refused (READ_ONLY_VALUE).
	ReadOnlyValue bool
	// Calculated is true for HubSpot's calculated properties (always
	// read-only too).
	Calculated bool
	// ValueIndex is true for a HubSpot-defined number or date property
	// with a value index. Custom ones of those types always have one
	// (see sqlite's valueIndexSQL); HubSpot-defined ones only when the
	// catalogue asks, since every index slows every insert.
	ValueIndex bool
	// OptionsFrom names where the options of a HubSpot-defined
	// enumeration come from when they are the account's data rather than
	// the catalogue's: OptionsOwners, OptionsTeams, OptionsPipelines or
	// OptionsPipelineStages. The store fills them in when it loads the
	// account's definitions.
	OptionsFrom string `json:",omitempty"`
	// CountsAssociated names, for a HubSpot-defined count such as
	// num_associated_contacts, the object type whose live associated
	// records it counts; the store maintains it when associations change.
	CountsAssociated string `json:",omitempty"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Archived         bool
	ArchivedAt       time.Time
}

// Sources of dynamic options (Property.OptionsFrom).
const (
	OptionsOwners         = "owners"
	OptionsTeams          = "teams"
	OptionsPipelines      = "pipelines"
	OptionsPipelineStages = "pipelineStages"
)

// Option is one allowed value of an enumeration property.
type Option struct {
	Label        string
	Value        string
	Description  string
	DisplayOrder int
	Hidden       bool
}

// PropertyGroup groups properties in the UI.
type PropertyGroup struct {
	ObjectType   string
	Name         string
	Label        string
	DisplayOrder int
	Archived     bool
}

// PropertyUpdate holds the fields of a property that a PATCH changes; nil
// fields stay as they are.
type PropertyUpdate struct {
	Label        *string
	Type         *string
	FieldType    *string
	GroupName    *string
	Description  *string
	Options      *[]Option
	DisplayOrder *int
	Hidden       *bool
	FormField    *bool
}

// PropertyGroupUpdate holds the fields of a group that a PATCH changes.
type PropertyGroupUpdate struct {
	Label        *string
	DisplayOrder *int
}

// PropertyService manages property definitions and groups of an account.
type PropertyService interface {
	// ListProperties returns the properties of objectType: live ones, or
	// archived ones when archived is true.
	ListProperties(ctx context.Context, account int64, objectType string, archived bool) ([]*Property, error)
	// Definitions returns the live properties of objectType keyed by name.
	// The map is shared: callers must not modify it.
	Definitions(ctx context.Context, account int64, objectType string) (map[string]*Property, error)
	// GetProperty returns one property or ENOTFOUND.
	GetProperty(ctx context.Context, account int64, objectType, name string) (*Property, error)
	// CreateProperty validates and stores p. ECONFLICT if the name exists.
	CreateProperty(ctx context.Context, account int64, p *Property) (*Property, error)
	// UpdateProperty changes a custom property. EINVALID for HubSpot-defined
	// read-only fields.
	UpdateProperty(ctx context.Context, account int64, objectType, name string, upd PropertyUpdate) (*Property, error)
	// ArchiveProperty archives a custom property; HubSpot-defined ones give EINVALID.
	ArchiveProperty(ctx context.Context, account int64, objectType, name string) error

	ListPropertyGroups(ctx context.Context, account int64, objectType string) ([]*PropertyGroup, error)
	GetPropertyGroup(ctx context.Context, account int64, objectType, name string) (*PropertyGroup, error)
	CreatePropertyGroup(ctx context.Context, account int64, g *PropertyGroup) (*PropertyGroup, error)
	UpdatePropertyGroup(ctx context.Context, account int64, objectType, name string, upd PropertyGroupUpdate) (*PropertyGroup, error)
	ArchivePropertyGroup(ctx context.Context, account int64, objectType, name string) error
}

// Validate checks a property definition for creation and fills defaults.
func (p *Property) Validate() error {
	var bad []string
	if p.Name == "" || !validName(p.Name) {
		bad = append(bad, fmt.Sprintf("name %q must be lowercase letters, digits and underscores, starting with a letter", p.Name))
	}
	if p.Label == "" {
		bad = append(bad, "label is required")
	}
	if p.GroupName == "" {
		bad = append(bad, "groupName is required")
	}
	allowed, ok := fieldTypes[p.Type]
	if !ok {
		bad = append(bad, fmt.Sprintf("type %q is not one of string, number, bool, date, datetime, enumeration, phone_number", p.Type))
	} else {
		if p.FieldType == "" {
			p.FieldType = allowed[0]
		}
		if !contains(allowed, p.FieldType) {
			bad = append(bad, fmt.Sprintf("fieldType %q is not valid for type %q (use one of %s)", p.FieldType, p.Type, strings.Join(allowed, ", ")))
		}
	}
	if p.Type == TypeEnumeration && len(p.Options) == 0 && p.OptionsFrom == "" {
		bad = append(bad, "an enumeration property needs at least one option")
	}
	if p.Type == TypeBool && len(p.Options) == 0 {
		p.Options = []Option{{Label: "Yes", Value: "true", DisplayOrder: 0}, {Label: "No", Value: "false", DisplayOrder: 1}}
	}
	seen := map[string]bool{}
	for i, o := range p.Options {
		if o.Value == "" || o.Label == "" {
			bad = append(bad, fmt.Sprintf("options[%d] needs a label and a value", i))
		}
		if seen[o.Value] {
			bad = append(bad, fmt.Sprintf("options[%d] repeats the value %q", i, o.Value))
		}
		seen[o.Value] = true
	}
	if len(bad) > 0 {
		return &Error{Code: EINVALID, Category: "VALIDATION_ERROR", Message: "Invalid property definition: " + strings.Join(bad, "; ")}
	}
	return nil
}

func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case (r >= '0' && r <= '9' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return len(s) <= 100
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ValueError describes one invalid property value, in HubSpot's shape
// and field order: {"isValid":false,"message":…,"error":…,"name":…,
// "localizedErrorMessage":…}.
type ValueError struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Name    string `json:"name"`
	// LocalizedErrorMessage is the message for display; HubSpot sends it
	// beside message, in the user's language (here always English).
	LocalizedErrorMessage string `json:"localizedErrorMessage,omitempty"`
}

// NormalizeValue checks v against the property's type and returns the value
// in Spoke's canonical stored form: numbers as given but trimmed, bools as
// "true"/"false", dates as YYYY-MM-DD, datetimes as RFC 3339 in UTC with
// milliseconds, multi-select enumerations joined with ";". The empty string
// clears a property and is always valid.
func (p *Property) NormalizeValue(v string) (string, *ValueError) {
	if v == "" {
		return "", nil
	}
	bad := func(code, format string, args ...any) (string, *ValueError) {
		return "", &ValueError{Name: p.Name, Error: code, Message: fmt.Sprintf(format, args...)}
	}
	switch p.Type {
	case TypeNumber:
		s := strings.TrimSpace(v)
		f, err := strconv.ParseFloat(s, 64)
		// ParseFloat also takes Go syntax (0x1p4, 1_000) that SQLite reads
		// as 0 when comparing numerically; only plain decimals are numbers.
		decimal := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-eE", r) }) < 0
		if err != nil || !decimal || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("INVALID_DOUBLE", "%s was not a valid number.", quoteShort(v))
		}
		return s, nil
	case TypeBool:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "1":
			return "true", nil
		case "false", "no", "0":
			return "false", nil
		}
		return bad("INVALID_BOOLEAN", "%s is not a valid boolean; use true or false.", quoteShort(v))
	case TypeDate:
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t.Format("2006-01-02"), nil
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				if t.UTC().Truncate(24*time.Hour) != t.UTC() {
					return bad("INVALID_DATE", "%s is at %s UTC, not midnight!", v, t.UTC().Format("15:04:05.000"))
				}
				return t.UTC().Format("2006-01-02"), nil
			}
			return bad("INVALID_DATE", "%s is not a valid date; use YYYY-MM-DD or epoch milliseconds at midnight UTC.", quoteShort(v))
		}
		t := time.UnixMilli(ms).UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			return bad("INVALID_DATE", "%s is out of range: dates run from year 0 to 9999.", quoteShort(v))
		}
		if t.Truncate(24*time.Hour) != t {
			return bad("INVALID_DATE", "%s is at %s UTC, not midnight!", v, t.Format("15:04:05.000"))
		}
		return t.Format("2006-01-02"), nil
	case TypeDateTime:
		t, ok := ParseTime(v)
		if !ok {
			return bad("INVALID_DATETIME", "%s is not a valid datetime; use ISO 8601 or epoch milliseconds.", quoteShort(v))
		}
		// Stored datetimes compare as strings, which needs four-digit years.
		if t.Year() < 0 || t.Year() > 9999 {
			return bad("INVALID_DATETIME", "%s is out of range: datetimes run from year 0 to 9999.", quoteShort(v))
		}
		return FormatTime(t), nil
	case TypeEnumeration:
		parts := strings.Split(v, ";")
		for _, part := range parts {
			if !p.hasOption(part) && p.OptionsFrom == OptionsOwners {
				return bad("INVALID_OWNER_ID", "%s is not a valid owner id", part)
			}
			if !p.hasOption(part) {
				return bad("INVALID_OPTION", "%s was not one of the allowed options: [%s]", quoteShort(part), p.optionList())
			}
		}
		if len(parts) > 1 && p.FieldType != "checkbox" {
			return bad("INVALID_OPTION", "%s has several values but %s takes only one", quoteShort(v), p.Name)
		}
		return v, nil
	case TypePhoneNumber:
		for _, r := range v {
			if !strings.ContainsRune("0123456789+-(). xext#/", r) {
				return bad("INVALID_PHONE_NUMBER", "%s is not a valid phone number.", quoteShort(v))
			}
		}
		return strings.TrimSpace(v), nil
	}
	if p.Name == "email" && p.ObjectType == "contacts" {
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@")+1:], ".") {
			return bad("INVALID_EMAIL", "Email address %s is invalid", v)
		}
	}
	if len(v) > 65536 {
		return bad("INVALID_LENGTH", "value is %d characters long; the limit is 65536", len(v))
	}
	return v, nil
}

func (p *Property) hasOption(v string) bool {
	for _, o := range p.Options {
		if o.Value == v {
			return true
		}
	}
	return false
}

func (p *Property) optionList() string {
	vals := make([]string, len(p.Options))
	for i, o := range p.Options {
		vals[i] = o.Value
	}
	return strings.Join(vals, ", ")
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// ParseTime parses a datetime given as epoch milliseconds, RFC 3339 (with or
// without a zone) or a bare date.
func ParseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// FormatTime formats t the way HubSpot sends timestamps:
// 2024-01-02T03:04:05.678Z.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
