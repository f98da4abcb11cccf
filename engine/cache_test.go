package engine

import (
	"context"
	"testing"

	"github.com/spokehq/spoke"
)

// slowFlows is memFlows whose first EnabledFlows call reads the flows, then
// waits for release before answering, as a query can while a flow changes.
type slowFlows struct {
	*memFlows
	started, release chan struct{}
	calls            int
}

func (s *slowFlows) EnabledFlows(ctx context.Context, account int64, typ string) ([]*spoke.Flow, error) {
	list, err := s.memFlows.EnabledFlows(ctx, account, typ)
	s.calls++
	if s.calls == 1 {
		close(s.started)
		<-s.release
	}
	return list, err
}

// A trigger list loaded while a flow was created must not be kept: the new
// flow would never enroll anything until the next flow change.
func TestTriggerCacheLoadRacingFlowChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	slow := &slowFlows{memFlows: b.flows, started: make(chan struct{}), release: make(chan struct{})}
	b.eng.Flows = slow
	change := spoke.RecordChange{AccountID: b.account, ObjectType: "contacts", RecordID: 1, After: map[string]string{"n": "5"}}
	done := make(chan []spoke.EnrollmentTrigger)
	go func() { done <- b.eng.Trigger(change) }()
	<-slow.started
	b.flows.put(parseFlow(t, "30", scoreFlow)) // created while the load runs
	b.eng.FlowsChanged()
	close(slow.release)
	if got := <-done; len(got) != 0 {
		t.Fatalf("the racing load saw the new flow: %v", got)
	}
	if got := b.eng.Trigger(change); len(got) != 1 || got[0].FlowID != "30" {
		t.Fatalf("after the change, triggers = %v, want flow 30", got)
	}
}
