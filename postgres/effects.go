package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Step effects follow the SQLite store (sqlite/effects.go).

// applyEffects applies a step's effects inside its commit: records its
// actions create (with their associations, under the flow's source) and
// static list memberships, whose enrollment triggers run as a write's do.
// A created record's id becomes the action's hs_object_id output and is
// logged on its execution. It returns the first effect that could not be
// applied as an action error (the step's enrollment then fails at that
// action), and whether a created record or a membership enrolled a
// record in a flow.
func (db *DB) applyEffects(ctx context.Context, tx pgx.Tx, st *spoke.Step, now time.Time) (*spoke.ActionError, int, bool, error) {
	e := st.Enrollment
	src := spoke.WriteSource{Type: spoke.SourceAutomation, ID: e.FlowID, EnrollmentID: strconv.FormatInt(e.ID, 10)}
	enrolled := false
	for _, fx := range st.Effects {
		switch {
		case fx.Create != nil:
			res, more, err := db.writeRecords(ctx, tx, e.AccountID, fx.Create.ObjectType, spoke.WriteCreate,
				[]spoke.RecordInput{{Properties: fx.Create.Properties, Associations: fx.Create.Associations}}, src, nil)
			enrolled = enrolled || more
			var se *spoke.Error
			switch {
			case errors.As(err, &se):
				return &spoke.ActionError{Type: "CREATE_FAILED", Message: se.Message}, fx.Execution, enrolled, nil
			case err != nil:
				return nil, 0, enrolled, err
			case res[0].Err != nil:
				return &spoke.ActionError{Type: "CREATE_FAILED", Message: res[0].Err.Message}, fx.Execution, enrolled, nil
			}
			id := strconv.FormatInt(res[0].Record.ID, 10)
			if e.Outputs == nil {
				e.Outputs = map[string]map[string]string{}
			}
			if e.Outputs[fx.ActionID] == nil {
				e.Outputs[fx.ActionID] = map[string]string{}
			}
			e.Outputs[fx.ActionID][spoke.PropObjectID] = id
			if fx.Execution >= 0 && fx.Execution < len(st.Executions) {
				x := st.Executions[fx.Execution]
				if x.Outputs == nil {
					x.Outputs = map[string]any{}
				}
				x.Outputs[spoke.PropObjectID] = id
			}
		case fx.ListID != "":
			l, err := db.getList(ctx, tx, e.AccountID, fx.ListID, false)
			if spoke.ErrorCode(err) == spoke.ENOTFOUND {
				return &spoke.ActionError{Type: "LIST_NOT_FOUND", Message: "List " + fx.ListID + " does not exist."}, fx.Execution, enrolled, nil
			}
			if err != nil {
				return nil, 0, enrolled, err
			}
			if l.ProcessingType == spoke.ListDynamic {
				return &spoke.ActionError{Type: "LIST_NOT_STATIC", Message: "List " + fx.ListID + " is DYNAMIC; only static lists take members from a flow."}, fx.Execution, enrolled, nil
			}
			if l.objectType != e.ObjectType {
				return &spoke.ActionError{Type: "LIST_OBJECT_TYPE", Message: "List " + fx.ListID + " holds " + l.objectType + ", not " + e.ObjectType + "."}, fx.Execution, enrolled, nil
			}
			added, removed, err := setMembership(ctx, tx, l.ID, e.ObjectID, fx.ListAdd, now.UnixMilli())
			if err != nil {
				return nil, 0, enrolled, err
			}
			if added || removed {
				more, err := db.membershipTrigger(ctx, tx, e.AccountID, l, []int64{e.ObjectID}, added, src)
				if err != nil {
					return nil, 0, enrolled, err
				}
				enrolled = enrolled || more
			}
		}
	}
	return nil, 0, enrolled, nil
}
