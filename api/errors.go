package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonerr"
)

// statusOf maps an error code to its HTTP status: the one place where that
// mapping lives.
var statusOf = map[string]int{
	spoke.ECONFLICT:     http.StatusConflict,
	spoke.EINTERNAL:     http.StatusInternalServerError,
	spoke.EINVALID:      http.StatusBadRequest,
	spoke.ENOTFOUND:     http.StatusNotFound,
	spoke.EUNAUTHORIZED: http.StatusUnauthorized,
	spoke.EFORBIDDEN:    http.StatusForbidden,
	spoke.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	spoke.ERATELIMITED:  http.StatusTooManyRequests,
	spoke.ENOTSUPPORTED: http.StatusNotImplemented,
	spoke.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// errorBody is HubSpot's error envelope.
type errorBody struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Category      string              `json:"category"`
	SubCategory   string              `json:"subCategory,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Errors        []spoke.ErrorDetail `json:"errors,omitempty"`
}

func envelope(err error) (int, errorBody) {
	var e *spoke.Error
	if !errors.As(err, &e) {
		e = &spoke.Error{Code: spoke.EINTERNAL, Category: "INTERNAL_ERROR", Message: "Internal error."}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	cat := e.Category
	if cat == "" {
		cat = spoke.Errorf(e.Code, "").Category
	}
	return status, errorBody{Status: "error", Message: e.Message, CorrelationID: uuid.NewString(), Category: cat, SubCategory: e.SubCategory, Context: e.Context, Errors: e.Details}
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds: about
// as long as a database restart or failover takes.
const retryAfterUnavailable = "5"

// writeError writes err as HubSpot's error envelope with its status. A
// 503 (the database is unavailable) says when to try again.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if code := spoke.ErrorCode(err); code == spoke.EINTERNAL || code == spoke.EUNAVAILABLE {
		if sw, ok := w.(*statusWriter); ok {
			sw.err = err // logged by the middleware with the driver's cause
		}
	}
	status, body := envelope(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeNoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

// decode reads a JSON body into v and turns every decoding failure into a
// 400 (or 413) that says where the problem is.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return spoke.Errorf(spoke.ETOOLARGE, "Request body is larger than %d bytes.", tooBig.Limit)
		}
		return spoke.Invalidf("Could not read the request body: %v", err)
	}
	return decodeBytes(body, v)
}

// decodeBytes is decode on a byte slice; the fuzz test drives it.
func decodeBytes(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return spoke.Invalidf("The request body is empty; send a JSON document.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			line, col := jsonerr.Position(body, syn.Offset)
			return spoke.Invalidf("Invalid JSON at line %d, column %d (byte %d): %s.", line, col, syn.Offset, syn.Error())
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "the body"
			}
			at := ""
			if typ.Offset > 0 {
				at = fmt.Sprintf(" (byte %d)", typ.Offset)
			}
			return spoke.Invalidf("Invalid input JSON: %s must be %s, not %s%s.", field, jsonKind(typ.Type), typ.Value, at)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return spoke.Invalidf("Invalid JSON: the body ends early.")
		}
		var e *spoke.Error
		if errors.As(err, &e) {
			return e
		}
		return spoke.Invalidf("Invalid input JSON: %v", err)
	}
	return nil
}

// jsonKind names the JSON kind that decodes into a type; flexString
// takes either of two.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[flexString]() {
		return "a string or a number"
	}
	return jsonerr.Kind(t.String())
}
