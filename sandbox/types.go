package sandbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spokehq/spoke/internal/jsonenc"
)

// ErrorType classifies why an invocation failed. The engine retries only
// [ErrRateLimited].
type ErrorType string

// The error classes an invocation can end with.
const (
	// ErrTimeout means the invocation ran past its wall-clock limit.
	ErrTimeout ErrorType = "TIMEOUT"
	// ErrMemoryLimit means the invocation used more memory than allowed.
	ErrMemoryLimit ErrorType = "MEMORY_LIMIT"
	// ErrUncaught means the code threw or raised; Message and Stack say what.
	ErrUncaught ErrorType = "UNCAUGHT_ERROR"
	// ErrOutputTooLarge means a string output was over 65,000 characters,
	// the code returned more than MaxOutputFields outputs, or the result
	// was over MaxResultBytes.
	ErrOutputTooLarge ErrorType = "OUTPUT_VALUES_TOO_LARGE"
	// ErrInvalidOutput means the result was not an object, outputFields was
	// not an object, the result was not serialisable, or there was no result.
	ErrInvalidOutput ErrorType = "INVALID_OUTPUT"
	// ErrRateLimited means the code re-threw a 429 or 5xx from axios or
	// @hubspot/api-client (or requests), or threw an explicit rate-limit
	// error. It is the only retryable class.
	ErrRateLimited ErrorType = "RATE_LIMITED"
	// ErrEgressDenied means the code failed because the egress policy refused
	// a connection (or it tried raw networking, which has no route out).
	ErrEgressDenied ErrorType = "EGRESS_DENIED"
	// ErrSyntax means the source code could not be compiled.
	ErrSyntax ErrorType = "SYNTAX_ERROR"
	// ErrRuntimeCrash means the interpreter died without a result, for
	// example because the code called process.exit or was killed.
	ErrRuntimeCrash ErrorType = "RUNTIME_CRASH"
)

// Status is the outcome of an invocation.
type Status string

// The two statuses of a [Result].
const (
	StatusSuccess Status = "SUCCESS"
	StatusError   Status = "ERROR"
)

// Limits and defaults from HubSpot's contract.
const (
	// DefaultTimeout is the wall-clock limit of one invocation.
	DefaultTimeout = 20 * time.Second
	// DefaultMemoryMB is the memory limit of one worker, in MiB.
	DefaultMemoryMB = 128
	// MaxOutputStringLen is the longest string output, in characters.
	MaxOutputStringLen = 65000
	// LogCap is the most log bytes kept per invocation.
	LogCap = 64 * 1024
	// MaxSecretsLen is the most characters all secret values may add up to.
	MaxSecretsLen = 1000
	// MaxOutputFields is the most output fields one invocation may return.
	// HubSpot documents no number; outputs are declared one by one in the
	// action's editor, and a hundred is more than any published action
	// declares. It bounds what the host decodes and stores per execution.
	MaxOutputFields = 100
	// MaxResultBytes bounds the JSON of one result message from a worker
	// (outputs, error message and stack). It is AWS Lambda's limit on a
	// synchronous response payload (6 MB), on which HubSpot runs custom
	// code. The host stops reading a larger message at its length prefix,
	// so an oversized result costs nothing to refuse.
	MaxResultBytes = 6 << 20
)

