package spoke

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in package api.
const (
	ECONFLICT     = "conflict"     // 409: a unique value is taken, or a stale revision.
	EINTERNAL     = "internal"     // 500: a bug or an unavailable dependency.
	EINVALID      = "invalid"      // 400: the input is malformed or fails validation.
	ENOTFOUND     = "not_found"    // 404: the named thing does not exist.
	EUNAUTHORIZED = "unauthorized" // 401: no or unknown credentials.
	EFORBIDDEN    = "forbidden"    // 403: credentials lack a scope.
	ETOOLARGE     = "too_large"    // 413: the request body is over the limit.
	ERATELIMITED  = "rate_limited" // 429: a limit was reached; try again later.
	// ENOTSUPPORTED: the store in use does not offer the feature (yet).
	ENOTSUPPORTED = "not_supported" // 501
	// EUNAVAILABLE: the database cannot be reached; the client may retry.
	EUNAVAILABLE = "unavailable" // 503
)

// Error is Spoke's application error. Code says what kind of failure it is,
// Message is written for the user who made the request, Category is the
// HubSpot error category sent on the wire (for example OBJECT_NOT_FOUND or
// VALIDATION_ERROR), and Context carries HubSpot's optional error context
// (for example {"id": ["101"]}).
type Error struct {
	Code     string
	Message  string
	Category string
	Context  map[string][]string
	// SubCategory is HubSpot's optional refinement of Category.
	SubCategory string
	// Details are HubSpot's "errors": one entry per problem found.
	Details []ErrorDetail
}

// ErrorDetail is one problem of an error, HubSpot's ErrorDetail: a
// message, a machine-readable code (for example PROPERTY_DOESNT_EXIST)
// and context such as {"propertyName": ["foo"]}.
type ErrorDetail struct {
	Message     string              `json:"message"`
	Code        string              `json:"code,omitempty"`
	In          string              `json:"in,omitempty"`
	SubCategory string              `json:"subCategory,omitempty"`
	Context     map[string][]string `json:"context,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("spoke error: code=%s category=%s message=%s", e.Code, e.Category, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message. The
// HubSpot category defaults from the code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Category: defaultCategory(code)}
}

// NotFoundf returns an ENOTFOUND error with HubSpot's OBJECT_NOT_FOUND
// category.
func NotFoundf(format string, args ...any) *Error {
	return Errorf(ENOTFOUND, format, args...)
}

// ObjectNotFound returns HubSpot's error for an id that names no live
// record: 404 OBJECT_NOT_FOUND with HubSpot's own message (two spaces
// after the first period, as HubSpot sends it) and the id in the context.
func ObjectNotFound(id string) *Error {
	return &Error{Code: ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: "Object not found.  objectId are usually numeric.", Context: map[string][]string{"id": {id}}}
}

// Invalidf returns an EINVALID error with the VALIDATION_ERROR category.
func Invalidf(format string, args ...any) *Error {
	return Errorf(EINVALID, format, args...)
}

func defaultCategory(code string) string {
	switch code {
	case ECONFLICT:
		return "CONFLICT"
	case EINVALID:
		return "VALIDATION_ERROR"
	case ENOTFOUND:
		return "OBJECT_NOT_FOUND"
	case EUNAUTHORIZED:
		return "INVALID_AUTHENTICATION"
	case EFORBIDDEN:
		return "MISSING_SCOPES"
	case ETOOLARGE:
		return "VALIDATION_ERROR"
	case ERATELIMITED:
		return "RATE_LIMITS"
	case ENOTSUPPORTED:
		return "NOT_SUPPORTED"
	case EUNAVAILABLE:
		return "SERVICE_UNAVAILABLE"
	default:
		return "INTERNAL_ERROR"
	}
}

// DatabaseUnavailable returns the EUNAVAILABLE error of a database that
// cannot be reached or cannot serve for now, with the message API clients
// read; it wraps cause, the driver's error, for the logs.
func DatabaseUnavailable(cause error) error {
	e := Errorf(EUNAVAILABLE, "The database is unavailable; retry shortly.")
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// ErrorCode returns the code of err if it is or wraps an *Error, and
// EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err if it is or wraps an
// *Error, and a generic message otherwise, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
