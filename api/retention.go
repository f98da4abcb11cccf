package api

import (
	"net/http"

	"github.com/spokehq/spoke"
)

// retentionRoutes serve the account's retention of run history
// (docs/store.md, "Retention").
func (s *Server) retentionRoutes() []route {
	return []route{
		reads("GET /automation/v4/settings/retention", s.getRetention),
		writes("PUT /automation/v4/settings/retention", s.putRetention),
	}
}

func (s *Server) getRetention(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	ret, err := s.Retention.Retention(r.Context(), account(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ret)
	return nil
}

// putRetention sets the fields given and keeps the others.
func (s *Server) putRetention(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		Days                 *int `json:"days"`
		FailedDays           *int `json:"failedDays"`
		MaxExecutionsPerFlow *int `json:"maxExecutionsPerFlow"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Days == nil && in.FailedDays == nil && in.MaxExecutionsPerFlow == nil {
		return spoke.Invalidf("Give at least one of \"days\", \"failedDays\" and \"maxExecutionsPerFlow\".")
	}
	ret, err := s.Retention.Retention(r.Context(), account(r))
	if err != nil {
		return err
	}
	for _, f := range []struct {
		in  *int
		dst *int
	}{{in.Days, &ret.Days}, {in.FailedDays, &ret.FailedDays}, {in.MaxExecutionsPerFlow, &ret.MaxExecutionsPerFlow}} {
		if f.in != nil {
			*f.dst = *f.in
		}
	}
	if ret, err = s.Retention.SetRetention(r.Context(), account(r), ret); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ret)
	return nil
}
