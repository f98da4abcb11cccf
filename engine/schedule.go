package engine

import (
	"context"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// months maps HubSpot's month names (blockedDates) to time.Month.
var months = map[string]time.Month{"JANUARY": 1, "FEBRUARY": 2, "MARCH": 3, "APRIL": 4, "MAY": 5, "JUNE": 6, "JULY": 7,
	"AUGUST": 8, "SEPTEMBER": 9, "OCTOBER": 10, "NOVEMBER": 11, "DECEMBER": 12}

// scheduled reports whether an action is held by a flow's timeWindows and
// blockedDates. Delays and branches are not: they do nothing a person
// would see, and HubSpot applies execution windows to the actions that do.
func scheduled(act *spoke.Action) bool {
	switch act.Type {
	case spoke.ActionStaticBranch, spoke.ActionListBranch, spoke.ActionABTestBranch:
		return false
	case spoke.ActionSingleConnection:
		return act.ActionTypeID != spoke.ActionTypeDelay
	}
	return true
}

// blocked reports whether day (any time in it, UTC) is a blocked date.
func blocked(f *spoke.Flow, day time.Time) bool {
	y, m, d := day.Date()
	for _, b := range f.BlockedDates {
		if months[strings.ToUpper(b.Month)] == m && b.DayOfMonth == d && (b.Year == 0 || b.Year == y) {
			return true
		}
	}
	return false
}

// nextAllowed returns the first instant at or after now at which a flow's
// timeWindows and blockedDates let an action run: now itself when they
// allow it. Times are UTC. If nothing in the next 400 days is allowed
// (windows that cannot be met), it returns now rather than hold the
// enrollment for ever.
func nextAllowed(f *spoke.Flow, now time.Time) time.Time {
	if len(f.TimeWindows) == 0 && len(f.BlockedDates) == 0 {
		return now
	}
	now = now.UTC()
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 400; i++ {
		day := today.AddDate(0, 0, i)
		if blocked(f, day) {
			continue
		}
		if len(f.TimeWindows) == 0 {
			if day.Before(now) {
				return now
			}
			return day
		}
		var best time.Time
		for _, w := range f.TimeWindows {
			if !strings.EqualFold(w.Day, day.Weekday().String()) {
				continue
			}
			start := day.Add(time.Duration(w.StartTime.Hour)*time.Hour + time.Duration(w.StartTime.Minute)*time.Minute)
			end := day.Add(time.Duration(w.EndTime.Hour)*time.Hour + time.Duration(w.EndTime.Minute)*time.Minute)
			if !now.Before(end) {
				continue
			}
			c := start
			if c.Before(now) {
				c = now
			}
			if best.IsZero() || c.Before(best) {
				best = c
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return now
}

// unenrollReason returns why an enrollment should leave its flow before
// its next action: the record meets the flow's goal (GOAL_MET), or no
// longer meets its LIST_BASED criteria when unEnrollObjectsNotMeetingCriteria
// is set (CRITERIA_NOT_MET); "" to go on. A goal or criteria that cannot
// be evaluated, or definitions that cannot be read, keep the enrollment
// going: the check is retried before every action.
func (e *Engine) unenrollReason(ctx context.Context, f *spoke.Flow, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, now time.Time) (string, string) {
	ec := f.EnrollmentCriteria
	criteria := ec != nil && ec.Type == spoke.EnrollListBased && ec.UnEnrollObjectsNotMeetingCriteria && ec.ListFilterBranch != nil
	if f.GoalFilterBranch == nil && !criteria {
		return "", ""
	}
	defs, err := e.definitions(ctx, en.AccountID, rec.ObjectType)
	if err != nil {
		e.Logger.Error("read property definitions for a flow goal", "flowId", f.ID, "err", err)
		return "", ""
	}
	env := e.withLists(ctx, en.AccountID, rec, flow.Env{Get: func(name string) (string, bool) { return rec.Value(t, name) }, Defs: defs, Now: now})
	if f.GoalFilterBranch != nil {
		if ok, err := env.Evaluate(f.GoalFilterBranch); err == nil && ok {
			return "GOAL_MET", "The record met the flow's goal (goalFilterBranch) and was unenrolled."
		}
	}
	if criteria {
		if ok, err := env.Evaluate(ec.ListFilterBranch); err == nil && !ok {
			return "CRITERIA_NOT_MET", "The record no longer meets the enrollment criteria and unEnrollObjectsNotMeetingCriteria is on, so it was unenrolled."
		}
	}
	return "", ""
}

// unenroll ends an enrollment before the end of its path.
func (e *Engine) unenroll(st *spoke.Step, reason, msg string, now time.Time) *spoke.Step {
	en := st.Enrollment
	en.Status, en.WaitReason, en.CompletedAt, en.RunAt = spoke.EnrollmentUnenrolled, spoke.WaitNone, now, now
	en.Error = &spoke.ActionError{Type: reason, Message: msg}
	return st
}
