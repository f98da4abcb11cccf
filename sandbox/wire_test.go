package sandbox

import (
	"encoding/json"
	"testing"
)

// TestInvokeMsgEncoding checks the hand-written request encoding against
// encoding/json on the same shape.
func TestInvokeMsgEncoding(t *testing.T) {
	t.Parallel()
	ev := Event{PortalID: 9, ActionDefinitionID: 3, ActionDefinitionVersion: 4, EnrollmentID: 77, ExecutionIndex: 2, WorkflowID: 12,
		ObjectType: "CONTACT", ObjectID: 123456789012,
		InputFields: map[string]any{"b": "x\"<y>", "a": 1.5, "c": nil, "d": true}, CallbackID: "ap-1-2-3-0", IdempotencyKey: "spoke-1-2-3-1"}
	for _, m := range []*invokeMsg{
		{Op: "invoke", ID: 1, Event: ev},
		{Op: "invoke", ID: 2, Code: "exports.main = () => {}\n", Env: map[string]string{"K": "v\n"}, Event: ev},
		{Op: "invoke", ID: 3, Event: Event{ObjectType: "DEAL"}},
	} {
		var j eventJSON
		j.Origin.PortalID, j.Origin.ActionDefinitionID = m.Event.PortalID, m.Event.ActionDefinitionID
		j.Origin.ActionDefinitionVersion, j.Origin.ExtensionDefinitionID = m.Event.ActionDefinitionVersion, m.Event.ActionDefinitionID
		j.Origin.ExtensionDefinitionVersionID = m.Event.ActionDefinitionVersion
		j.Origin.ActionExecutionIndexIdentifier.EnrollmentID = m.Event.EnrollmentID
		j.Origin.ActionExecutionIndexIdentifier.ActionExecutionIndex = m.Event.ExecutionIndex
		j.Context.Source, j.Context.WorkflowID = "WORKFLOWS", m.Event.WorkflowID
		j.Object.ObjectType, j.Object.ObjectID = m.Event.ObjectType, m.Event.ObjectID
		j.InputFields, j.CallbackID, j.IdempotencyKey = m.Event.InputFields, m.Event.CallbackID, m.Event.IdempotencyKey
		if j.InputFields == nil {
			j.InputFields = map[string]any{}
		}
		want, err := json.Marshal(struct {
			Op    string            `json:"op"`
			ID    uint64            `json:"id"`
			Code  string            `json:"code,omitempty"`
			Env   map[string]string `json:"env,omitempty"`
			Event eventJSON         `json:"event"`
		}{m.Op, m.ID, m.Code, m.Env, j})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendJSON = %s\nencoding/json = %s", got, want)
		}
	}
	if _, err := (&invokeMsg{Event: Event{InputFields: map[string]any{"x": func() {}}}}).appendJSON(nil); err == nil {
		t.Error("an input that cannot be encoded gave no error")
	}
}
