package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// Safe change in the UI: a flow's revisions (author, time, message, diff,
// restore), its staged rollout (state, advance, abort) and reverts of
// what it wrote (dry run first, then a real run with progress). Every
// call goes through the API in-process, which owns the rules.

// revisionRow is one revision as GET .../revisions lists it.
type revisionRow struct {
	RevisionID string `json:"revisionId"`
	Author     string `json:"author"`
	Message    string `json:"message"`
	CreatedAt  string `json:"createdAt"`
	IsEnabled  bool   `json:"isEnabled"`
	Actions    int    `json:"actions"`
}

// Time parses CreatedAt for the page's <time> elements.
func (r revisionRow) Time() time.Time {
	t, _ := spoke.ParseTime(r.CreatedAt)
	return t
}

// revisionsPerPage is the page size of the revisions page.
const revisionsPerPage = 20

// revisions reads one page of a flow's revisions, newest first.
func (s *Server) revisions(r *http.Request, sess *session, id, after string, limit int) (list []revisionRow, next string, err error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Results []revisionRow `json:"results"`
		Paging  *struct {
			Next struct {
				After string `json:"after"`
			} `json:"next"`
		} `json:"paging"`
	}
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+url.PathEscape(id)+"/revisions?"+q.Encode(), nil, &out); err != nil {
		return nil, "", err
	}
	if out.Paging != nil {
		next = out.Paging.Next.After
	}
	return out.Results, next, nil
}

func (s *Server) revisionsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("after")
	list, next, err := s.revisions(r, sess, f.ID, after, revisionsPerPage)
	if err != nil {
		return err
	}
	s.render(w, r, sess, http.StatusOK, "revisions.html", map[string]any{"Title": f.Name + " — revisions", "Flow": f, "Revisions": list,
		"Next": next, "Paged": after != "", "Restored": r.URL.Query().Get("restored")})
	return nil
}

// diffWire is GET .../revisions/diff's answer.
type diffWire struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	Fields  []string `json:"fieldsChanged"`
	Added   []string `json:"actionsAdded"`
	Removed []string `json:"actionsRemoved"`
	Changed []struct {
		ActionID   string   `json:"actionId"`
		Type       string   `json:"type"`
		Fields     []string `json:"fieldsChanged"`
		SourceDiff string   `json:"sourceDiff"`
	} `json:"actionsChanged"`
}

// diffLine is one line of a unified diff with the class that colours it.
type diffLine struct {
	Class, Text string
}

// diffLines splits a unified diff into lines marked added, removed or
// hunk header, for the page to colour without inline styles.
func diffLines(d string) []diffLine {
	var out []diffLine
	for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
		c := ""
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			c = "file"
		case strings.HasPrefix(l, "@@"):
			c = "hunk"
		case strings.HasPrefix(l, "+"):
			c = "add"
		case strings.HasPrefix(l, "-"):
			c = "del"
		}
		out = append(out, diffLine{Class: c, Text: l})
	}
	return out
}

func (s *Server) diffPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if to == "" {
		to = f.RevisionID
	}
	if from == "" {
		n, _ := strconv.Atoi(to)
		from = strconv.Itoa(max(n-1, 1))
	}
	var d diffWire
	q := url.Values{"from": {from}, "to": {to}}
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+url.PathEscape(f.ID)+"/revisions/diff?"+q.Encode(), nil, &d); err != nil {
		return err
	}
	type change struct {
		ActionID, Type string
		Fields         []string
		Lines          []diffLine
	}
	var changes []change
	for _, c := range d.Changed {
		ch := change{ActionID: c.ActionID, Type: c.Type, Fields: c.Fields}
		if c.SourceDiff != "" {
			ch.Lines = diffLines(c.SourceDiff)
		}
		changes = append(changes, ch)
	}
	s.render(w, r, sess, http.StatusOK, "diff.html", map[string]any{"Title": f.Name + " — revision " + from + " to " + to, "Flow": f,
		"From": from, "To": to, "Diff": d, "Changes": changes,
		"Same": len(d.Fields)+len(d.Added)+len(d.Removed)+len(d.Changed) == 0})
	return nil
}

// restore saves an old revision as the flow's newest one.
func (s *Server) restore(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, rev := r.PathValue("id"), r.PathValue("rev")
	path := "/automation/v4/flows/" + url.PathEscape(id) + "/revisions/" + url.PathEscape(rev) + "/restore"
	if m := strings.TrimSpace(r.PostFormValue("message")); m != "" {
		path += "?message=" + url.QueryEscape(m)
	}
	var out struct {
		RevisionID string `json:"revisionId"`
	}
	if err := s.call(r, sess, "POST", path, nil, &out); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/flows/"+url.PathEscape(id)+"/revisions?restored="+url.QueryEscape(rev+" as revision "+out.RevisionID), http.StatusSeeOther)
	return nil
}

