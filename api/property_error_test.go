package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPropertyValuesError checks HubSpot's documented 400 for a property
// that does not exist: the problems as JSON in the message, each with its
// localizedErrorMessage, and one entry per problem in errors.
func TestPropertyValuesError(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme","testproperty":"x"}}`)
	expect(t, r, 400, "VALIDATION_ERROR",
		`"message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"testproperty\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"testproperty\",\"localizedErrorMessage\":\"Property \\\"testproperty\\\" does not exist\"}]"`,
		`"errors":[{"message":"Property \"testproperty\" does not exist","code":"PROPERTY_DOESNT_EXIST","context":{"propertyName":["testproperty"]}}]`)
	// Code written against HubSpot parses the list out of the message.
	msg := r.json(t)["message"].(string)
	var items []map[string]any
	if err := json.Unmarshal([]byte(msg[strings.Index(msg, "["):]), &items); err != nil || len(items) != 1 || items[0]["localizedErrorMessage"] != `Property "testproperty" does not exist` {
		t.Errorf("message list %q: %v %v", msg, items, err)
	}

	// In a batch, the failed input's StandardError carries the same details.
	id := e.createContact("batch-err@example.com")
	r = e.do("POST", "/crm/v3/objects/contacts/batch/update", `{"inputs":[{"id":"`+id+`","properties":{"nope":"x"}}]}`)
	expect(t, r, 207, "")
	if !strings.Contains(r.String(), `\"localizedErrorMessage\":\"Property \\\"nope\\\" does not exist\"`) ||
		!strings.Contains(r.String(), `"errors":[{"message":"Property \"nope\" does not exist","code":"PROPERTY_DOESNT_EXIST","context":{"propertyName":["nope"]}}]`) {
		t.Errorf("batch error without HubSpot's details: %s", r)
	}
}