// Event is what the code receives as its event argument. It marshals to
// HubSpot's shape: {origin: {portalId, actionDefinitionId,
// actionDefinitionVersion, extensionDefinitionId,
// extensionDefinitionVersionId, actionExecutionIndexIdentifier:
// {enrollmentId, actionExecutionIndex}}, context: {source, workflowId},
// object: {objectType, objectId}, inputFields, callbackId}. The bootstraps
// add `fields`, the same object as inputFields, which published snippets
// read.
type Event struct {
	// PortalID is the account (portal) the workflow belongs to.
	PortalID int64
	// ActionDefinitionID identifies the custom code action (HubSpot also
	// sends it as extensionDefinitionId).
	ActionDefinitionID int64
	// ActionDefinitionVersion is the version of the action's definition:
	// the flow revision (also sent as extensionDefinitionVersionId).
	ActionDefinitionVersion int64
	// EnrollmentID and ExecutionIndex identify this execution of the
	// action within an enrollment (origin.actionExecutionIndexIdentifier).
	EnrollmentID   int64
	ExecutionIndex int64
	// WorkflowID is the flow's id (context.workflowId); context.source is
	// always "WORKFLOWS".
	WorkflowID int64
	// ObjectType is the enrolled object's type, for example "CONTACT".
	ObjectType string
	// ObjectID is the enrolled object's ID.
	ObjectID int64
	// InputFields are the values of the action's input properties.
	InputFields map[string]any
	// CallbackID uniquely identifies this execution.
	CallbackID string
	// IdempotencyKey is the same for every run of one attempt of an
	// action, so a run repeated after a crash can tell the services it
	// calls that the call was made already (event.idempotencyKey; Spoke's,
	// HubSpot sends no such field).
	IdempotencyKey string
}

type eventJSON struct {
	Origin struct {
		PortalID                       int64 `json:"portalId"`
		ActionDefinitionID             int64 `json:"actionDefinitionId"`
		ActionDefinitionVersion        int64 `json:"actionDefinitionVersion"`
		ExtensionDefinitionID          int64 `json:"extensionDefinitionId"`
		ExtensionDefinitionVersionID   int64 `json:"extensionDefinitionVersionId"`
		ActionExecutionIndexIdentifier struct {
			EnrollmentID         int64 `json:"enrollmentId"`
			ActionExecutionIndex int64 `json:"actionExecutionIndex"`
		} `json:"actionExecutionIndexIdentifier"`
	} `json:"origin"`
	Context struct {
		Source     string `json:"source"`
		WorkflowID int64  `json:"workflowId"`
	} `json:"context"`
	Object struct {
		ObjectType string `json:"objectType"`
		ObjectID   int64  `json:"objectId"`
	} `json:"object"`
	InputFields map[string]any `json:"inputFields"`
	CallbackID  string         `json:"callbackId"`
	// IdempotencyKey is omitted when empty, so events without one keep
	// HubSpot's shape exactly.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// MarshalJSON encodes e in HubSpot's nested event shape.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 256))
}

