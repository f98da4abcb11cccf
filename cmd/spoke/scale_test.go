package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// cluster is one API process (serve --no-engine) and worker processes on
// one PostgreSQL database, with a flow (crashFlow) and n contacts enrolled
// in it.
type cluster struct {
	api        *server
	workers    []*exec.Cmd
	workerLogs []*bytes.Buffer
	workerURLs []string // each worker's /healthz
	flowID     string
	prefix     string // contacts are PREFIX<i>@scale.example
	n          int
	firstIDs   []string  // the ids of the first 20 contacts
	started    time.Time // a second before the enrollment
	dbURL      string
}

// startCluster starts the processes on dbURL, creates n contacts and
// enrolls them all in flow (crashFlow or a variant that computes the same
// values).
func startCluster(t *testing.T, bin, dbURL, flow string, workers, n int, prefix string) *cluster {
	t.Helper()
	env := []string{"SPOKE_ADMIN_TOKEN=scale-test-token", "SPOKE_SECRET_KEY=scale-test-key", "SPOKE_DATABASE_URL=" + dbURL}
	dir, addr := t.TempDir(), freeAddr(t)
	s := &server{t: t, url: "http://" + addr, token: "scale-test-token"}
	s.cmd, s.logs = startProc(t, bin, env, s.url+"/healthz", "serve", "--no-engine", "--addr", addr, "--data", dir)
	c := &cluster{api: s, prefix: prefix, n: n, dbURL: dbURL}
	for i := 0; i < workers; i++ {
		waddr := freeAddr(t)
		health := "http://" + waddr + "/healthz"
		cmd, logs := startProc(t, bin, env, health, "worker", "--addr", waddr, "--data", dir, "--api-url", s.url,
			"--runners", "2", "--lease", "3s")
		c.workers, c.workerLogs, c.workerURLs = append(c.workers, cmd), append(c.workerLogs, logs), append(c.workerURLs, health)
	}
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "n", "label": "N", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < min(from+100, n); i++ {
			inputs = append(inputs, map[string]any{"properties": map[string]string{"email": c.email(i), "n": strconv.Itoa(i)}})
		}
		out := s.do("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs}, 201)
		if from == 0 {
			for _, r := range out["results"].([]any)[:min(20, n)] {
				c.firstIDs = append(c.firstIDs, r.(map[string]any)["id"].(string))
			}
		}
	}
	c.flowID = s.createFlow(flow)
	c.started = time.Now().Add(-time.Second)
	res := s.do("POST", "/automation/v4/flows/"+c.flowID+"/enrollments", map[string]any{"allMatching": true}, 202)
	if got := len(res["enrolled"].([]any)); got != n {
		t.Fatalf("enrolled %d, want %d", got, n)
	}
	return c
}

func (c *cluster) email(i int) string { return fmt.Sprintf("%s%d@scale.example", c.prefix, i) }

// logs returns every process's output, for a failure message.
func (c *cluster) logs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "api:\n%s\n", c.api.logs)
	for i, l := range c.workerLogs {
		fmt.Fprintf(&b, "worker %d:\n%s\n", i, l)
	}
	return b.String()
}

