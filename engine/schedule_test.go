package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// setFlow is a contact flow whose first action sets jobtitle, then waits
// a day, then sets city; extra is spliced into the top level.
func setFlow(criteria, extra string) string {
	return `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,` + extra + `
	 "enrollmentCriteria":` + criteria + `,
	 "actions":[
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"staticValue":"first"}},
	   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-1","actionTypeVersion":0,"fields":{"delta":"1440","time_unit":"MINUTES"},
	   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"city","value":{"staticValue":"second"}}}]}`
}

const nPositive = `{"type":"LIST_BASED","shouldReEnroll":false,"unEnrollObjectsNotMeetingCriteria":%s,"reEnrollmentTriggersFilterBranches":[],
  "listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
   "filters":[{"filterType":"PROPERTY","property":"n","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":0,"includeObjectsWithNoValueSet":false}}]}]}}`

func criteria(unenroll bool) string {
	return strings.Replace(nPositive, "%s", strconv.FormatBool(unenroll), 1)
}

func (b *bundle) update(t *testing.T, id int64, props map[string]string) {
	t.Helper()
	if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: strconv.FormatInt(id, 10), Properties: props}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
		t.Fatal(err)
	}
}

func TestTimeWindowsHoldActions(t *testing.T) {
	t.Parallel()
	b := setup(t) // the clock is Tuesday 2026-03-10 12:00 UTC
	b.flows.put(parseFlow(t, "20", setFlow(criteria(false),
		`"timeWindows":[{"day":"TUESDAY","startTime":{"hour":14,"minute":30},"endTime":{"hour":15,"minute":0}},{"day":"THURSDAY","startTime":{"hour":9,"minute":0},"endTime":{"hour":17,"minute":0}}],`)))
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	en := b.enrollments(t, "20")[0]
	want := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	if en.WaitReason != spoke.WaitTimeWindow || !en.RunAt.Equal(want) || b.record(t, id).Properties["jobtitle"] != "" {
		t.Fatalf("before the window: %+v %v", en, b.record(t, id).Properties)
	}
	b.clock.Add(150 * time.Minute) // 14:30, in the window
	b.drain(t)
	if got := b.record(t, id).Properties["jobtitle"]; got != "first" {
		t.Fatalf("in the window jobtitle = %q", got)
	}
	// The delay ends Wednesday 14:30, outside every window: the next
	// action waits for Thursday 09:00.
	b.clock.Add(24 * time.Hour)
	b.drain(t)
	en = b.enrollments(t, "20")[0]
	if en.WaitReason != spoke.WaitTimeWindow || !en.RunAt.Equal(time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("after the delay: %+v", en)
	}
	b.clock.Add(19 * time.Hour)
	b.drain(t)
	if en := b.enrollments(t, "20")[0]; en.Status != spoke.EnrollmentCompleted || b.record(t, id).Properties["city"] != "second" {
		t.Fatalf("on Thursday: %+v %v", en, b.record(t, id).Properties)
	}
}

func TestBlockedDatesHoldActions(t *testing.T) {
	t.Parallel()
	b := setup(t) // 2026-03-10
	b.flows.put(parseFlow(t, "21", setFlow(criteria(false),
		`"blockedDates":[{"month":"MARCH","dayOfMonth":10,"year":2026},{"month":"MARCH","dayOfMonth":11}],`)))
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	en := b.enrollments(t, "21")[0]
	if en.WaitReason != spoke.WaitTimeWindow || !en.RunAt.Equal(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("on a blocked date: %+v", en)
	}
	b.clock.Add(36 * time.Hour)
	b.drain(t)
	if got := b.record(t, id).Properties["jobtitle"]; got != "first" {
		t.Fatalf("after the blocked dates jobtitle = %q", got)
	}
}

func TestNextAllowedWithoutRestrictions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if got := nextAllowed(&spoke.Flow{}, now); !got.Equal(now) {
		t.Errorf("no windows: %v", got)
	}
	// Windows that can never be met do not hold the enrollment for ever.
	f := &spoke.Flow{TimeWindows: []spoke.TimeWindow{{Day: "NEVERDAY"}}}
	if got := nextAllowed(f, now); !got.Equal(now) {
		t.Errorf("impossible windows: %v", got)
	}
}

func TestGoalUnenrolls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "22", setFlow(criteria(false),
		`"goalFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
		  "filters":[{"filterType":"PROPERTY","property":"lifecyclestage","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["customer"],"includeObjectsWithNoValueSet":false}}]}]},`)))
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	if got := b.record(t, id).Properties["jobtitle"]; got != "first" {
		t.Fatalf("jobtitle = %q", got)
	}
	b.update(t, id, map[string]string{"lifecyclestage": "customer"}) // meets the goal during the delay
	b.clock.Add(25 * time.Hour)
	b.drain(t)
	en := b.enrollments(t, "22")[0]
	if en.Status != spoke.EnrollmentUnenrolled || en.Error == nil || en.Error.Type != "GOAL_MET" || b.record(t, id).Properties["city"] != "" {
		t.Fatalf("after meeting the goal: %+v %v", en, b.record(t, id).Properties)
	}
}

func TestUnenrollWhenCriteriaNoLongerMet(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		b := setup(t)
		b.flows.put(parseFlow(t, "23", setFlow(criteria(on), "")))
		id := b.contact(t, map[string]string{"n": "1"})
		b.drain(t)
		b.update(t, id, map[string]string{"n": "0"})
		b.clock.Add(25 * time.Hour)
		b.drain(t)
		en := b.enrollments(t, "23")[0]
		city := b.record(t, id).Properties["city"]
		if on && (en.Status != spoke.EnrollmentUnenrolled || en.Error.Type != "CRITERIA_NOT_MET" || city != "") {
			t.Errorf("unEnrollObjectsNotMeetingCriteria on: %+v city %q", en, city)
		}
		if !on && (en.Status != spoke.EnrollmentCompleted || city != "second") {
			t.Errorf("unEnrollObjectsNotMeetingCriteria off: %+v city %q", en, city)
		}
	}
}

func TestReEnrollmentTriggers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	crit := `{"type":"LIST_BASED","shouldReEnroll":true,"unEnrollObjectsNotMeetingCriteria":false,
	  "listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"n","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":0,"includeObjectsWithNoValueSet":false}}]}]},
	  "reEnrollmentTriggersFilterBranches":[{"filterBranchType":"AND","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"score","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":100,"includeObjectsWithNoValueSet":false}}]}]}`
	body := `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":` + crit + `,
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"staticValue":"x"}}}]}`
	b.flows.put(parseFlow(t, "24", body))
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	count := func() int { return len(b.enrollments(t, "24")) }
	if count() != 1 {
		t.Fatalf("first enrollment: %d", count())
	}
	// Leaving and meeting the criteria again is not a trigger.
	b.update(t, id, map[string]string{"n": "0"})
	b.update(t, id, map[string]string{"n": "2"})
	b.drain(t)
	if count() != 1 {
		t.Fatalf("re-met criteria without a trigger: %d enrollments", count())
	}
	// The trigger starts to hold: the record enrolls again.
	b.update(t, id, map[string]string{"score": "150"})
	b.drain(t)
	if count() != 2 {
		t.Fatalf("after the trigger: %d enrollments", count())
	}
	// Still holding is not a new trigger.
	b.update(t, id, map[string]string{"score": "160"})
	b.drain(t)
	if count() != 2 {
		t.Fatalf("trigger still holding: %d enrollments", count())
	}
}
