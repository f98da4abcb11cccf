package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spokehq/spoke"
)

// FlowWebhooks serves flows' inbound webhooks (the webhook-received
// event of EVENT_BASED enrollment); *sqlite.DB implements it.
type FlowWebhooks interface {
	// FlowWebhookToken returns a flow's webhook token, making one the
	// first time (or a new one with rotate).
	FlowWebhookToken(ctx context.Context, account int64, flowID string, rotate bool) (string, error)
	// FlowWebhookAccount finds the account of a flow's webhook by token.
	FlowWebhookAccount(ctx context.Context, flowID, token string) (int64, error)
	// WebhookReceived raises the flow's webhook event on a record.
	WebhookReceived(ctx context.Context, account int64, flowID string, recordID int64, body json.RawMessage) (bool, error)
}

// flowWebhookRoutes serves the inbound webhook of flows: its address
// (with the automation scope) and the address itself, which takes no
// token but the secret in its path.
func (s *Server) flowWebhookRoutes() []route {
	return []route{
		reads("GET /automation/v4/flows/{flowId}/webhook", s.getFlowWebhook),
		writes("POST /automation/v4/flows/{flowId}/webhook/rotate", s.rotateFlowWebhook),
		public(writes("POST /automation/v4/flows/{flowId}/webhook/{token}", s.receiveFlowWebhook)),
	}
}

func (s *Server) webhookAddress(w http.ResponseWriter, r *http.Request, rotate bool) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	id := r.PathValue("flowId")
	token, err := s.FlowWebhooks.FlowWebhookToken(r.Context(), account(r), id, rotate)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/automation/v4/flows/%s/webhook/%s", id, token)
	writeJSON(w, http.StatusOK, map[string]string{"flowId": id, "token": token, "path": path, "url": s.origin(r) + path})
	return nil
}

func (s *Server) getFlowWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAddress(w, r, false)
}

func (s *Server) rotateFlowWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAddress(w, r, true)
}

// receiveFlowWebhook takes a JSON object and raises the flow's webhook
// event on the record it names: "objectId" in the body, or, with
// ?idProperty=email, the record whose email is the body's "email". The
// flow's actions read the body with ENROLLMENT_EVENT_PROPERTY values.
func (s *Server) receiveFlowWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx, flowID := r.Context(), r.PathValue("flowId")
	acct, err := s.FlowWebhooks.FlowWebhookAccount(ctx, flowID, r.PathValue("token"))
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decode(r, &raw); err != nil {
		return err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return spoke.Invalidf("The webhook body must be a JSON object.")
	}
	f, err := s.Flows.GetFlow(ctx, acct, flowID)
	if err != nil {
		return err
	}
	t, ok := spoke.LookupObjectType(f.ObjectTypeID)
	if !ok {
		t = spoke.ObjectType{ID: f.ObjectTypeID, Name: f.ObjectTypeID}
	}
	key, idProp := "objectId", r.URL.Query().Get("idProperty")
	if idProp != "" {
		key = idProp
	}
	var id string
	switch v := body[key].(type) {
	case string:
		id = v
	case float64:
		id = fmt.Sprintf("%.0f", v)
	}
	if id == "" {
		return spoke.Invalidf("The webhook body must name the record: %q is missing.", key)
	}
	recs, err := s.Records.GetRecords(ctx, acct, t.Name, []string{id}, spoke.ReadOptions{IDProperty: idProp})
	if err != nil {
		return err
	}
	rec := recs[id]
	if rec == nil {
		return spoke.NotFoundf("No %s matches %s %q.", t.Singular, key, id)
	}
	enrolled, err := s.FlowWebhooks.WebhookReceived(ctx, acct, flowID, rec.ID, raw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"objectId": fmt.Sprint(rec.ID), "enrolled": enrolled})
	return nil
}
