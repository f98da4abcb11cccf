package spoke

import "encoding/json"

// InvalidPropertyValues is HubSpot's 400 for invalid property values: the
// message embeds the JSON list of problems ("Property values were not
// valid: [{…}]", each with its localizedErrorMessage), errors holds one
// ErrorDetail per problem with the property in its context, and the
// context names the bad properties.
func InvalidPropertyValues(bad []*ValueError) *Error {
	details := make([]ErrorDetail, len(bad))
	names := make([]string, len(bad))
	for i, b := range bad {
		b.IsValid = false
		if b.LocalizedErrorMessage == "" {
			b.LocalizedErrorMessage = b.Message
		}
		names[i] = b.Name
		details[i] = ErrorDetail{Message: b.Message, Code: b.Error, Context: map[string][]string{"propertyName": {b.Name}}}
	}
	list, _ := json.Marshal(bad)
	return &Error{Code: EINVALID, Category: "VALIDATION_ERROR",
		Message: "Property values were not valid: " + string(list),
		Context: map[string][]string{"properties": names}, Details: details}
}
