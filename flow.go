package spoke

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Flow is a workflow in HubSpot's automation v4 shape. Spoke stores the
// document as given (Raw, with defaults filled and read-only fields set) so
// fields it does not interpret round-trip unchanged; the typed fields are
// what the engine reads.
type Flow struct {
	ID                    string              `json:"id"`
	RevisionID            string              `json:"revisionId"`
	Name                  string              `json:"name"`
	Description           string              `json:"description,omitempty"`
	Type                  string              `json:"type"` // CONTACT_FLOW or PLATFORM_FLOW
	ObjectTypeID          string              `json:"objectTypeId"`
	FlowType              string              `json:"flowType"` // WORKFLOW, ACTION_SET, UNKNOWN
	IsEnabled             bool                `json:"isEnabled"`
	StartActionID         string              `json:"startActionId,omitempty"`
	NextAvailableActionID string              `json:"nextAvailableActionId,omitempty"`
	Actions               []Action            `json:"actions"`
	EnrollmentCriteria    *EnrollmentCriteria `json:"enrollmentCriteria,omitempty"`
	// GoalFilterBranch, when a record meets it, unenrolls the record.
	GoalFilterBranch *FilterBranch `json:"goalFilterBranch,omitempty"`
	// TimeWindows and BlockedDates restrict when actions run.
	TimeWindows  []TimeWindow  `json:"timeWindows,omitempty"`
	BlockedDates []BlockedDate `json:"blockedDates,omitempty"`
	CreatedAt    time.Time     `json:"-"`
	UpdatedAt    time.Time     `json:"-"`
	// Rollout is the flow's staged rollout, a Spoke extension kept in Raw
	// as the caller sent it; nil when the flow has none.
	Rollout *RolloutConfig `json:"-"`
	// Saved says who saves this revision and why; the store keeps it with
	// the revision.
	Saved SaveInfo `json:"-"`
	// Raw is the whole stored document, including fields Spoke does not
	// interpret (timeWindows, blockedDates, customProperties, ...).
	Raw json.RawMessage `json:"-"`
}

// Action types.
const (
	ActionSingleConnection = "SINGLE_CONNECTION"
	ActionCustomCode       = "CUSTOM_CODE"
	ActionStaticBranch     = "STATIC_BRANCH"
	ActionListBranch       = "LIST_BRANCH"
	ActionWebhook          = "WEBHOOK"
	ActionABTestBranch     = "AB_TEST_BRANCH"
)

// Built-in actionTypeIds of SINGLE_CONNECTION actions.
const (
	ActionTypeDelay       = "0-1"
	ActionTypeSetProperty = "0-5"
)

