package api

import (
	"testing"

	"github.com/spokehq/spoke"
)

// TestDecodeMessages checks the exact 400 messages for bodies that are not
// JSON or hold a value of the wrong kind: they say where (line, column,
// byte) and what kind of value the field takes.
func TestDecodeMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		into any
		want string
	}{
		{"{\n\"inputs\": x}", new(batchReadInput),
			"Invalid JSON at line 2, column 11 (byte 13): invalid character 'x' looking for beginning of value."},
		{`{"inputs": 5}`, new(batchReadInput), "Invalid input JSON: inputs must be an array, not number (byte 12)."},
		{`{"inputs": [{"id": {}}]}`, new(batchReadInput), "Invalid input JSON: inputs.id must be a string or a number, not object."},
		{`{"limit": true}`, new(searchInput), "Invalid input JSON: limit must be a string or a number, not bool."},
		{`{"query": 1}`, new(searchInput), "Invalid input JSON: query must be a string, not number (byte 11)."},
		{`{"filterGroups": {}}`, new(searchInput), "Invalid input JSON: filterGroups must be an array, not object (byte 18)."},
		{`[1]`, new(searchInput), "Invalid input JSON: the body must be an object, not array (byte 1)."},
		{`{"properties": []}`, new(objectInput), "properties must be an object of property names to values."},
		{`{"inputs": [`, new(batchReadInput), "Invalid JSON at line 1, column 12 (byte 12): unexpected end of JSON input."},
		{" \n ", new(batchReadInput), "The request body is empty; send a JSON document."},
	} {
		err := decodeBytes([]byte(tc.body), tc.into)
		if spoke.ErrorCode(err) != spoke.EINVALID || spoke.ErrorMessage(err) != tc.want {
			t.Errorf("%s: %v\n want %q", tc.body, err, tc.want)
		}
	}
}
