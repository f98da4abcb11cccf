package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

func (s *Server) propertiesPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderProperties(w, r, sess, http.StatusOK, "", nil)
}

func (s *Server) renderProperties(w http.ResponseWriter, r *http.Request, sess *session, code int, formError string, form url.Values) error {
	t, err := objectType(r)
	if err != nil {
		return err
	}
	if err := require(sess, "crm.schemas."+t.Name+".read"); err != nil {
		return err
	}
	acct := sess.token.AccountID
	props, err := s.Properties.ListProperties(r.Context(), acct, t.Name, false)
	if err != nil {
		return err
	}
	sort.Slice(props, func(i, j int) bool {
		if props[i].HubspotDefined != props[j].HubspotDefined {
			return !props[i].HubspotDefined
		}
		return props[i].Label < props[j].Label
	})
	groups, err := s.Properties.ListPropertyGroups(r.Context(), acct, t.Name)
	if err != nil {
		return err
	}
	s.render(w, r, sess, code, "properties.html", map[string]any{"Title": typeLabel(t.Name) + " properties", "Type": t.Name,
		"Props": props, "Groups": groups, "FormError": formError, "Form": form, "Created": r.URL.Query().Get("created")})
	return nil
}

// fieldTypes is the form field each property type gets when created here.
var fieldTypes = map[string]string{"string": "text", "number": "number", "bool": "booleancheckbox", "date": "date",
	"datetime": "date", "enumeration": "select", "phone_number": "phonenumber"}

// createProperty creates a custom property through the API, which
// validates it.
func (s *Server) createProperty(w http.ResponseWriter, r *http.Request, sess *session) error {
	t, err := objectType(r)
	if err != nil {
		return err
	}
	typ := r.PostFormValue("type")
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "label": strings.TrimSpace(r.PostFormValue("label")),
		"type": typ, "fieldType": fieldTypes[typ], "groupName": r.PostFormValue("groupName")}
	if typ == "enumeration" {
		var opts []map[string]any
		for i, o := range strings.Split(r.PostFormValue("options"), ",") {
			if o = strings.TrimSpace(o); o != "" {
				opts = append(opts, map[string]any{"label": o, "value": o, "displayOrder": i})
			}
		}
		body["options"] = opts
	}
	if err := s.call(r, sess, "POST", "/crm/v3/properties/"+t.Name, body, nil); err != nil {
		if c := status(err); c == http.StatusBadRequest || c == http.StatusConflict {
			return s.renderProperties(w, r, sess, c, message(err), r.PostForm)
		}
		return err
	}
	http.Redirect(w, r, "/ui/properties/"+t.Name+"?created="+url.QueryEscape(body["name"].(string)), http.StatusSeeOther)
	return nil
}

func (s *Server) secretsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderSecrets(w, r, sess, http.StatusOK, "")
}

func (s *Server) renderSecrets(w http.ResponseWriter, r *http.Request, sess *session, code int, formError string) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	list, err := s.Secrets.ListSecrets(r.Context(), sess.token.AccountID)
	if err != nil {
		return err
	}
	s.render(w, r, sess, code, "secrets.html", map[string]any{"Title": "Secrets", "Secrets": list, "FormError": formError,
		"Done": r.URL.Query().Get("done")})
	return nil
}

// putSecret adds or replaces a secret through the API.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, sess *session) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return s.renderSecrets(w, r, sess, http.StatusBadRequest, "Give the secret a name.")
	}
	if err := s.call(r, sess, "PUT", "/automation/v4/secrets/"+url.PathEscape(name), map[string]string{"value": r.PostFormValue("value")}, nil); err != nil {
		if status(err) == http.StatusBadRequest {
			return s.renderSecrets(w, r, sess, http.StatusBadRequest, message(err))
		}
		return err
	}
	http.Redirect(w, r, "/ui/secrets?done="+url.QueryEscape("Saved "+name+"."), http.StatusSeeOther)
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, sess *session) error {
	name := r.PathValue("name")
	if err := s.call(r, sess, "DELETE", "/automation/v4/secrets/"+url.PathEscape(name), nil, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/secrets?done="+url.QueryEscape("Deleted "+name+"."), http.StatusSeeOther)
	return nil
}

func (s *Server) usagePage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	acct := sess.token.AccountID
	now := s.Now()
	u, err := s.Engine.Usage(r.Context(), acct, spoke.Period(now))
	if err != nil {
		return err
	}
	days, err := s.Runs.DailyRuns(r.Context(), acct, now.AddDate(0, 0, -29))
	if err != nil {
		return err
	}
	c := newChart(now, days)
	var share float64
	if u.Limit > 0 {
		share = float64(u.Executions) / float64(u.Limit)
	}
	data := map[string]any{"Title": "Usage", "Usage": u, "Share": share, "Chart": c.svg(), "Totals": c.totals()}
	if s.Storage != nil && s.Retention != nil {
		st, err := s.storage.get(r.Context(), s.Storage)
		if err != nil {
			return err
		}
		ret, err := s.Retention.Retention(r.Context(), acct)
		if err != nil {
			return err
		}
		data["Storage"], data["Retention"] = st, ret
		if !st.OldestExecution.IsZero() {
			data["OldestAge"] = now.Sub(st.OldestExecution).Round(time.Minute).String()
		}
	}
	s.render(w, r, sess, http.StatusOK, "usage.html", data)
	return nil
}

// storageCache keeps the storage figures for a minute: reading them scans
// the database file.
type storageCache struct {
	mu sync.Mutex
	st *spoke.StorageStats
	at time.Time
}

func (c *storageCache) get(ctx context.Context, src spoke.StorageReporter) (*spoke.StorageStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st != nil && time.Since(c.at) < time.Minute {
		return c.st, nil
	}
	st, err := src.StorageStats(ctx)
	if err != nil {
		return nil, err
	}
	c.st, c.at = st, time.Now()
	return st, nil
}