// rolloutView is GET .../rollout's answer.
type rolloutView struct {
	RevisionID     string  `json:"revisionId"`
	State          string  `json:"state"`
	Stage          int     `json:"stage"`
	StageSize      *int    `json:"stageSize"`
	Stages         []int   `json:"stages"`
	MaxFailureRate float64 `json:"maxFailureRate"`
	Approval       string  `json:"approval"`
	Counts         struct {
		InStage   int `json:"inStage"`
		Running   int `json:"running"`
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
		Held      int `json:"held"`
	} `json:"counts"`
	FailureRate       float64 `json:"failureRate"`
	FailingExecutions []struct {
		ID       string `json:"id"`
		ObjectID string `json:"objectId"`
		ActionID string `json:"actionId"`
		Error    *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"failingExecutions"`
	StageStartedAt string `json:"stageStartedAt"`
}

// Stages counts the stages including the final "all".
func (v *rolloutView) StageCount() int { return len(v.Stages) + 1 }

// Active reports whether the rollout still holds enrollments back.
func (v *rolloutView) Active() bool { return spoke.RolloutHolds(v.State) }

// rollout reads the flow's current rollout; nil when it has none.
func (s *Server) rollout(r *http.Request, sess *session, id string) (*rolloutView, error) {
	var v rolloutView
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+url.PathEscape(id)+"/rollout", nil, &v); err != nil {
		if status(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &v, nil
}

// moveRollout advances or aborts the flow's rollout.
func (s *Server) moveRollout(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, cmd := r.PathValue("id"), r.PathValue("cmd")
	if cmd != "advance" && cmd != "abort" {
		return spoke.NotFoundf("A rollout can only be advanced or aborted.")
	}
	if err := s.call(r, sess, "POST", "/automation/v4/flows/"+url.PathEscape(id)+"/rollout/"+cmd, nil, nil); err != nil {
		return err
	}
	done := "The rollout moved to its next stage."
	if cmd == "abort" {
		done = "The rollout was aborted: held enrollments were cancelled and the workflow is off."
	}
	http.Redirect(w, r, "/ui/flows/"+url.PathEscape(id)+"?done="+url.QueryEscape(done)+"#rollout", http.StatusSeeOther)
	return nil
}

// revertView is a revert job as the API answers it.
type revertView struct {
	ID         string             `json:"id"`
	Status     string             `json:"status"`
	DryRun     bool               `json:"dryRun"`
	Since      string             `json:"since"`
	Until      string             `json:"until"`
	RevisionID string             `json:"revisionId"`
	Properties []string           `json:"properties"`
	Total      int64              `json:"recordsTotal"`
	Done       int64              `json:"recordsProcessed"`
	Records    int64              `json:"recordsChanged"`
	Reverted   int64              `json:"valuesReverted"`
	Conflicts  int64              `json:"conflicts"`
	Sample     spoke.RevertSample `json:"sample"`
	Error      string             `json:"error"`
	Progress   float64            `json:"progress"`
}

// Finished reports whether a real run has stopped.
func (v *revertView) Finished() bool {
	return v.Status == spoke.RevertComplete || v.Status == spoke.RevertFailed
}

// revertForm is the revert panel's fields, kept to fill the form again
// and to send the same request for real after the dry run.
type revertForm struct {
	Since, Until, SinceLocal, UntilLocal, Revision, Properties string
}

func readRevertForm(r *http.Request) revertForm {
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	return revertForm{Since: f("since"), Until: f("until"), SinceLocal: f("since_local"), UntilLocal: f("until_local"),
		Revision: f("revisionId"), Properties: f("properties")}
}

// when returns the ISO time of a field: app.js fills the hidden ISO field
// from the datetime-local one in the browser's zone; without scripts the
// local value is read as UTC (the page says so).
func isoOrLocal(iso, local string) string {
	if iso != "" {
		return iso
	}
	if local == "" {
		return ""
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, local); err == nil {
			return spoke.FormatTime(t)
		}
	}
	return local
}

// body is the API request of the form.
func (f revertForm) body(dryRun bool) map[string]any {
	b := map[string]any{"since": isoOrLocal(f.Since, f.SinceLocal), "dryRun": dryRun}
	if u := isoOrLocal(f.Until, f.UntilLocal); u != "" {
		b["until"] = u
	}
	if f.Revision != "" {
		b["revisionId"] = f.Revision
	}
	var props []string
	for _, p := range strings.Split(f.Properties, ",") {
		if p = strings.TrimSpace(p); p != "" {
			props = append(props, p)
		}
	}
	if props != nil {
		b["properties"] = props
	}
	return b
}

func (s *Server) revertPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderRevert(w, r, sess, http.StatusOK, revertForm{}, nil, "")
}

func (s *Server) renderRevert(w http.ResponseWriter, r *http.Request, sess *session, code int, form revertForm, dry *revertView, formError string) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.render(w, r, sess, code, "revert.html", map[string]any{"Title": f.Name + " — revert", "Flow": f, "Form": form, "Dry": dry,
		"FormError": formError, "ObjectType": objectTypeName(f.ObjectTypeID)})
	return nil
}

// revert runs the revert panel: a dry run shows what would change; a real
// run (the form's second, red button) starts the job and opens its page.
func (s *Server) revert(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	form := readRevertForm(r)
	real := r.PostFormValue("real") == "1"
	var out revertView
	if err := s.call(r, sess, "POST", "/automation/v4/flows/"+url.PathEscape(id)+"/revert", form.body(!real), &out); err != nil {
		if status(err) == http.StatusBadRequest {
			return s.renderRevert(w, r, sess, http.StatusBadRequest, form, nil, message(err))
		}
		return err
	}
	if !real {
		return s.renderRevert(w, r, sess, http.StatusOK, form, &out, "")
	}
	http.Redirect(w, r, "/ui/flows/"+url.PathEscape(id)+"/revert/"+url.PathEscape(out.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) revertJobPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := require(sess, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), sess.token.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var job revertView
	if err := s.call(r, sess, "GET", "/automation/v4/flows/"+url.PathEscape(f.ID)+"/revert/"+url.PathEscape(r.PathValue("rid")), nil, &job); err != nil {
		return err
	}
	s.render(w, r, sess, http.StatusOK, "revertjob.html", map[string]any{"Title": f.Name + " — revert " + job.ID, "Flow": f, "Job": &job,
		"ObjectType": objectTypeName(f.ObjectTypeID)})
	return nil
}