// Action is one step of a flow; which fields apply depends on Type.
type Action struct {
	Type              string                     `json:"type"`
	ActionID          string                     `json:"actionId"`
	ActionTypeID      string                     `json:"actionTypeId,omitempty"`
	ActionTypeVersion int                        `json:"actionTypeVersion"`
	Fields            map[string]json.RawMessage `json:"fields,omitempty"`
	Connection        *Connection                `json:"connection,omitempty"`

	// CUSTOM_CODE
	Runtime      string        `json:"runtime,omitempty"`
	SourceCode   string        `json:"sourceCode,omitempty"`
	SecretNames  []string      `json:"secretNames,omitempty"`
	InputFields  []InputField  `json:"inputFields,omitempty"`
	OutputFields []OutputField `json:"outputFields,omitempty"`

	// STATIC_BRANCH
	InputValue     *Value         `json:"inputValue,omitempty"`
	StaticBranches []StaticBranch `json:"staticBranches,omitempty"`
	// LIST_BRANCH
	ListBranches []ListBranch `json:"listBranches,omitempty"`
	// Both branch types.
	DefaultBranchName string      `json:"defaultBranchName,omitempty"`
	DefaultBranch     *Connection `json:"defaultBranch,omitempty"`

	// AB_TEST_BRANCH
	TestBranches []ABTestBranch `json:"testBranches,omitempty"`

	// WEBHOOK
	WebhookURL  string       `json:"webhookUrl,omitempty"`
	Method      string       `json:"method,omitempty"`
	QueryParams []InputField `json:"queryParams,omitempty"`

	// RateLimit is HubSpot's optional per-action throttle ("Configure rate
	// limit"); over it, enrollments wait instead of failing.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// Connection links an action to the next one.
type Connection struct {
	EdgeType     string `json:"edgeType"` // STANDARD or GOTO
	NextActionID string `json:"nextActionId"`
}

// Value sources of input fields, branch inputs and set-property values.
const (
	ValueObjectProperty = "OBJECT_PROPERTY"
	ValueStatic         = "STATIC_VALUE"
	ValueFieldData      = "FIELD_DATA"
)

// More value sources HubSpot documents.
const (
	ValueIncrement        = "INCREMENT"
	ValueTimestamp        = "TIMESTAMP"
	ValueRelativeDateTime = "RELATIVE_DATETIME"
	ValueAppendProperty   = "APPEND_OBJECT_PROPERTY"
	ValueStaticAppend     = "STATIC_APPEND_VALUE"
	ValueEnrollmentEvent  = "ENROLLMENT_EVENT_PROPERTY"
)

// Value is HubSpot's oneOf value source, discriminated by Type. HubSpot's
// documentation also writes values without a type ({"staticValue": "x"});
// UnmarshalJSON then infers it from the fields present.
type Value struct {
	Type               string          `json:"type"`
	PropertyName       string          `json:"propertyName,omitempty"`
	StaticValue        string          `json:"staticValue,omitempty"`
	ActionID           string          `json:"actionId,omitempty"`
	DataKey            string          `json:"dataKey,omitempty"`
	IncrementAmount    json.RawMessage `json:"incrementAmount,omitempty"`
	TimestampType      string          `json:"timestampType,omitempty"`
	TimeDelay          json.RawMessage `json:"timeDelay,omitempty"`
	AppendPropertyName string          `json:"appendPropertyName,omitempty"`
	StaticAppendValue  string          `json:"staticAppendValue,omitempty"`
	// EnrollmentEventPropertyToken names a property of the event that
	// enrolled the record (ENROLLMENT_EVENT_PROPERTY): for a webhook, a
	// key of its JSON body ("order.total" reads a nested one).
	EnrollmentEventPropertyToken string `json:"enrollmentEventPropertyToken,omitempty"`
}

// UnmarshalJSON decodes a value source, inferring Type when it is absent:
// staticValue → STATIC_VALUE, propertyName → OBJECT_PROPERTY, dataKey →
// FIELD_DATA, incrementAmount → INCREMENT, timestampType → TIMESTAMP,
// timeDelay → RELATIVE_DATETIME, appendPropertyName →
// APPEND_OBJECT_PROPERTY, staticAppendValue → STATIC_APPEND_VALUE.
func (v *Value) UnmarshalJSON(b []byte) error {
	type plain Value
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*v = Value(p)
	if v.Type != "" {
		return nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(b, &keys) != nil {
		return nil
	}
	for _, k := range []struct{ key, typ string }{
		{"staticValue", ValueStatic}, {"propertyName", ValueObjectProperty}, {"dataKey", ValueFieldData},
		{"incrementAmount", ValueIncrement}, {"timestampType", ValueTimestamp}, {"timeDelay", ValueRelativeDateTime},
		{"appendPropertyName", ValueAppendProperty}, {"staticAppendValue", ValueStaticAppend},
		{"enrollmentEventPropertyToken", ValueEnrollmentEvent},
	} {
		if _, ok := keys[k.key]; ok {
			v.Type = k.typ
			return nil
		}
	}
	return nil
}

// InputField is a named value passed to custom code (or a webhook query
// parameter).
type InputField struct {
	Name  string `json:"name"`
	Value Value  `json:"value"`
}

// Output field types of custom code actions.
const (
	OutputString      = "STRING"
	OutputNumber      = "NUMBER"
	OutputBool        = "BOOL"
	OutputEnumeration = "ENUMERATION"
	OutputDate        = "DATE"
	OutputDateTime    = "DATETIME"
	OutputPhoneNumber = "PHONE_NUMBER"
)

// OutputField declares a typed output of custom code.
type OutputField struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Options []string `json:"options,omitempty"`
}

// StaticBranch is one arm of a STATIC_BRANCH.
type StaticBranch struct {
	BranchValue string      `json:"branchValue"`
	Connection  *Connection `json:"connection,omitempty"`
}

// ABTestBranch is one arm of an AB_TEST_BRANCH, taken by Percentage of
// the enrollments.
type ABTestBranch struct {
	Percentage json.RawMessage `json:"percentage"`
	Connection *Connection     `json:"connection,omitempty"`
}

// ListBranch is one arm of a LIST_BRANCH, taken when FilterBranch matches.
type ListBranch struct {
	BranchName   string        `json:"branchName"`
	FilterBranch *FilterBranch `json:"filterBranch,omitempty"`
	Connection   *Connection   `json:"connection,omitempty"`
}

// FilterBranch is a tree of filters: AND, OR, NOT_ALL, NOT_ANY or
// RESTRICTED over its filters and sub-branches, an ASSOCIATION branch
// (its filters test records associated through AssociationTypeID), or a
// UNIFIED_EVENTS branch (an event of EventTypeID, with Operator
// HAS_COMPLETED or HAS_NOT_COMPLETED).
type FilterBranch struct {
	FilterBranchType     string         `json:"filterBranchType"`
	FilterBranchOperator string         `json:"filterBranchOperator,omitempty"`
	Filters              []FlowFilter   `json:"filters"`
	FilterBranches       []FilterBranch `json:"filterBranches"`

	// ASSOCIATION and UNIFIED_EVENTS branches.
	ObjectTypeID        string          `json:"objectTypeId,omitempty"`
	AssociationTypeID   json.RawMessage `json:"associationTypeId,omitempty"`
	AssociationCategory string          `json:"associationCategory,omitempty"`
	EventTypeID         string          `json:"eventTypeId,omitempty"`
	Operator            string          `json:"operator,omitempty"`
}

// Properties returns the names of the properties the branch's filters
// read, each once.
func (b *FilterBranch) Properties() []string {
	var names []string
	var walk func(b *FilterBranch)
	walk = func(b *FilterBranch) {
		for _, f := range b.Filters {
			if f.Property != "" && !slices.Contains(names, f.Property) {
				names = append(names, f.Property)
			}
		}
		for i := range b.FilterBranches {
			walk(&b.FilterBranches[i])
		}
	}
	walk(b)
	return names
}

// FlowFilter is one condition. PROPERTY filters test a property of the
// record through Operation; the other filter types HubSpot documents
// (IN_LIST, ASSOCIATION, CONSTANT, FORM_SUBMISSION, EMAIL_EVENT, ...) are
// kept with their fields (Operator, ListID, ShouldAccept are the ones
// Spoke reads).
type FlowFilter struct {
	FilterType   string    `json:"filterType"`
	Property     string    `json:"property,omitempty"`
	Operation    Operation `json:"operation"`
	Operator     string    `json:"operator,omitempty"`
	ListID       string    `json:"listId,omitempty"`
	ShouldAccept *bool     `json:"shouldAccept,omitempty"`
}

// Operation is a PROPERTY filter's test: operationType (STRING,
// MULTISTRING, NUMBER, NUMBER_RANGED, BOOL, ENUMERATION, ALL_PROPERTY,
// TIME_POINT, TIME_RANGED, DATETIME, DATE, RANGED_DATE, ROLLING_DATE_RANGE,
// CALENDAR_DATE, COMPARATIVE_DATE, COMPARATIVE_STRING, ...) and operator
// (IS_EQUAL_TO, IS_ANY_OF, IS_KNOWN, IS_GREATER_THAN, IS_BEFORE, ...), with
// the operands of its type. Operands are kept as raw JSON so a document
// round-trips byte for byte.
type Operation struct {
	OperationType                string            `json:"operationType"`
	Operator                     string            `json:"operator"`
	Value                        json.RawMessage   `json:"value,omitempty"`
	Values                       []json.RawMessage `json:"values,omitempty"`
	IncludeObjectsWithNoValueSet bool              `json:"includeObjectsWithNoValueSet"`

	// Ranged NUMBER and RANGED_DATE bounds; DATETIME timestamp.
	LowerBound json.RawMessage `json:"lowerBound,omitempty"`
	UpperBound json.RawMessage `json:"upperBound,omitempty"`
	Timestamp  json.RawMessage `json:"timestamp,omitempty"`
	// TIME_POINT and TIME_RANGED.
	TimePoint                  json.RawMessage `json:"timePoint,omitempty"`
	LowerBoundTimePoint        json.RawMessage `json:"lowerBoundTimePoint,omitempty"`
	UpperBoundTimePoint        json.RawMessage `json:"upperBoundTimePoint,omitempty"`
	EndpointBehavior           string          `json:"endpointBehavior,omitempty"`
	LowerBoundEndpointBehavior string          `json:"lowerBoundEndpointBehavior,omitempty"`
	UpperBoundEndpointBehavior string          `json:"upperBoundEndpointBehavior,omitempty"`
	PropertyParser             string          `json:"propertyParser,omitempty"`
	// ROLLING_DATE_RANGE, ROLLING_PROPERTY_UPDATED.
	NumberOfDays json.RawMessage `json:"numberOfDays,omitempty"`
	// COMPARATIVE_*.
	ComparisonPropertyName string          `json:"comparisonPropertyName,omitempty"`
	DefaultComparisonValue json.RawMessage `json:"defaultComparisonValue,omitempty"`
	// DATE.
	Year  json.RawMessage `json:"year,omitempty"`
	Month json.RawMessage `json:"month,omitempty"`
	Day   json.RawMessage `json:"day,omitempty"`
	// CALENDAR_DATE.
	TimeUnit      string          `json:"timeUnit,omitempty"`
	TimeUnitCount json.RawMessage `json:"timeUnitCount,omitempty"`
}

// Enrollment criteria types.
const (
	EnrollManual    = "MANUAL"
	EnrollListBased = "LIST_BASED"
	EnrollEvent     = "EVENT_BASED"
)

// EnrollmentCriteria says when records enroll.
type EnrollmentCriteria struct {
	Type                               string         `json:"type"`
	ShouldReEnroll                     bool           `json:"shouldReEnroll"`
	ListFilterBranch                   *FilterBranch  `json:"listFilterBranch,omitempty"`
	ReEnrollmentTriggersFilterBranches []FilterBranch `json:"reEnrollmentTriggersFilterBranches,omitempty"`
	UnEnrollObjectsNotMeetingCriteria  bool           `json:"unEnrollObjectsNotMeetingCriteria"`
	// EventFilterBranches of EVENT_BASED criteria: UNIFIED_EVENTS
	// branches, each an event type (eventTypeId) and filters on the
	// event's and the record's properties; any one enrolls.
	EventFilterBranches []FilterBranch `json:"eventFilterBranches,omitempty"`
}

// TimeWindow is a day of the week and the hours of it in which a flow's
// actions may run (timeWindows); outside every window they wait.
type TimeWindow struct {
	Day       string    `json:"day"`
	StartTime TimeOfDay `json:"startTime"`
	EndTime   TimeOfDay `json:"endTime"`
}

// TimeOfDay is an hour and minute.
type TimeOfDay struct {
	Hour   int `json:"hour"`
	Minute int `json:"minute"`
}

// BlockedDate is a date on which a flow's actions do not run
// (blockedDates); Year 0 blocks the date every year.
type BlockedDate struct {
	Year       int    `json:"year,omitempty"`
	Month      string `json:"month"`
	DayOfMonth int    `json:"dayOfMonth"`
}

// RateLimit throttles an action to Executions per Per (SECONDS, MINUTES or
// HOURS).
type RateLimit struct {
	Executions int    `json:"executions"`
	Per        string `json:"per"`
}

// ActionByID returns the action with the given id, or nil.
func (f *Flow) ActionByID(id string) *Action {
	for i := range f.Actions {
		if f.Actions[i].ActionID == id {
			return &f.Actions[i]
		}
	}
	return nil
}

// FlowService stores flows with every revision.
type FlowService interface {
	// ListFlows returns flows with ids above after, in id order.
	ListFlows(ctx context.Context, account int64, after string, limit int) ([]*Flow, bool, error)
	// GetFlow returns the current revision of a flow, or ENOTFOUND.
	GetFlow(ctx context.Context, account int64, id string) (*Flow, error)
	// GetFlowRevision returns a given revision of a flow, or ENOTFOUND.
	GetFlowRevision(ctx context.Context, account int64, id, revisionID string) (*Flow, error)
	// CreateFlow validates and stores a new flow with revision "1".
	CreateFlow(ctx context.Context, account int64, f *Flow) (*Flow, error)
	// UpdateFlow replaces a flow whole. ECONFLICT unless f.RevisionID is
	// the current revision; the result has the next revision.
	UpdateFlow(ctx context.Context, account int64, f *Flow) (*Flow, error)
	// DeleteFlow deletes a flow (its revisions stay for the executions
	// that reference them).
	DeleteFlow(ctx context.Context, account int64, id string) error
	// ListFlowRevisions pages through a flow's revisions in revision
	// order, after the given revision; ENOTFOUND for an unknown flow.
	ListFlowRevisions(ctx context.Context, account int64, id string, after int64, limit int) ([]*FlowRevision, bool, error)
	// EnabledFlows returns the enabled flows of an object type (plural
	// name), for triggers.
	EnabledFlows(ctx context.Context, account int64, objectType string) ([]*Flow, error)
}

// CheckRevision returns the ECONFLICT error of an update of flow id that
// names revision sent while the flow is at revision current (a stale or
// missing revisionId), or nil when they match. The store checks it in the
// update's transaction; the API checks it first too, so that a stale
// update is told so before anything else is said about its content.
func CheckRevision(id, current, sent string) error {
	if sent == current {
		return nil
	}
	msg := fmt.Sprintf("Flow %s is at revision %s; the update names revision %q. GET the flow and send its current revisionId.", id, current, sent)
	if sent == "" {
		msg = fmt.Sprintf("Flow %s is at revision %s; a PUT must send revisionId (the current one, %s).", id, current, current)
	}
	return &Error{Code: ECONFLICT, Category: "CONFLICT", Message: msg, Context: map[string][]string{"revisionId": {current}}}
}
