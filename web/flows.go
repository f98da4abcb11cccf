package web

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// flowsPerPage is how many flows the list shows at once.
const flowsPerPage = 50

// flowRow is one line of the workflow list.
type flowRow struct {
	Flow  *spoke.Flow
	Stats *spoke.FlowStats
}

func (s *Server) flowsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderFlows(w, r, sess, http.StatusOK, "")
}

func (s *Server) renderFlows(w http.ResponseWriter, r *http.Request, sess *session, code int, formError string) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	after := r.URL.Query().Get("after")
	flows, more, err := s.Flows.ListFlows(r.Context(), sess.token.AccountID, after, flowsPerPage)
	if err != nil {
		return err
	}
	ids := make([]string, len(flows))
	for i, f := range flows {
		ids[i] = f.ID
	}
	stats, err := s.Runs.FlowStats(r.Context(), sess.token.AccountID, ids, s.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	rows := make([]flowRow, len(flows))
	for i, f := range flows {
		rows[i] = flowRow{Flow: f, Stats: stats[f.ID]}
	}
	data := map[string]any{"Title": "Workflows", "Rows": rows, "FormError": formError, "After": after}
	if more {
		data["Next"] = flows[len(flows)-1].ID
	}
	s.render(w, r, sess, code, "flows.html", data)
	return nil
}

// createFlow creates an empty, off workflow through the API and opens it.
func (s *Server) createFlow(w http.ResponseWriter, r *http.Request, sess *session) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	t, ok := spoke.LookupObjectType(r.PostFormValue("objectType"))
	if name == "" || !ok {
		return s.renderFlows(w, r, sess, http.StatusBadRequest, "Give the workflow a name and pick the kind of record it runs on.")
	}
	kind := "PLATFORM_FLOW"
	if t.Name == "contacts" {
		kind = "CONTACT_FLOW"
	}
	doc := map[string]any{"name": name, "type": kind, "objectTypeId": t.ID, "flowType": "WORKFLOW", "isEnabled": false,
		"enrollmentCriteria": map[string]any{"type": spoke.EnrollManual, "shouldReEnroll": false}, "actions": []any{}}
	var out struct {
		ID string `json:"id"`
	}
	if err := s.call(r, sess, "POST", "/automation/v4/flows", doc, &out); err != nil {
		if status(err) == http.StatusBadRequest {
			return s.renderFlows(w, r, sess, http.StatusBadRequest, message(err))
		}
		return err
	}
	http.Redirect(w, r, "/ui/flows/"+out.ID, http.StatusSeeOther)
	return nil
}

// propertyOption is a property as the flow editor's pickers list it.
type propertyOption struct {
	Name    string   `json:"name"`
	Label   string   `json:"label"`
	Type    string   `json:"type"`
	Options []string `json:"options,omitempty"`
}

// editorData is what the flow editor script reads from the page.
func (s *Server) editorData(r *http.Request, sess *session, f *spoke.Flow) (props []propertyOption, secrets []string, err error) {
	t, _ := spoke.LookupObjectType(f.ObjectTypeID)
	if sess.token.HasScope("crm.schemas."+t.Name+".read") && t.Name != "" {
		list, err := s.Properties.ListProperties(r.Context(), sess.token.AccountID, t.Name, false)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range list {
			o := propertyOption{Name: p.Name, Label: p.Label, Type: p.Type}
			for _, opt := range p.Options {
				o.Options = append(o.Options, opt.Value)
			}
			props = append(props, o)
		}
		sort.Slice(props, func(i, j int) bool { return props[i].Label < props[j].Label })
	}
	list, err := s.Secrets.ListSecrets(r.Context(), sess.token.AccountID)
	if err != nil {
		return nil, nil, err
	}
	for _, sec := range list {
		secrets = append(secrets, sec.Name)
	}
	return props, secrets, nil
}

func (s *Server) flowPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	id := r.PathValue("id")
	var doc json.RawMessage
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+id, nil, &doc); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, id)
	if err != nil {
		return err
	}
	props, secrets, err := s.editorData(r, sess, f)
	if err != nil {
		return err
	}
	stats, err := s.Runs.FlowStats(r.Context(), sess.token.AccountID, []string{id}, s.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	revs, more, err := s.revisions(r, sess, id, "", 10)
	if err != nil {
		return err
	}
	ro, err := s.rollout(r, sess, id)
	if err != nil {
		return err
	}
	t, _ := spoke.LookupObjectType(f.ObjectTypeID)
	s.render(w, r, sess, http.StatusOK, "flow.html", map[string]any{"Title": f.Name, "Flow": f, "Doc": string(doc), "ObjectType": t.Name,
		"Props": props, "Secrets": secrets, "Stats": stats[id], "Revisions": revs, "MoreRevisions": more != "", "Rollout": ro,
		"Done": r.URL.Query().Get("done")})
	return nil
}

func (s *Server) revisionPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	id, rev := r.PathValue("id"), r.PathValue("rev")
	var doc json.RawMessage
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+id+"/revisions/"+rev, nil, &doc); err != nil {
		return err
	}
	f, err := s.Flows.GetFlowRevision(r.Context(), sess.token.AccountID, id, rev)
	if err != nil {
		return err
	}
	cur, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, id)
	curRev := ""
	if err == nil {
		curRev = cur.RevisionID
	}
	t, _ := spoke.LookupObjectType(f.ObjectTypeID)
	s.render(w, r, sess, http.StatusOK, "revision.html", map[string]any{"Title": f.Name + " — revision " + rev, "Flow": f, "Doc": string(doc),
		"ObjectType": t.Name, "Revision": rev, "CurrentRevision": curRev})
	return nil
}

// statsWire is the live counts the flow and runs pages poll.
type statsWire struct {
	Enrolled    int64   `json:"enrolled"`
	Active      int64   `json:"active"`
	Completed   int64   `json:"completed"`
	Failed      int64   `json:"failed"`
	LastRun     string  `json:"lastRun,omitempty"`
	FailureRate float64 `json:"failureRate24h"`
	Runs24h     int64   `json:"runs24h"`
}

func (s *Server) flowStats(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, id); err != nil {
		return err
	}
	stats, err := s.Runs.FlowStats(r.Context(), sess.token.AccountID, []string{id}, s.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	st := stats[id]
	out := statsWire{Enrolled: st.Enrolled, Active: st.Active, Completed: st.Completed, Failed: st.Failed,
		FailureRate: st.FailureRate(), Runs24h: st.RecentRuns}
	if !st.LastRun.IsZero() {
		out.LastRun = spoke.FormatTime(st.LastRun)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}
