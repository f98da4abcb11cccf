package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// runsPerPage is the page size of the runs tables.
const runsPerPage = 25

// runFilter is the runs page's query: which table, its filters and page.
type runFilter struct {
	View     string // enrollments or executions
	Status   string
	ActionID string
	Record   string
	Before   int64
}

func parseRunFilter(r *http.Request) (runFilter, spoke.RunQuery, error) {
	q := r.URL.Query()
	f := runFilter{View: q.Get("view"), Status: strings.ToUpper(q.Get("status")), ActionID: q.Get("action"), Record: strings.TrimSpace(q.Get("record"))}
	if f.View != "executions" {
		f.View = "enrollments"
	}
	rq := spoke.RunQuery{Status: f.Status, ActionID: f.ActionID, Limit: runsPerPage}
	if f.Record != "" {
		id, err := strconv.ParseInt(f.Record, 10, 64)
		if err != nil || id <= 0 {
			return f, rq, spoke.Invalidf("Record must be a record id (a number), not %q.", f.Record)
		}
		rq.ObjectID = id
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return f, rq, spoke.Invalidf("The page cursor %q is not valid.", b)
		}
		f.Before, rq.Before = n, n
	}
	return f, rq, nil
}

// query returns the filter as a query string, with before replaced.
func (f runFilter) query(before int64) string {
	v := url.Values{"view": {f.View}}
	for k, val := range map[string]string{"status": f.Status, "action": f.ActionID, "record": f.Record} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	return v.Encode()
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	acct := sess.token.AccountID
	f, err := s.Flows.GetFlow(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		return err
	}
	filter, q, err := parseRunFilter(r)
	data := map[string]any{"Title": f.Name + " — runs", "Flow": f, "Filter": filter, "ObjectType": objectTypeName(f.ObjectTypeID),
		"Retried": r.URL.Query().Get("retried")}
	if err != nil {
		data["FilterError"] = message(err)
		s.render(w, r, sess, http.StatusBadRequest, "runs.html", data)
		return nil
	}
	var next int64
	if filter.View == "executions" {
		list, more, err := s.Runs.RecentExecutions(r.Context(), acct, f.ID, q)
		if err != nil {
			return err
		}
		data["Executions"] = list
		if more {
			next = list[len(list)-1].ID
		}
	} else {
		list, more, err := s.Runs.RecentEnrollments(r.Context(), acct, f.ID, q)
		if err != nil {
			return err
		}
		data["Enrollments"] = list
		if more {
			next = list[len(list)-1].ID
		}
	}
	if next > 0 {
		data["Next"] = filter.query(next)
	}
	if filter.Before > 0 {
		data["First"] = filter.query(0)
	}
	data["Live"] = filter.Before == 0
	data["Self"] = filter.query(filter.Before)
	s.render(w, r, sess, http.StatusOK, "runs.html", data)
	return nil
}

func objectTypeName(id string) string {
	t, _ := spoke.LookupObjectType(id)
	return t.Name
}

func (s *Server) executionPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	acct := sess.token.AccountID
	f, err := s.Flows.GetFlow(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		return err
	}
	xid, err := strconv.ParseInt(r.PathValue("xid"), 10, 64)
	if err != nil {
		return spoke.NotFoundf("There is no execution %q.", r.PathValue("xid"))
	}
	x, err := s.Runs.GetExecution(r.Context(), acct, xid)
	if err != nil {
		return err
	}
	if x.FlowID != f.ID {
		return spoke.NotFoundf("Workflow %s has no execution %d.", f.ID, xid)
	}
	s.render(w, r, sess, http.StatusOK, "execution.html", map[string]any{"Title": "Execution " + r.PathValue("xid"), "Flow": f, "X": x,
		"ObjectType": objectTypeName(f.ObjectTypeID)})
	return nil
}

// retry resumes a failed enrollment through the API.
func (s *Server) retry(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, eid := r.PathValue("id"), r.PathValue("eid")
	if err := s.call(r, sess, "POST", "/automation/v4/flows/"+url.PathEscape(id)+"/enrollments/"+url.PathEscape(eid)+"/retry", nil, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/flows/"+url.PathEscape(id)+"/runs?view=enrollments&retried="+url.QueryEscape(eid), http.StatusSeeOther)
	return nil
}
