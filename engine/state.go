package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// flowCache keeps flow revisions (immutable, so cached forever) and, per
// account and object type, the enabled flows with LIST_BASED criteria that
// triggers evaluate.
type flowCache struct {
	engine *Engine

	mu        sync.RWMutex
	revisions map[string]*spoke.Flow
	triggers  map[triggerKey][]*spoke.Flow
	// deleted says, per account/flow, whether the flow was deleted. gen
	// counts FlowsChanged calls, so a load (of triggers or deleted) that
	// raced with one is not kept.
	deleted map[string]bool
	gen     uint64
}

type triggerKey struct {
	account int64
	typ     string
}

func (c *flowCache) revision(ctx context.Context, account int64, flowID, revision string) (*spoke.Flow, error) {
	key := fmt.Sprintf("%d/%s/%s", account, flowID, revision)
	c.mu.RLock()
	f, ok := c.revisions[key]
	c.mu.RUnlock()
	if ok {
		return f, nil
	}
	f, err := c.engine.Flows.GetFlowRevision(ctx, account, flowID, revision)
	if err != nil {
		return nil, fmt.Errorf("load flow %s revision %s: %w", flowID, revision, err)
	}
	c.mu.Lock()
	if c.revisions == nil {
		c.revisions = map[string]*spoke.Flow{}
	}
	c.revisions[key] = f
	c.mu.Unlock()
	return f, nil
}

// isDeleted reports whether a flow was deleted (its revisions can still be
// read, but its enrollments must stop).
func (c *flowCache) isDeleted(ctx context.Context, account int64, flowID string) (bool, error) {
	key := fmt.Sprintf("%d/%s", account, flowID)
	c.mu.RLock()
	gone, ok := c.deleted[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return gone, nil
	}
	_, err := c.engine.Flows.GetFlow(ctx, account, flowID)
	switch {
	case err == nil:
	case spoke.ErrorCode(err) == spoke.ENOTFOUND:
		gone = true
	default:
		return false, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.deleted == nil {
			c.deleted = map[string]bool{}
		}
		c.deleted[key] = gone
	}
	c.mu.Unlock()
	return gone, nil
}

// listBased returns the enabled LIST_BASED flows of an object type, and
// the EVENT_BASED ones with an event Spoke raises.
func (c *flowCache) listBased(ctx context.Context, account int64, objectType string) ([]*spoke.Flow, error) {
	k := triggerKey{account, objectType}
	c.mu.RLock()
	flows, ok := c.triggers[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return flows, nil
	}
	all, err := c.engine.Flows.EnabledFlows(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	flows = flows[:0]
	for _, f := range all {
		if f.EnrollmentCriteria != nil && f.EnrollmentCriteria.Type == spoke.EnrollListBased && f.EnrollmentCriteria.ListFilterBranch != nil {
			flows = append(flows, f)
		}
		if f.EnrollmentCriteria != nil && f.EnrollmentCriteria.Type == spoke.EnrollEvent && raisesEvents(f.EnrollmentCriteria) {
			flows = append(flows, f)
		}
	}
	c.mu.Lock()
	if c.gen == gen { // no flow changed while loading: the list is current
		if c.triggers == nil {
			c.triggers = map[triggerKey][]*spoke.Flow{}
		}
		c.triggers[k] = flows
	}
	c.mu.Unlock()
	return flows, nil
}

// FlowsChanged drops the cached trigger lists; call it after a flow is
// created, replaced or deleted.
func (e *Engine) FlowsChanged() {
	e.cache.mu.Lock()
	e.cache.triggers, e.cache.deleted = nil, nil
	e.cache.gen++
	e.cache.mu.Unlock()
}

// raisesEvents reports whether EVENT_BASED criteria have a branch of an
// event Spoke raises.
func raisesEvents(ec *spoke.EnrollmentCriteria) bool {
	for _, b := range ec.EventFilterBranches {
		if flow.RaisedEvent(b.EventTypeID) {
			return true
		}
	}
	return false
}
