package spoke

import "encoding/json"

// More built-in actionTypeIds of SINGLE_CONNECTION actions, as HubSpot's
// exported flows write them.
const (
	ActionTypeCreateTask        = "0-3"
	ActionTypeMarketingEmail    = "0-4"
	ActionTypeEmailNotification = "0-8"
	ActionTypeNotification      = "0-9"
	ActionTypeRotateOwner       = "0-11"
	// ActionTypeListLegacy is the older static-list action:
	// fields.operation ADD or REMOVE, fields.list_id.
	ActionTypeListLegacy   = "0-13"
	ActionTypeCreateRecord = "0-14"
	ActionTypeDelayUntil   = "0-35"
	ActionTypeCreateNote   = "0-169425243"
	ActionTypeAddToList    = "0-63809083"
	ActionTypeRemoveList   = "0-63863438"
)

// Event type ids of EVENT_BASED enrollment that Spoke raises. The first
// two are HubSpot's; HubSpot has no public id for the others, so Spoke's
// are its own.
const (
	EventPropertyChanged  = "4-655002"
	EventRecordCreated    = "4-1463224"
	EventAssociationAdded = "spoke-association-added"
	EventWebhookReceived  = "spoke-webhook-received"
)

// Event property names a PROPERTY filter of a property-changed event
// branch reads: the changed property's name, its new value and its old
// one.
const (
	EventPropName          = "hs_name"
	EventPropValue         = "hs_value"
	EventPropPreviousValue = "hs_previous_value"
)

// RecordEvent is what happened to a record besides its property values,
// for EVENT_BASED triggers: an association added, or a webhook received
// by a flow.
type RecordEvent struct {
	// Type is EventAssociationAdded or EventWebhookReceived.
	Type string
	// FlowID is the flow whose webhook was called.
	FlowID string
	// Properties are the event's properties (for an association: toObjectTypeId,
	// toObjectId, associationTypeId, associationCategory).
	Properties map[string]string
	// Body is a webhook's JSON body.
	Body json.RawMessage
}

// StepEffect is a write a built-in action makes besides the enrolled
// record's properties: a record it creates, or a static list membership
// it changes. The store applies it in the step's commit.
type StepEffect struct {
	// Execution is the index in Step.Executions of the action's log, which
	// fails if the effect cannot be applied.
	Execution int
	ActionID  string
	// Create is a record to create, associated as it says.
	Create *RecordCreate
	// ListID and ListAdd add the enrolled record to a static list, or
	// remove it when ListAdd is false.
	ListID  string
	ListAdd bool
}

// RecordCreate is a record a flow creates.
type RecordCreate struct {
	ObjectType   string // plural name or custom object type id
	Properties   map[string]string
	Associations []AssociationInput
}
