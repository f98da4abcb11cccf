package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// Alert types.
const (
	AlertRolloutHalted = "ROLLOUT_HALTED"
	AlertFailureRate   = "FAILURE_RATE"
	AlertQuota80       = "QUOTA_80_PERCENT"
	AlertQuota100      = "QUOTA_EXHAUSTED"
	// AlertNotification is a flow's internal notification action (0-9
	// in-app, 0-8 email).
	AlertNotification = "WORKFLOW_NOTIFICATION"
)

// Alert is an event sent to the account's alert webhook, logged and
// counted.
type Alert struct {
	Type       string         `json:"type"`
	AccountID  int64          `json:"portalId"`
	FlowID     string         `json:"flowId,omitempty"`
	OccurredAt string         `json:"occurredAt"`
	Message    string         `json:"message"`
	Details    map[string]any `json:"details,omitempty"`
}

// alertState tracks the alerts being sent. What the checks remember from
// one check to the next is in the store (spoke.AlertCheck), so engines in
// several processes take turns and send each alert once.
type alertState struct {
	inFlight sync.WaitGroup
}

// alertLease is how long an engine may take to check an account before
// another may take the check over.
const alertLease = time.Minute

// alert logs a, counts it and, when the account has an alert webhook,
// sends it there in the background (through Config.HTTP, so the egress
// rules apply), trying three times.
func (e *Engine) alert(ctx context.Context, a Alert) {
	a.OccurredAt = spoke.FormatTime(e.Now())
	e.Logger.Warn("alert: "+a.Message, "event", "alert", "alertType", a.Type, "accountId", a.AccountID, "flowId", a.FlowID)
	if e.Metrics != nil && e.Metrics.Alerts != nil {
		e.Metrics.Alerts.WithLabelValues(a.Type).Inc()
	}
	if e.Alerts == nil {
		return
	}
	s, err := e.Alerts.AlertSettings(ctx, a.AccountID)
	if err != nil {
		if spoke.ErrorCode(err) != spoke.ENOTFOUND {
			e.Logger.Error("read alert settings", "accountId", a.AccountID, "err", err)
		}
		return
	}
	body, err := json.Marshal(a)
	if err != nil {
		e.Logger.Error("encode alert", "err", err)
		return
	}
	e.alerts.inFlight.Add(1)
	go func() {
		defer e.alerts.inFlight.Done()
		for try := 0; try < 3; try++ {
			if try > 0 {
				time.Sleep(time.Duration(try) * time.Second)
			}
			if err := e.postAlert(s.URL, body); err != nil {
				e.Logger.Warn("send alert", "url", s.URL, "alertType", a.Type, "try", try+1, "err", err)
				continue
			}
			return
		}
	}()
}

func (e *Engine) postAlert(url string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Spoke-Alerts/1.0")
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("the alert webhook answered %s", resp.Status)
	}
	return nil
}

// WaitAlerts waits for the alerts being sent.
func (e *Engine) WaitAlerts() { e.alerts.inFlight.Wait() }

// CheckAlerts looks, for every account with an alert webhook, at the
// flows that ran since the last check (failure rate over the account's
// window crossing its threshold) and at the month's quota (80% and 100%,
// each announced once a month). An account another engine is checking is
// left to it.
func (e *Engine) CheckAlerts(ctx context.Context) error {
	return e.checkAlerts(ctx, 0)
}

// checkAlerts is CheckAlerts for accounts not checked in the last every:
// engines in several processes ticking each every checks each account
// about once per every between them.
func (e *Engine) checkAlerts(ctx context.Context, every time.Duration) error {
	if e.Alerts == nil {
		return nil
	}
	all, err := e.Alerts.AllAlertSettings(ctx)
	if err != nil {
		return err
	}
	for _, s := range all {
		if err := e.checkAccount(ctx, s, every); err != nil {
			return err
		}
	}
	return nil
}

