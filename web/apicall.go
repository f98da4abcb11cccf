package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// apiError is an error answer of the API: its status and HubSpot's
// envelope, whose message is written for people.
type apiError struct {
	Status   int                 `json:"-"` // the envelope's "status" is the word "error"
	Message  string              `json:"message"`
	Category string              `json:"category"`
	Context  map[string][]string `json:"context"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("API %d %s: %s", e.Status, e.Category, e.Message)
}

// call sends a request to the API handler in-process with the session's
// token and decodes a 2xx JSON answer into out (when not nil). Any other
// answer is an *apiError.
func (s *Server) call(r *http.Request, sess *session, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(r.Context(), method, path, rd)
	req.Header.Set("Authorization", "Bearer "+sess.secret)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		ae := &apiError{Status: rec.Code}
		if json.Unmarshal(rec.Body.Bytes(), ae) != nil || ae.Message == "" {
			ae.Message = fmt.Sprintf("The API answered %d %s.", rec.Code, http.StatusText(rec.Code))
		}
		return ae
	}
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// proxy passes /ui/api/PATH to the API's /PATH with the session's token,
// for the UI's scripts (save a flow, test an action, enroll, search).
// Only the CRM and automation APIs are reachable; authed checked the CSRF
// token of every request that is not a GET.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, sess *session) error {
	path := strings.TrimPrefix(r.URL.Path, "/ui/api")
	if !strings.HasPrefix(path, "/crm/") && !strings.HasPrefix(path, "/automation/") {
		return &apiError{Status: http.StatusNotFound, Message: "The UI passes only /crm/ and /automation/ calls to the API."}
	}
	req := r.Clone(r.Context())
	req.URL.Path, req.URL.RawPath = path, ""
	req.RequestURI = ""
	req.Header = http.Header{}
	req.Header.Set("Authorization", "Bearer "+sess.secret)
	req.Header.Set("Content-Type", "application/json")
	s.API.ServeHTTP(w, req)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
