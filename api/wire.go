package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// propValues is a properties object of an input. HubSpot's clients send
// strings, but JS callers often put numbers, booleans or null on the wire;
// they are accepted and stringified (null clears the property).
type propValues map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (p *propValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return spoke.Invalidf("properties must be an object of property names to values.")
	}
	out := make(propValues, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			out[k] = ""
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return spoke.Invalidf("properties.%s is not a valid JSON string.", k)
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			return spoke.Invalidf("properties.%s must be a string, number or boolean, not %s.", k, map[byte]string{'{': "an object", '[': "an array"}[v[0]])
		default: // number, true, false
			out[k] = string(v)
		}
	}
	*p = out
	return nil
}

// flexString accepts a JSON string or number (HubSpot's "after" and ids).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		// A type error lets decodeBytes name the field.
		kind := map[byte]string{'{': "object", '[': "array", 't': "bool", 'f': "bool"}[b[0]]
		if kind == "" {
			kind = truncate(string(b), 40)
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[flexString]()}
	}
	*f = flexString(n.String())
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// publicObject is HubSpot's SimplePublicObject(WithAssociations), plus
// "new" for upsert results.
type publicObject struct {
	ID                    string                          `json:"id"`
	Properties            map[string]*string              `json:"properties"`
	PropertiesWithHistory map[string][]valueWithTimestamp `json:"propertiesWithHistory,omitempty"`
	Associations          map[string]*assocCollection     `json:"associations,omitempty"`
	CreatedAt             string                          `json:"createdAt"`
	UpdatedAt             string                          `json:"updatedAt"`
	Archived              bool                            `json:"archived"`
	ArchivedAt            string                          `json:"archivedAt,omitempty"`
	New                   *bool                           `json:"new,omitempty"`
}

type valueWithTimestamp struct {
	Value      string `json:"value"`
	Timestamp  string `json:"timestamp"`
	SourceType string `json:"sourceType"`
	SourceID   string `json:"sourceId,omitempty"`
}

type assocCollection struct {
	Results []assocRef `json:"results"`
}

type assocRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// view says which properties of a record to show.
type view struct {
	t           spoke.ObjectType
	properties  []string
	withHistory []string
}

// toWire converts a record to its wire shape. The computed properties are
// always included, as HubSpot does.
func (v view) toWire(r *spoke.Record) *publicObject {
	names := v.properties
	if len(names) == 0 {
		names = v.t.DefaultProperties
	}
	props := make(map[string]*string, len(names)+3)
	for _, n := range names {
		if val, ok := r.Value(v.t, n); ok {
			props[n] = &val
		} else {
			props[n] = nil
		}
	}
	for _, n := range []string{spoke.PropObjectID, spoke.PropCreateDate, v.t.LastModifiedProperty} {
		val, _ := r.Value(v.t, n)
		props[n] = &val
	}
	o := &publicObject{ID: strconv.FormatInt(r.ID, 10), Properties: props,
		CreatedAt: spoke.FormatTime(r.CreatedAt), UpdatedAt: spoke.FormatTime(r.UpdatedAt), Archived: r.Archived}
	if r.Archived {
		o.ArchivedAt = spoke.FormatTime(r.ArchivedAt)
	}
	if len(v.withHistory) > 0 {
		o.PropertiesWithHistory = map[string][]valueWithTimestamp{}
		for _, n := range v.withHistory {
			hist := make([]valueWithTimestamp, 0, len(r.History[n]))
			for _, h := range r.History[n] {
				hist = append(hist, valueWithTimestamp{Value: h.Value, Timestamp: spoke.FormatTime(h.Timestamp), SourceType: h.SourceType, SourceID: h.SourceID})
			}
			o.PropertiesWithHistory[n] = hist
		}
	}
	return o
}

// listParam reads a query parameter that may be repeated and may hold a
// comma-separated list.
func listParam(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, spoke.Invalidf("Query parameter %s must be true or false, got %q.", name, v)
	}
	return b, nil
}

func intParam(r *http.Request, name string, def, min, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, spoke.Invalidf("Query parameter %s must be an integer from %d to %d, got %q.", name, min, max, v)
	}
	return n, nil
}

// batchEnvelope is HubSpot's BatchResponse(WithErrors).
type batchEnvelope struct {
	Status      string         `json:"status"`
	Results     any            `json:"results"`
	NumErrors   int            `json:"numErrors,omitempty"`
	Errors      []standardErr  `json:"errors,omitempty"`
	RequestedAt string         `json:"requestedAt,omitempty"`
	StartedAt   string         `json:"startedAt"`
	CompletedAt string         `json:"completedAt"`
	Links       map[string]any `json:"links,omitempty"`
}

// standardErr is HubSpot's StandardError inside batch responses.
type standardErr struct {
	Status      string              `json:"status"`
	Category    string              `json:"category"`
	SubCategory string              `json:"subCategory,omitempty"`
	Message     string              `json:"message"`
	Context     map[string][]string `json:"context,omitempty"`
	Errors      []any               `json:"errors"`
	Links       map[string]string   `json:"links"`
}

func toStandardErr(e *spoke.Error) standardErr {
	_, body := envelope(e)
	details := make([]any, len(body.Errors))
	for i, d := range body.Errors {
		details[i] = d
	}
	return standardErr{Status: "error", Category: body.Category, SubCategory: body.SubCategory, Message: body.Message, Context: body.Context, Errors: details, Links: map[string]string{}}
}

// writeBatch answers a batch call: okStatus when nothing failed, 207
// otherwise.
func writeBatch(w http.ResponseWriter, okStatus int, started time.Time, results any, errs []standardErr) {
	env := batchEnvelope{Status: "COMPLETE", Results: results, StartedAt: spoke.FormatTime(started), CompletedAt: spoke.FormatTime(time.Now())}
	status := okStatus
	if len(errs) > 0 {
		env.NumErrors, env.Errors, status = len(errs), errs, http.StatusMultiStatus
	}
	writeJSON(w, status, env)
}