// checkAccount claims the account's check, works out the alerts from the
// state the last check saved, saves the new state and, only if the save
// holds (the claim was not lost meanwhile), sends them: an alert may be
// lost to a crash between the save and the send, but is never sent twice.
func (e *Engine) checkAccount(ctx context.Context, s *spoke.AlertSettings, every time.Duration) error {
	now := e.Now()
	lease := spoke.Lease{Token: newToken(), Until: now.Add(alertLease)}
	prev, ok, err := e.Alerts.ClaimAlertCheck(ctx, s.AccountID, lease, now, every)
	if err != nil || !ok {
		return err
	}
	next, alerts, err := e.failureRates(ctx, s, prev)
	if err != nil {
		// Give the check back as it was, so the next tick retries it.
		if _, serr := e.Alerts.SaveAlertCheck(context.WithoutCancel(ctx), s.AccountID, lease, prev, e.Now()); serr != nil {
			e.Logger.Error("give back the alert check", "accountId", s.AccountID, "err", serr)
		}
		return err
	}
	saved, err := e.Alerts.SaveAlertCheck(ctx, s.AccountID, lease, next, e.Now())
	if err != nil || !saved {
		return err
	}
	for _, a := range alerts {
		e.alert(ctx, a)
	}
	return e.checkQuota(ctx, s)
}

// failureRates looks at the flows that ran since prev and returns the
// state to save and the alerts of the flows that crossed their threshold.
func (e *Engine) failureRates(ctx context.Context, s *spoke.AlertSettings, prev *spoke.AlertCheck) (*spoke.AlertCheck, []Alert, error) {
	flows, last, err := e.Alerts.FlowsExecutedSince(ctx, s.AccountID, prev.LastExecution)
	if err != nil {
		return nil, nil, err
	}
	failing := make(map[string]bool, len(prev.Failing))
	for _, id := range prev.Failing {
		failing[id] = true
	}
	var alerts []Alert
	for _, id := range flows {
		failed, total, err := e.Alerts.RecentFailures(ctx, s.AccountID, id, s.FailureWindow)
		if err != nil {
			return nil, nil, err
		}
		over := total >= s.FailureWindow && float64(failed) > s.FailureRate*float64(total)
		if over && !failing[id] {
			alerts = append(alerts, Alert{Type: AlertFailureRate, AccountID: s.AccountID, FlowID: id,
				Message: fmt.Sprintf("Flow %s failed %d of its last %d executions (threshold %.4g).", id, failed, total, s.FailureRate),
				Details: map[string]any{"failed": failed, "executions": total, "threshold": s.FailureRate}})
		}
		if over {
			failing[id] = true
		} else {
			delete(failing, id)
		}
	}
	next := &spoke.AlertCheck{LastExecution: last, Failing: slices.Sorted(maps.Keys(failing))}
	return next, alerts, nil
}

func (e *Engine) checkQuota(ctx context.Context, s *spoke.AlertSettings) error {
	period := spoke.Period(e.Now())
	u, err := e.Store.Usage(ctx, s.AccountID, period)
	if err != nil || u.Limit <= 0 {
		return err
	}
	level, typ := 0, ""
	switch {
	case u.Executions >= u.Limit:
		level, typ = 100, AlertQuota100
	case u.Executions*10 >= u.Limit*8:
		level, typ = 80, AlertQuota80
	default:
		return nil
	}
	fresh, err := e.Alerts.MarkQuotaLevel(ctx, s.AccountID, period, level)
	if err != nil || !fresh {
		return err
	}
	e.alert(ctx, Alert{Type: typ, AccountID: s.AccountID,
		Message: fmt.Sprintf("Custom code executions this month (%s): %d of %d (%d%%).", period, u.Executions, u.Limit, u.Executions*100/u.Limit),
		Details: map[string]any{"period": period, "executions": u.Executions, "limit": u.Limit}})
	return nil
}
