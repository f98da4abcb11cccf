package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// startProc starts a spoke process and waits until health answers 200.
func startProc(t *testing.T, bin string, env []string, health string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, logs
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("spoke %v did not start:\n%s", args, logs)
	return nil, nil
}

// TestWorkersOnPostgres runs one API process (serve --no-engine) and three
// worker processes on one PostgreSQL database, kills one worker with
// SIGKILL in the middle of a bulk run through a flow with custom code and
// set-property actions, and checks that every enrollment completes and
// that every flow write was committed exactly once. Then it asks the API
// process, which runs no engine, to revert the flow's jobtitle writes, and
// checks that the workers run the revert to its end.
func TestWorkersOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server, spoke processes and sandboxes")
	}
	const n = 600
	bin := buildSpoke(t)
	dbURL := pgtest.Database(t)
	env := []string{"SPOKE_ADMIN_TOKEN=scale-test-token", "SPOKE_SECRET_KEY=scale-test-key", "SPOKE_DATABASE_URL=" + dbURL}
	dir, addr := t.TempDir(), freeAddr(t)
	s := &server{t: t, url: "http://" + addr, token: "scale-test-token"}
	s.cmd, s.logs = startProc(t, bin, env, s.url+"/healthz", "serve", "--no-engine", "--addr", addr, "--data", dir)
	var workers []*exec.Cmd
	var workerLogs []*bytes.Buffer
	for i := 0; i < 3; i++ {
		waddr := freeAddr(t)
		cmd, logs := startProc(t, bin, env, "http://"+waddr+"/healthz", "worker", "--addr", waddr, "--data", dir, "--api-url", s.url,
			"--runners", "2", "--lease", "3s")
		workers, workerLogs = append(workers, cmd), append(workerLogs, logs)
	}
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "n", "label": "N", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	var firstIDs []string
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < from+100; i++ {
			inputs = append(inputs, map[string]any{"properties": map[string]string{"email": fmt.Sprintf("w%d@scale.example", i), "n": strconv.Itoa(i)}})
		}
		out := s.do("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs}, 201)
		if from == 0 {
			for _, r := range out["results"].([]any)[:20] {
				firstIDs = append(firstIDs, r.(map[string]any)["id"].(string))
			}
		}
	}
	flowID := s.createFlow(crashFlow)
	started := time.Now().Add(-time.Second)
	res := s.do("POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"allMatching": true}, 202)
	if got := len(res["enrolled"].([]any)); got != n {
		t.Fatalf("enrolled %d, want %d", got, n)
	}
	// Kill one worker once some, not all, enrollments are done.
	deadline := time.Now().Add(90 * time.Second)
	for {
		c := s.enrollmentCounts(flowID)
		if c["COMPLETED"] > 0 {
			if c["COMPLETED"] == n {
				t.Log("every enrollment finished before the kill")
			}
			t.Logf("killing worker 0 at %v", c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no enrollment completed in time: %v\napi:\n%s\nworker:\n%s", c, s.logs, workerLogs[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	workers[0].Process.Signal(syscall.SIGKILL)
	workers[0].Wait()
	deadline = time.Now().Add(180 * time.Second)
	for {
		c := s.enrollmentCounts(flowID)
		if c["FAILED"] > 0 {
			t.Fatalf("failed enrollments: %v\n%s", c, workerLogs[1])
		}
		if c["COMPLETED"] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enrollments did not all complete: %v\n%s", c, workerLogs[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < from+100; i++ {
			inputs = append(inputs, map[string]any{"id": fmt.Sprintf("w%d@scale.example", i)})
		}
		out := s.do("POST", "/crm/v3/objects/contacts/batch/read", map[string]any{"idProperty": "email", "inputs": inputs,
			"properties": []string{"n", "score", "jobtitle"}, "propertiesWithHistory": []string{"score", "jobtitle"}}, 200)
		for _, r := range out["results"].([]any) {
			rec := r.(map[string]any)
			props := rec["properties"].(map[string]any)
			nv, _ := strconv.Atoi(props["n"].(string))
			if props["score"] != strconv.Itoa(nv*3) || props["jobtitle"] != "done-"+strconv.Itoa(nv*3) {
				t.Errorf("record %v: score %v jobtitle %v", rec["id"], props["score"], props["jobtitle"])
			}
			hist := rec["propertiesWithHistory"].(map[string]any)
			for _, name := range []string{"score", "jobtitle"} {
				var flowWrites int
				for _, h := range hist[name].([]any) {
					if h.(map[string]any)["sourceType"] == "AUTOMATION_PLATFORM" {
						flowWrites++
					}
				}
				if flowWrites != 1 {
					t.Errorf("record %v: %d flow writes of %s, want exactly 1", rec["id"], flowWrites, name)
				}
			}
		}
	}

	// A staged rollout run by the controllers of the two workers left:
	// each stage releases its size once, and the rollout completes.
	rolloutStart := time.Now()
	staged := s.createFlow(stagedFlow)
	res = s.do("POST", "/automation/v4/flows/"+staged+"/enrollments", map[string]any{"objectIds": firstIDs}, 202)
	if got := len(res["enrolled"].([]any)); got != len(firstIDs) {
		t.Fatalf("enrolled %d in the staged flow, want %d", got, len(firstIDs))
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		ro := s.do("GET", "/automation/v4/flows/"+staged+"/rollout", nil, 200)
		c := s.enrollmentCounts(staged)
		if ro["state"] == "COMPLETE" && c["COMPLETED"] == len(firstIDs) {
			break
		}
		if ro["state"] == "HALTED" || c["FAILED"] > 0 || time.Now().After(deadline) {
			t.Fatalf("staged rollout: %v, enrollments %v\n%s", ro, c, workerLogs[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("staged rollout complete in %v", time.Since(rolloutStart).Round(time.Millisecond))
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT stage, count(*) FROM rollout_enrollments GROUP BY stage ORDER BY stage`)
	if err != nil {
		t.Fatal(err)
	}
	perStage, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var v [2]int64
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil || fmt.Sprint(perStage) != "[[0 3] [1 5]]" {
		t.Errorf("enrollments released per stage (stage, count) = %v, %v; want [[0 3] [1 5]]", perStage, err)
	}
	// Retention settings are served by the API process.
	s.do("GET", "/automation/v4/settings/retention", nil, 200)

	job := s.do("POST", "/automation/v4/flows/"+flowID+"/revert", map[string]any{"since": started.UnixMilli(), "properties": []string{"jobtitle"}, "dryRun": false}, 202)
	deadline = time.Now().Add(60 * time.Second)
	for {
		got := s.do("GET", "/automation/v4/flows/"+flowID+"/revert/"+job["id"].(string), nil, 200)
		if got["status"] == "COMPLETE" {
			if got["recordsChanged"] != float64(n) || got["valuesReverted"] != float64(n) {
				t.Fatalf("revert %v", got)
			}
			break
		}
		if got["status"] != "RUNNING" || time.Now().After(deadline) {
			t.Fatalf("revert %v\n%s", got, workerLogs[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := s.do("POST", "/crm/v3/objects/contacts/search", map[string]any{"filterGroups": []any{map[string]any{"filters": []any{
		map[string]any{"propertyName": "jobtitle", "operator": "HAS_PROPERTY"}}}}, "limit": 1}, 200)
	if out["total"] != float64(0) {
		t.Errorf("after the revert %v contacts keep a jobtitle", out["total"])
	}
}

// stagedFlow sets a property in a rollout of stages of 3 and 5.
const stagedFlow = `{"name":"staged","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
 "enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
 "rollout":{"stages":[3,5],"maxFailureRate":0,"approval":"auto"},
 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"staticValue":"staged"}}}]}`

// TestSecretKeyOnPostgres starts a worker on PostgreSQL with a key, then
// checks what other processes are told: the same key from a file
// (--secret-key-file) is accepted; another key, or none, is refused with
// an error that says so, and nothing starts.
func TestSecretKeyOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server and spoke processes")
	}
	const hexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	bin := buildSpoke(t)
	dbURL := pgtest.Database(t)
	dir := t.TempDir()
	base := []string{"SPOKE_DATABASE_URL=" + dbURL}
	waddr := freeAddr(t)
	first, _ := startProc(t, bin, append(base, "SPOKE_SECRET_KEY="+hexKey), "http://"+waddr+"/healthz", "worker", "--addr", waddr, "--data", dir)
	keyFile := filepath.Join(t.TempDir(), "spoke.key")
	if err := os.WriteFile(keyFile, []byte(hexKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	faddr := freeAddr(t)
	startProc(t, bin, append(base, "SPOKE_SECRET_KEY="), "http://"+faddr+"/healthz", "worker", "--addr", faddr, "--data", dir, "--secret-key-file", keyFile)
	first.Process.Signal(syscall.SIGTERM)
	first.Wait()

	for _, tc := range []struct {
		env, want string
	}{
		{"SPOKE_SECRET_KEY=another passphrase", "is not the one this database's secrets were encrypted with"},
		{"SPOKE_SECRET_KEY=", "SPOKE_SECRET_KEY or --secret-key-file must be set"},
	} {
		cmd := exec.Command(bin, "worker", "--addr", freeAddr(t), "--data", dir)
		cmd.Env = append(append(os.Environ(), base...), tc.env)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s: the worker started", tc.env)
		}
		if err == nil || !bytes.Contains(out, []byte(tc.want)) || bytes.Contains(out, []byte("another passphrase")) {
			t.Errorf("%s: %v\n%s", tc.env, err, out)
		}
	}
}
