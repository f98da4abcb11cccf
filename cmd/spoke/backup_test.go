package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spokehq/spoke/sqlite"
)

// backupKey is a passphrase: the restored database must carry the scrypt
// salt for the same passphrase to open its secrets.
const backupKey = "SPOKE_SECRET_KEY=backup test passphrase"

// snapshot is what a database holds, as sets of keys per table.
type snapshot map[string][]string

// readSnapshot lists the keys of the rows that must survive a backup.
func readSnapshot(t *testing.T, path string) snapshot {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := snapshot{}
	for name, q := range map[string]string{
		"records":     `SELECT id FROM records`, // their properties change as the run goes on
		"flows":       `SELECT flow_id || ':' || revision || ':' || length(document) FROM flow_revisions`,
		"executions":  `SELECT id || ':' || enrollment_id || ':' || n || ':' || failed FROM execution_steps`,
		"secrets":     `SELECT account_id || ':' || name || ':' || hex(value) FROM secrets`,
		"enrollments": `SELECT id FROM enrollments`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], k)
		}
		rows.Close()
		sort.Strings(out[name])
	}
	return out
}

// TestBackupDuringBulkRun backs up a serving Spoke while its engine runs a
// bulk run, checks that a restore over the live database is refused,
// restores into a fresh directory, and checks that every record, flow,
// execution and secret committed before the backup started is in it, that
// the secrets decrypt under the same key (and a server with another key
// refuses to start), and that the restored server finishes the run.
func TestBackupDuringBulkRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers and sandboxes")
	}
	const n = 400
	bin := buildSpoke(t)
	dir, addr := t.TempDir(), freeAddr(t)
	s := startServer(t, bin, dir, addr, backupKey)
	defer func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	}()
	s.do("PUT", "/automation/v4/secrets/BACKUP_SECRET", map[string]string{"value": "kept-across-restore"}, 200)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "n", "label": "N", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < from+100; i++ {
			inputs = append(inputs, map[string]any{"properties": map[string]string{"email": fmt.Sprintf("b%d@backup.example", i), "n": strconv.Itoa(i)}})
		}
		s.do("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs}, 201)
	}
	// The bulk flow's first code action takes 300 ms, so the run is still
	// going when the backup is taken.
	bulk := s.createFlow(strings.Replace(crashFlow,
		"exports.main = async (event, callback) => callback({outputFields: {score: event.inputFields.n * 3}});",
		"exports.main = async (event, callback) => { await new Promise(r => setTimeout(r, 300)); callback({outputFields: {score: event.inputFields.n * 3}}); };", 1))
	secretFlow := s.createFlow(`{"name":"secret check","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
 "enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
 "actions":[{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","secretNames":["BACKUP_SECRET"],
   "sourceCode":"exports.main = async (event, callback) => callback({outputFields: {ok: process.env.BACKUP_SECRET === 'kept-across-restore'}});",
   "inputFields":[],"outputFields":[{"name":"ok","type":"BOOL"}]}]}`)
	s.do("POST", "/automation/v4/flows/"+bulk+"/enrollments", map[string]any{"allMatching": true}, 202)
	deadline := time.Now().Add(60 * time.Second)
	for len(readSnapshot(t, filepath.Join(dir, sqlite.FileName))["executions"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no execution was committed:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	before := readSnapshot(t, filepath.Join(dir, sqlite.FileName))
	out := filepath.Join(t.TempDir(), "spoke.backup")
	if msg, err := exec.Command(bin, "backup", "--data", dir, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("spoke backup: %v\n%s", err, msg)
	}
	c := s.enrollmentCounts(bulk)
	t.Logf("backed up during the run: %d executions before the backup; enrollments now %v", len(before["executions"]), c)
	if len(before["executions"]) >= 4*n {
		t.Fatal("the run was over before the backup; it must be taken during the run")
	}
	if msg, err := exec.Command(bin, "backup", "--data", dir, "--out", out).CombinedOutput(); err == nil {
		t.Errorf("a second backup overwrote %s: %s", out, msg)
	}

	// The live database cannot be restored over.
	msg, err := exec.Command(bin, "restore", "--backup", out, "--data", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "in use") {
		t.Fatalf("restore over a running server: %v\n%s", err, msg)
	}

	fresh := t.TempDir()
	if msg, err := exec.Command(bin, "restore", "--backup", out, "--data", fresh).CombinedOutput(); err != nil {
		t.Fatalf("spoke restore: %v\n%s", err, msg)
	}
	after := readSnapshot(t, filepath.Join(fresh, sqlite.FileName))
	for table, keys := range before {
		have := map[string]bool{}
		for _, k := range after[table] {
			have[k] = true
		}
		var missing []string
		for _, k := range keys {
			if !have[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: %d of %d rows committed before the backup are missing from it, e.g. %.200s", table, len(missing), len(keys), missing[0])
		}
	}
	if len(before["records"]) < n || len(before["flows"]) != 2 || len(before["secrets"]) != 1 || len(before["executions"]) == 0 {
		t.Fatalf("snapshot before the backup is short: %d records, %d flows, %d secrets, %d executions",
			len(before["records"]), len(before["flows"]), len(before["secrets"]), len(before["executions"]))
	}

	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()

	// Another key is refused: the restored secrets were sealed under this one.
	wrong := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data", fresh)
	wrong.Env = append(wrong.Environ(), "SPOKE_SECRET_KEY=another passphrase")
	var wrongOut bytes.Buffer
	wrong.Stdout, wrong.Stderr = &wrongOut, &wrongOut
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); wrong.Process.Kill() }()
	if err := wrong.Run(); err == nil || !strings.Contains(wrongOut.String(), "secret key") {
		t.Errorf("serve with another key: %v\n%s", err, wrongOut.String())
	}

	r := startServer(t, bin, fresh, freeAddr(t), backupKey)
	defer func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		r.cmd.Wait()
	}()
	var id string
	for _, k := range before["records"] {
		id, _, _ = strings.Cut(k, ":")
		break
	}
	test := r.do("POST", "/automation/v4/flows/"+secretFlow+"/actions/1/test", map[string]any{"objectId": id}, 200)
	if test["status"] != "SUCCESS" || test["outputFields"].(map[string]any)["ok"] != true {
		t.Errorf("the restored secret does not decrypt to its value: %v", test)
	}
	deadline = time.Now().Add(120 * time.Second)
	for {
		c := r.enrollmentCounts(bulk)
		if c["FAILED"] > 0 {
			t.Fatalf("failed enrollments after the restore: %v\n%s", c, r.logs)
		}
		if c["COMPLETED"] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restored server did not finish the run: %v\n%s", c, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createFlow creates a flow from its JSON and returns its id.
func (s *server) createFlow(body string) string {
	s.t.Helper()
	return s.do("POST", "/automation/v4/flows", json.RawMessage(body), 201)["id"].(string)
}
