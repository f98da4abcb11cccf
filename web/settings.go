package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

func (s *Server) propertiesPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderProperties(w, r, sess, http.StatusOK, "", nil)
}

func (s *Server) renderProperties(w http.ResponseWriter, r *http.Request, sess *session, code int, formError string, form url.Values) error {
	t, err := s.objectType(r, sess)
	if err != nil {
		return err
	}
	if !canReadSchema(sess, t) && len(t.SchemaReadScopes) > 0 {
		return require(sess, t.SchemaReadScopes[0])
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
	s.render(w, r, sess, code, "properties.html", map[string]any{"Title": s.label(r, sess, t) + " properties", "Type": t.Name,
		"Props": props, "Groups": groups, "FormError": formError, "Form": form, "Created": r.URL.Query().Get("created")})
	return nil
}

// fieldTypes is the form field each property type gets when created here.
var fieldTypes = map[string]string{"string": "text", "number": "number", "bool": "booleancheckbox", "date": "date",
	"datetime": "date", "enumeration": "select", "phone_number": "phonenumber"}

// createProperty creates a custom property through the API, which
// validates it.
func (s *Server) createProperty(w http.ResponseWriter, r *http.Request, sess *session) error {
	t, err := s.objectType(r, sess)
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

// alertsView is the account's alert webhook as the API answers it.
type alertsView struct {
	URL         string  `json:"url"`
	FailureRate float64 `json:"failureRate"`
	LastN       int     `json:"lastExecutions"`
	UpdatedAt   string  `json:"updatedAt"`
}

// retentionView is the account's retention as the API answers it.
type retentionView struct {
	Days                 int `json:"days"`
	FailedDays           int `json:"failedDays"`
	MaxExecutionsPerFlow int `json:"maxExecutionsPerFlow"`
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderSettings(w, r, sess, http.StatusOK, "", "")
}

// renderSettings draws the alert and retention forms; an API that does
// not serve one of them (no alert sender, no retention store) leaves
// its form out. formError goes beside the form named by which.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, sess *session, code int, which, formError string) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	data := map[string]any{"Title": "Settings", "Which": which, "FormError": formError, "Done": r.URL.Query().Get("done")}
	var alerts alertsView
	// 404 means no alert webhook is set yet: the form starts empty with
	// the API's defaults.
	if err := s.call(r, sess, "GET", "/automation/v4/settings/alerts", nil, &alerts); err == nil || status(err) == http.StatusNotFound {
		if err != nil {
			alerts = alertsView{FailureRate: spoke.DefaultAlertFailureRate, LastN: spoke.DefaultAlertFailureWindow}
		}
		data["Alerts"] = &alerts
	} else {
		return err
	}
	var ret retentionView
	if err := s.call(r, sess, "GET", "/automation/v4/settings/retention", nil, &ret); err == nil {
		data["Retention"] = &ret
	} else if status(err) != http.StatusNotFound {
		return err
	}
	if which != "" {
		data["Form"] = r.PostForm
	}
	s.render(w, r, sess, code, "settings.html", data)
	return nil
}

// putSettings saves the alert or the retention form through the API,
// which validates it.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, sess *session) error {
	which := r.PathValue("which")
	body := map[string]any{}
	num := func(k string, float bool) error {
		v := strings.TrimSpace(r.PostFormValue(k))
		if v == "" {
			return nil
		}
		if float {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return spoke.Invalidf("%q is not a number.", v)
			}
			body[k] = f
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return spoke.Invalidf("%q is not a whole number.", v)
		}
		body[k] = n
		return nil
	}
	var err error
	switch which {
	case "alerts":
		body["url"] = strings.TrimSpace(r.PostFormValue("url"))
		if err = num("lastExecutions", false); err == nil {
			// The form asks for a percentage; the API takes a share.
			if v := strings.TrimSpace(r.PostFormValue("failurePct")); v != "" {
				f, perr := strconv.ParseFloat(v, 64)
				if perr != nil {
					err = spoke.Invalidf("%q is not a percentage.", v)
				} else {
					body["failureRate"] = f / 100
				}
			}
		}
	case "retention":
		for _, k := range []string{"days", "failedDays", "maxExecutionsPerFlow"} {
			if err = num(k, false); err != nil {
				break
			}
		}
	default:
		return spoke.NotFoundf("There is no %q setting.", which)
	}
	if err == nil {
		err = s.call(r, sess, "PUT", "/automation/v4/settings/"+which, body, nil)
	}
	if err != nil {
		if status(err) == http.StatusBadRequest {
			return s.renderSettings(w, r, sess, http.StatusBadRequest, which, message(err))
		}
		return err
	}
	done := "Saved the alert webhook."
	if which == "retention" {
		done = "Saved how long runs are kept."
	}
	http.Redirect(w, r, "/ui/settings?done="+url.QueryEscape(done)+"#"+which, http.StatusSeeOther)
	return nil
}
