package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// server is a `spoke serve` process started by a test.
type server struct {
	t     *testing.T
	cmd   *exec.Cmd
	url   string
	token string
	logs  *bytes.Buffer
}

// buildSpoke builds the spoke binary once per test run.
func buildSpoke(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "spoke")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, bin, dir, addr string, env ...string) *server {
	t.Helper()
	s := &server{t: t, url: "http://" + addr, token: "crash-test-token", logs: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "serve", "--addr", addr, "--data", dir)
	s.cmd.Env = append(append(os.Environ(), "SPOKE_ADMIN_TOKEN="+s.token), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	t.Fatalf("spoke did not start:\n%s", s.logs)
	return nil
}

func (s *server) do(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, out)
	}
	var v map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &v); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return v
}

// enrollmentCounts pages through a flow's enrollments.
func (s *server) enrollmentCounts(flowID string) map[string]int {
	counts := map[string]int{}
	after := ""
	for {
		page := s.do("GET", "/automation/v4/flows/"+flowID+"/enrollments?limit=1000&after="+after, nil, 200)
		for _, r := range page["results"].([]any) {
			counts[r.(map[string]any)["status"].(string)]++
		}
		p, ok := page["paging"].(map[string]any)
		if !ok {
			return counts
		}
		after = p["next"].(map[string]any)["after"].(string)
	}
}

const crashFlow = `{"name":"crash","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
 "enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
 "actions":[
  {"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","secretNames":[],
   "sourceCode":"exports.main = async (event, callback) => callback({outputFields: {score: event.inputFields.n * 3}});",
   "inputFields":[{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}],
   "outputFields":[{"name":"score","type":"NUMBER"}],"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"score","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"score"}},
   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
  {"type":"CUSTOM_CODE","actionId":"3","runtime":"NODE20X","secretNames":[],
   "sourceCode":"exports.main = async (event, callback) => callback({outputFields: {tag: 'done-' + event.inputFields.score}});",
   "inputFields":[{"name":"score","value":{"type":"OBJECT_PROPERTY","propertyName":"score"}}],
   "outputFields":[{"name":"tag","type":"STRING"}],"connection":{"edgeType":"STANDARD","nextActionId":"4"}},
  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"type":"FIELD_DATA","actionId":"3","dataKey":"tag"}}}
 ]}`

// TestKillNineDuringBulkRun kills a serving Spoke with SIGKILL in the middle
// of a bulk run, restarts it on the same data directory, and checks that
// every enrollment completed and that every flow write happened exactly
// once.
func TestKillNineDuringBulkRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers and sandboxes")
	}
	const n = 3000
	bin := buildSpoke(t)
	dir, addr := t.TempDir(), freeAddr(t)
	s := startServer(t, bin, dir, addr)
	defer func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	}()
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "n", "label": "N", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	for from := 0; from < n; from += 100 {
		var inputs []map[string]any
		for i := from; i < from+100; i++ {
			inputs = append(inputs, map[string]any{"properties": map[string]string{"email": fmt.Sprintf("k%d@crash.example", i), "n": strconv.Itoa(i)}})
		}
		s.do("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs}, 201)
	}
	var fl map[string]any
	{
		req, _ := http.NewRequest("POST", s.url+"/automation/v4/flows", bytes.NewReader([]byte(crashFlow)))
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("create flow: %d %s", resp.StatusCode, body)
		}
		json.Unmarshal(body, &fl)
	}
	flowID := fl["id"].(string)
	res := s.do("POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"allMatching": true}, 202)
	if got := len(res["enrolled"].([]any)); got != n {
		t.Fatalf("enrolled %d, want %d", got, n)
	}
	// Kill once some, but not all, enrollments are done.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c := s.enrollmentCounts(flowID)
		if c["COMPLETED"] > 0 {
			if c["COMPLETED"] == n {
				t.Log("every enrollment finished before the kill; the restart still checks exactly-once")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no enrollment completed in time: %v\n%s", c, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
	before := 0
	t.Logf("killed with SIGKILL")

	s = startServer(t, bin, dir, addr)
	defer func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	}()
	deadline = time.Now().Add(120 * time.Second)
	for {
		c := s.enrollmentCounts(flowID)
		if c["FAILED"] > 0 {
			t.Fatalf("failed enrollments after restart: %v", c)
		}
		if c["COMPLETED"] == n {
			break
		}
		if before == 0 {
			before = c["COMPLETED"]
			t.Logf("after restart: %v", c)
		}
		if time.Now().After(deadline) {
			t.Fatalf("enrollments did not all complete after restart: %v\n%s", c, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkRun(t, s, flowID, n, func(i int) string { return fmt.Sprintf("k%d@crash.example", i) })
}