// waitCompleted waits until at least want enrollments completed and
// returns the counts by status; no enrollment may fail.
func (c *cluster) waitCompleted(t *testing.T, want int, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts := c.api.enrollmentCounts(c.flowID)
		if counts["FAILED"] > 0 {
			t.Fatalf("failed enrollments: %v\n%s", counts, c.logs())
		}
		if counts["COMPLETED"] >= want {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d enrollments did not complete in %s: %v\n%s", want, timeout, counts, c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRun checks a finished run of crashFlow over n contacts: every
// record has the values the flow computes, each flow write is in its
// property history exactly once, and action 1 succeeded once per
// enrollment (a run in flight at a failure may have started twice, but
// committed once).
func checkRun(t *testing.T, s *server, flowID string, n int, email func(int) string) {
	t.Helper()
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < min(from+100, n); i++ {
			inputs = append(inputs, map[string]any{"id": email(i)})
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
	var succeeded int
	after := ""
	for {
		page := s.do("GET", "/automation/v4/flows/"+flowID+"/executions?actionId=1&status=SUCCESS&limit=1000&after="+after, nil, 200)
		succeeded += len(page["results"].([]any))
		p, ok := page["paging"].(map[string]any)
		if !ok {
			break
		}
		after = p["next"].(map[string]any)["after"].(string)
	}
	if succeeded != n {
		t.Errorf("%d successful executions of action 1, want %d", succeeded, n)
	}
}

// TestWorkersOnPostgres runs one API process (serve --no-engine) and three
// worker processes on one PostgreSQL database, kills one worker with
// SIGKILL in the middle of a bulk run through a flow with custom code and
// set-property actions, and checks that every enrollment completes and
// that every flow write was committed exactly once. Then the two workers
// left run a staged rollout, and a revert of the flow's jobtitle writes
// that the API process, which runs no engine, was asked for.
func TestWorkersOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server, spoke processes and sandboxes")
	}
	const n = 3000
	bin := buildSpoke(t)
	start := time.Now()
	c := startCluster(t, bin, pgtest.Database(t), crashFlow, 3, n, "w")
	t.Logf("%d contacts created and enrolled in %s", n, time.Since(start).Round(time.Millisecond))
	// Kill one worker once some, not all, enrollments are done.
	counts := c.waitCompleted(t, 1, 90*time.Second)
	if counts["COMPLETED"] == n {
		t.Log("every enrollment finished before the kill")
	}
	t.Logf("killing worker 0 at %v", counts)
	c.workers[0].Process.Signal(syscall.SIGKILL)
	c.workers[0].Wait()
	c.waitCompleted(t, n, 180*time.Second)
	t.Logf("run finished %s after the processes started", time.Since(start).Round(time.Millisecond))
	checkRun(t, c.api, c.flowID, n, c.email)
	checkStagedRollout(t, c)
	checkRevert(t, c)
}

// checkRevert asks the API process, which runs no engine, to revert the
// flow's jobtitle writes, and checks that the workers run the revert to
// its end.
func checkRevert(t *testing.T, c *cluster) {
	t.Helper()
	s := c.api
	job := s.do("POST", "/automation/v4/flows/"+c.flowID+"/revert", map[string]any{"since": c.started.UnixMilli(), "properties": []string{"jobtitle"}, "dryRun": false}, 202)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := s.do("GET", "/automation/v4/flows/"+c.flowID+"/revert/"+job["id"].(string), nil, 200)
		if got["status"] == "COMPLETE" {
			if got["recordsChanged"] != float64(c.n) || got["valuesReverted"] != float64(c.n) {
				t.Fatalf("revert %v", got)
			}
			break
		}
		if got["status"] != "RUNNING" || time.Now().After(deadline) {
			t.Fatalf("revert %v\n%s", got, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := s.do("POST", "/crm/v3/objects/contacts/search", map[string]any{"filterGroups": []any{map[string]any{"filters": []any{
		map[string]any{"propertyName": "jobtitle", "operator": "HAS_PROPERTY"}}}}, "limit": 1}, 200)
	if out["total"] != float64(0) {
		t.Errorf("after the revert %v contacts keep a jobtitle", out["total"])
	}
}

// checkStagedRollout runs a staged rollout by the controllers of the
// workers left: each stage releases its size once, and the rollout
// completes.
func checkStagedRollout(t *testing.T, c *cluster) {
	t.Helper()
	s := c.api
	rolloutStart := time.Now()
	staged := s.createFlow(stagedFlow)
	res := s.do("POST", "/automation/v4/flows/"+staged+"/enrollments", map[string]any{"objectIds": c.firstIDs}, 202)
	if got := len(res["enrolled"].([]any)); got != len(c.firstIDs) {
		t.Fatalf("enrolled %d in the staged flow, want %d", got, len(c.firstIDs))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ro := s.do("GET", "/automation/v4/flows/"+staged+"/rollout", nil, 200)
		counts := s.enrollmentCounts(staged)
		if ro["state"] == "COMPLETE" && counts["COMPLETED"] == len(c.firstIDs) {
			break
		}
		if ro["state"] == "HALTED" || counts["FAILED"] > 0 || time.Now().After(deadline) {
			t.Fatalf("staged rollout: %v, enrollments %v\n%s", ro, counts, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("staged rollout complete in %v", time.Since(rolloutStart).Round(time.Millisecond))
	conn, err := pgx.Connect(context.Background(), c.dbURL)
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
}

// stagedFlow sets a property in a rollout of stages of 3 and 5.
const stagedFlow = `{"name":"staged","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
 "enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
 "rollout":{"stages":[3,5],"maxFailureRate":0,"approval":"auto"},
 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"staticValue":"staged"}}}]}`

// TestPostgresRestart stops PostgreSQL itself in the middle of a bulk run
// on one API process and two workers, checks that the API answers 503
// with Retry-After while it is down (a read, a write, /healthz) and that
// the workers' health says so too, starts it again, and checks that the
// processes reconnect by themselves and every enrollment completes with
// each flow write committed exactly once. The test runs a server of its
// own, since it stops it.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server, spoke processes and sandboxes")
	}
	const n = 400
	bin := buildSpoke(t)
	srv, err := pgtest.Start(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	// The second code action sleeps 100 ms, so the run lasts a few
	// seconds and PostgreSQL stops in its middle, however fast the rest.
	slow := strings.Replace(crashFlow, `async (event, callback) => callback({outputFields: {tag:`,
		`async (event, callback) => { await new Promise(r => setTimeout(r, 100)); callback({outputFields: {tag:`, 1)
	slow = strings.Replace(slow, `event.inputFields.score}});",`, `event.inputFields.score}}); }",`, 1)
	if slow == crashFlow {
		t.Fatal("the slow flow is crashFlow")
	}
	c := startCluster(t, bin, srv.URL("postgres"), slow, 2, n, "r")
	counts := c.waitCompleted(t, 1, 90*time.Second)
	if counts["COMPLETED"] == n {
		t.Fatalf("every enrollment finished before PostgreSQL stopped: %v", counts)
	}
	t.Logf("stopping PostgreSQL at %v", counts)
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	for _, call := range []struct{ method, path, body string }{
		{"GET", "/crm/v3/objects/contacts?limit=1", ""},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"email":"during@scale.example"}}`},
		{"GET", "/automation/v4/flows/" + c.flowID + "/enrollments?limit=1", ""},
		{"GET", "/healthz", ""},
	} {
		req, _ := http.NewRequest(call.method, c.api.url+call.path, strings.NewReader(call.body))
		req.Header.Set("Authorization", "Bearer "+c.api.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s while PostgreSQL is down: %v", call.method, call.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Status, Message, Category string }
		json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			e.Message != "The database is unavailable; retry shortly." || e.Category != "SERVICE_UNAVAILABLE" {
			t.Errorf("%s %s while PostgreSQL is down: %d (Retry-After %q) %s; want 503 with Retry-After and the unavailable message",
				call.method, call.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	for i, u := range c.workerURLs {
		if resp, err := http.Get(u); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("worker %d /healthz while PostgreSQL is down: %v %v, want 503", i, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	// Long enough for the runners' rounds and lease renewals to fail.
	time.Sleep(time.Until(down.Add(2 * time.Second)))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL was down for %s", time.Since(down).Round(time.Millisecond))
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range append([]string{c.api.url + "/healthz"}, c.workerURLs...) {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer 200 after PostgreSQL came back: %v %v\n%s", u, resp, err, c.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.waitCompleted(t, n, 120*time.Second)
	t.Logf("run finished %s after PostgreSQL stopped", time.Since(down).Round(time.Millisecond))
	checkRun(t, c.api, c.flowID, n, c.email)
	// The write refused while the database was down did not happen.
	out := c.api.do("POST", "/crm/v3/objects/contacts/search", map[string]any{"filterGroups": []any{map[string]any{"filters": []any{
		map[string]any{"propertyName": "email", "operator": "EQ", "value": "during@scale.example"}}}}}, 200)
	if out["total"].(float64) != 0 {
		t.Errorf("the contact refused with 503 exists: %v", out)
	}
}

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