// appendJSON appends the encoding of MarshalJSON to b; it is written out
// by hand because every invocation encodes an event.
func (e Event) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"origin":{"portalId":`...)
	b = strconv.AppendInt(b, e.PortalID, 10)
	b = append(b, `,"actionDefinitionId":`...)
	b = strconv.AppendInt(b, e.ActionDefinitionID, 10)
	b = append(b, `,"actionDefinitionVersion":`...)
	b = strconv.AppendInt(b, e.ActionDefinitionVersion, 10)
	b = append(b, `,"extensionDefinitionId":`...)
	b = strconv.AppendInt(b, e.ActionDefinitionID, 10)
	b = append(b, `,"extensionDefinitionVersionId":`...)
	b = strconv.AppendInt(b, e.ActionDefinitionVersion, 10)
	b = append(b, `,"actionExecutionIndexIdentifier":{"enrollmentId":`...)
	b = strconv.AppendInt(b, e.EnrollmentID, 10)
	b = append(b, `,"actionExecutionIndex":`...)
	b = strconv.AppendInt(b, e.ExecutionIndex, 10)
	b = append(b, `}},"context":{"source":"WORKFLOWS","workflowId":`...)
	b = strconv.AppendInt(b, e.WorkflowID, 10)
	b = append(b, `},"object":{"objectType":`...)
	b = jsonenc.String(b, e.ObjectType)
	b = append(b, `,"objectId":`...)
	b = strconv.AppendInt(b, e.ObjectID, 10)
	b = append(b, `},"inputFields":`...)
	var err error
	if e.InputFields == nil {
		b = append(b, `{}`...)
	} else if b, err = jsonenc.Append(b, e.InputFields); err != nil {
		return nil, fmt.Errorf("encode inputFields: %w", err)
	}
	b = append(b, `,"callbackId":`...)
	b = jsonenc.String(b, e.CallbackID)
	if e.IdempotencyKey != "" {
		b = append(b, `,"idempotencyKey":`...)
		b = jsonenc.String(b, e.IdempotencyKey)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes HubSpot's nested event shape into e.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Event{
		PortalID: j.Origin.PortalID, ActionDefinitionID: j.Origin.ActionDefinitionID,
		ActionDefinitionVersion: j.Origin.ActionDefinitionVersion,
		EnrollmentID:            j.Origin.ActionExecutionIndexIdentifier.EnrollmentID,
		ExecutionIndex:          j.Origin.ActionExecutionIndexIdentifier.ActionExecutionIndex,
		WorkflowID:              j.Context.WorkflowID,
		ObjectType:              j.Object.ObjectType, ObjectID: j.Object.ObjectID,
		InputFields: j.InputFields, CallbackID: j.CallbackID, IdempotencyKey: j.IdempotencyKey,
	}
	return nil
}

// Invocation is one run of a custom code action.
type Invocation struct {
	// Runtime is NODE20X (or its aliases NODE16X and NODE24X) or PYTHON39.
	Runtime string
	// Code is the action's source text.
	Code string
	// Version identifies the action version, for example its ID and a hash
	// of its definition. Warm workers are reused only for the same Version,
	// code, account, secrets, memory limit and allowlist. Empty means a hash
	// of Code.
	Version string
	// AccountID isolates warm workers between accounts; module state never
	// crosses accounts.
	AccountID string
	// Event is passed to main.
	Event Event
	// Secrets become environment variables of the code; nothing else from
	// the host's environment is visible. Their values are redacted from logs
	// and error messages.
	Secrets map[string]string
	// Timeout is the wall-clock limit; zero means the pool's default.
	Timeout time.Duration
	// MemoryMB is the memory limit in MiB; zero means the pool's default.
	MemoryMB int
	// EgressAllowlist, when not empty, restricts outbound HTTP(S) to these
	// hosts ("host", "host:port" or "*.domain"). Spoke's own API is always
	// reachable.
	EgressAllowlist []string
	// DryRun makes Spoke's API read-only for the code: its connections to
	// APIURL go to the pool's ReadOnlyAPIURL instead (refused without
	// one). DryRun invocations run on workers of their own.
	DryRun bool
}

// Error describes a failed invocation.
type Error struct {
	// Type classifies the failure.
	Type ErrorType `json:"type"`
	// Message is the error's message, with secrets redacted.
	Message string `json:"message"`
	// Stack is the stack trace when there is one, with secrets redacted.
	Stack string `json:"stack,omitempty"`
}

// RuntimeInfo names the runtime that ran an invocation.
type RuntimeInfo struct {
	// Name is the canonical runtime name, NODE20X or PYTHON39.
	Name string `json:"name"`
	// Version is the real interpreter version, for example "v20.20.2".
	Version string `json:"version"`
}

// Result is the outcome of an invocation.
type Result struct {
	// Status is SUCCESS or ERROR.
	Status Status `json:"status"`
	// OutputFields are the action's outputs; empty on error.
	OutputFields map[string]any `json:"outputFields"`
	// Logs is the captured console/print output with one timestamped line
	// per entry, capped at 64 KiB, with secrets redacted.
	Logs string `json:"logs"`
	// Error is set when Status is ERROR.
	Error *Error `json:"error,omitempty"`
	// DurationMs is the invocation's wall-clock time in milliseconds,
	// including any worker start it needed.
	DurationMs float64 `json:"durationMs"`
	// MemoryBytes is the worker's peak memory during the invocation when
	// known, otherwise its resident memory at the end.
	MemoryBytes int64 `json:"memoryBytes"`
	// Runtime names the runtime and interpreter version.
	Runtime RuntimeInfo `json:"runtime"`
}

// Retryable reports whether the engine should retry the invocation later:
// only rate-limit failures are retried.
func (r Result) Retryable() bool {
	return r.Error != nil && r.Error.Type == ErrRateLimited
}
