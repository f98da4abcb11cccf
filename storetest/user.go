package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"UsersFollowOwners", testUsersFollowOwners})
}

// testUsersFollowOwners checks the users object: a record per owner's user,
// kept in step with the owner, searchable, updatable only in its writable
// properties, and never created or archived through the objects API.
func testUsersFollowOwners(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	teams := []string{"EMEA"}
	o, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("ana@example.com"), FirstName: str("Ana"), LastName: str("Lima"), Teams: &teams})
	if err != nil {
		t.Fatal(err)
	}
	find := func(archived bool) *spoke.Record {
		t.Helper()
		recs, _, err := db.ListRecords(ctx, acct, "0-115", spoke.ListOptions{Limit: 10, Archived: archived})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("users (archived %v) = %d records, want 1", archived, len(recs))
		}
		return recs[0]
	}
	u := find(false)
	want := map[string]string{"hs_internal_user_id": strconv.FormatInt(o.UserID, 10), "hs_email": "ana@example.com", "hs_given_name": "Ana",
		"hs_family_name": "Lima", spoke.PropOwnerID: strconv.FormatInt(o.ID, 10), spoke.PropTeamID: strconv.FormatInt(o.Teams[0].ID, 10), "hs_deactivated": "false"}
	for k, v := range want {
		if u.Properties[k] != v {
			t.Errorf("user %s = %q, want %q", k, u.Properties[k], v)
		}
	}
	if u.ID == o.UserID {
		t.Errorf("the record id is the user id; HubSpot's differ")
	}

	// Search by email, as the object search does.
	res, err := db.SearchRecords(ctx, acct, "users", spoke.SearchRequest{Limit: 10, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "hs_email", Operator: "EQ", Value: "ANA@example.com"}}}}})
	if err != nil || res.Total != 1 || res.Records[0].ID != u.ID {
		t.Fatalf("search users by email = %+v %v", res, err)
	}

	// Writable properties update; the owner's do not.
	uid := strconv.FormatInt(u.ID, 10)
	out, err := db.WriteRecords(ctx, acct, "users", spoke.WriteUpdate, []spoke.RecordInput{{ID: uid, Properties: props("hs_job_title", "AE", "hs_availability_status", "away")}}, apiSrc)
	if err != nil || out[0].Err != nil || out[0].Record.Properties["hs_job_title"] != "AE" {
		t.Fatalf("update job title: %+v %v", out, err)
	}
	out, err = db.WriteRecords(ctx, acct, "users", spoke.WriteUpdate, []spoke.RecordInput{{ID: uid, Properties: props("hs_email", "x@example.com")}}, apiSrc)
	if err != nil || out[0].Err == nil || !strings.Contains(out[0].Err.Message, "READ_ONLY_VALUE") {
		t.Fatalf("update email: %+v %v", out, err)
	}
	for name, err := range map[string]error{
		"create": func() error {
			_, err := db.WriteRecords(ctx, acct, "users", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("hs_job_title", "x")}}, apiSrc)
			return err
		}(),
		"archive": db.ArchiveRecords(ctx, acct, "users", []string{uid}),
		"purge":   db.PurgeRecord(ctx, acct, "users", uid, ""),
	} {
		if code(err) != spoke.EINVALID {
			t.Errorf("%s of a user: %v, want EINVALID", name, err)
		}
	}

	// The owner's changes reach the user, with history.
	if _, err := db.UpdateOwner(ctx, acct, o.ID, spoke.OwnerInput{LastName: str("Silva")}); err != nil {
		t.Fatal(err)
	}
	got := get(t, db, acct, "users", uid, spoke.ReadOptions{WithHistory: []string{"hs_family_name"}})
	if got.Properties["hs_family_name"] != "Silva" || got.Properties["hs_job_title"] != "AE" || len(got.History["hs_family_name"]) != 2 {
		t.Errorf("after the owner's update: %v, history %v", got.Properties, got.History["hs_family_name"])
	}
	if err := db.ArchiveOwner(ctx, acct, o.ID); err != nil {
		t.Fatal(err)
	}
	if a := find(true); a.ID != u.ID || a.Properties["hs_deactivated"] != "true" {
		t.Errorf("archived user = %+v", a)
	}
}
