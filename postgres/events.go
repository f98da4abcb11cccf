package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Flows' events follow the SQLite store (sqlite/events.go): an event
// (an association added, a webhook received, or the change a write's
// trigger saw) enrolls the record in the flows whose EVENT_BASED criteria
// it raises, and the event is kept with the enrollment for its
// ENROLLMENT_EVENT_PROPERTY values.

// enrollEvent enrolls a record for a trigger inside tx and keeps the
// trigger's event with the new enrollment.
func enrollEvent(ctx context.Context, tx pgx.Tx, account int64, t spoke.EnrollmentTrigger, objectType string, id, now int64) (bool, error) {
	ok, _, err := enrollOne(ctx, tx, account, t.FlowID, t.RevisionID, objectType, id, t.ReEnroll, t.Staged, now)
	if err != nil || !ok || t.Event == nil {
		return ok, err
	}
	// enrollOne holds the (flow, record) lock until tx ends, so the
	// newest enrollment of the pair is the one it made.
	if _, err := tx.Exec(ctx, `INSERT INTO enrollment_events (enrollment_id, event)
		SELECT max(id), $3 FROM enrollments WHERE flow_id = $1 AND object_id = $2`, t.FlowID, id, string(t.Event)); err != nil {
		return false, fmt.Errorf("keep the event of an enrollment in flow %s: %w", t.FlowID, err)
	}
	return true, nil
}

// raiseEvent runs the enrollment triggers of an event on a live record
// inside tx, and reports whether it enrolled the record anywhere.
func (db *DB) raiseEvent(ctx context.Context, tx pgx.Tx, account int64, id int64, ev *spoke.RecordEvent, src spoke.WriteSource) (bool, error) {
	fn, _ := db.hooks()
	if fn == nil {
		return false, nil
	}
	rec, err := scanRecord(tx.QueryRow(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND id = $2 AND NOT archived`, account, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read record %d for an event: %w", id, err)
	}
	ch := spoke.RecordChange{AccountID: account, ObjectType: rec.ObjectType, RecordID: id, Before: rec.Properties, After: rec.Properties,
		Source: src, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, BeforeUpdatedAt: rec.UpdatedAt, Event: ev}
	enrolled := false
	now := db.nowMs()
	for _, t := range fn(ch) {
		ok, err := enrollEvent(ctx, tx, account, t, rec.ObjectType, id, now)
		if err != nil {
			return false, err
		}
		enrolled = enrolled || ok
	}
	return enrolled, nil
}

// associationAdded raises association-added events on both records.
func (db *DB) associationAdded(ctx context.Context, tx pgx.Tx, account int64, fromType string, fromID int64, toType string, toID int64, types []spoke.AssociationType) (bool, error) {
	enrolled := false
	for _, end := range []struct {
		id, other int64
		otherType string
		typeID    int
	}{{fromID, toID, toType, types[0].TypeID}, {toID, fromID, fromType, spoke.PairedAssociationTypeID(types[0].TypeID)}} {
		ot, _ := spoke.LookupObjectType(end.otherType)
		otherTypeID := ot.ID
		if otherTypeID == "" {
			otherTypeID = end.otherType // a custom object's name is its id
		}
		ev := &spoke.RecordEvent{Type: spoke.EventAssociationAdded, Properties: map[string]string{
			"toObjectTypeId": otherTypeID, "toObjectId": strconv.FormatInt(end.other, 10),
			"associationTypeId": strconv.Itoa(end.typeID), "associationCategory": types[0].Category,
		}}
		ok, err := db.raiseEvent(ctx, tx, account, end.id, ev, spoke.WriteSource{Type: spoke.SourceAPI})
		if err != nil {
			return false, err
		}
		enrolled = enrolled || ok
	}
	return enrolled, nil
}

// WebhookReceived raises a flow's webhook event on a record: the record
// enrolls in the flow when the flow is enabled and its webhook branch's
// filters hold for the body. It reports whether the record enrolled.
func (db *DB) WebhookReceived(ctx context.Context, account int64, flowID string, recordID int64, body json.RawMessage) (bool, error) {
	var enrolled bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		enrolled, err = db.raiseEvent(ctx, tx, account, recordID,
			&spoke.RecordEvent{Type: spoke.EventWebhookReceived, FlowID: flowID, Body: body}, spoke.WriteSource{Type: spoke.SourceAPI, ID: flowID})
		return err
	})
	if err != nil {
		return false, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return enrolled, nil
}

// EnrollmentEvent returns the event that enrolled a record, or nil when
// an event did not.
func (db *DB) EnrollmentEvent(ctx context.Context, enrollmentID int64) (json.RawMessage, error) {
	var ev string
	err := db.pool.QueryRow(ctx, `SELECT event FROM enrollment_events WHERE enrollment_id = $1`, enrollmentID).Scan(&ev)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the event of enrollment %d: %w", enrollmentID, err)
	}
	return json.RawMessage(ev), nil
}

// FlowWebhookToken returns the secret token of a flow's inbound webhook,
// making one the first time (or a new one with rotate). ENOTFOUND for a
// flow that does not exist.
func (db *DB) FlowWebhookToken(ctx context.Context, account int64, flowID string, rotate bool) (string, error) {
	if _, err := db.GetFlow(ctx, account, flowID); err != nil {
		return "", err
	}
	var token string
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT token FROM flow_webhooks WHERE flow_id = $1 AND account_id = $2 FOR UPDATE`, flowID, account).Scan(&token)
		if err == nil && !rotate {
			return nil
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		token = hex.EncodeToString(b)
		// A token another process made at the same time wins over ours
		// unless this is a rotation.
		q := `INSERT INTO flow_webhooks (flow_id, account_id, token, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (flow_id) DO NOTHING RETURNING token`
		if rotate {
			q = `INSERT INTO flow_webhooks (flow_id, account_id, token, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (flow_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at RETURNING token`
		}
		err = tx.QueryRow(ctx, q, flowID, account, token, db.nowMs()).Scan(&token)
		if errors.Is(err, pgx.ErrNoRows) {
			return tx.QueryRow(ctx, `SELECT token FROM flow_webhooks WHERE flow_id = $1 AND account_id = $2`, flowID, account).Scan(&token)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("flow %s webhook token: %w", flowID, err)
	}
	return token, nil
}

// FlowWebhookAccount returns the account of a flow whose webhook token is
// token; ENOTFOUND when none is.
func (db *DB) FlowWebhookAccount(ctx context.Context, flowID, token string) (int64, error) {
	var account int64
	err := db.pool.QueryRow(ctx, `SELECT account_id FROM flow_webhooks WHERE flow_id = $1 AND token = $2`, flowID, token).Scan(&account)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, spoke.NotFoundf("No flow webhook at this address.")
	}
	if err != nil {
		return 0, fmt.Errorf("find flow webhook: %w", err)
	}
	return account, nil
}
