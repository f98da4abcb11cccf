package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevLoopEndToEnd is the README's five commands against a real
// server: spoke init, spoke test, spoke flows apply (twice: the second
// changes nothing), then a contact is enrolled and the flow's code and
// set-property action run.
func TestDevLoopEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spoke and starts a real server and sandboxes")
	}
	bin := buildSpoke(t)
	srv := startServer(t, bin, t.TempDir(), freeAddr(t))
	t.Cleanup(func() {
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
	})
	work := t.TempDir()
	spoke := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "SPOKE_URL="+srv.url, "SPOKE_TOKEN="+srv.token,
			"SPOKE_SANDBOX_NODE_MODULES="+nodeModules(t))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("spoke %v: %v", args, err)
		}
		return string(out), code
	}
	if out, code := spoke("init", "leads"); code != 0 || !strings.Contains(out, "created leads/flow.yaml") {
		t.Fatalf("init: %d\n%s", code, out)
	}
	if out, code := spoke("test", "leads"); code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Fatalf("test: %d\n%s", code, out)
	}
	if out, code := spoke("flows", "diff", "leads"); code != 1 || !strings.Contains(out, "2 to create") {
		t.Fatalf("diff before apply: %d\n%s", code, out)
	}
	if out, code := spoke("flows", "apply", "leads"); code != 0 || !strings.Contains(out, "Applied 2 change(s).") {
		t.Fatalf("apply: %d\n%s", code, out)
	}
	if out, code := spoke("flows", "apply", "leads", "--url", srv.url, "--token", srv.token); code != 0 || !strings.Contains(out, "Nothing to change.") {
		t.Fatalf("second apply: %d\n%s", code, out)
	}
	flows := srv.do("GET", "/automation/v4/flows", nil, 200)["results"].([]any)
	if len(flows) != 1 {
		t.Fatalf("flows on the server: %v", flows)
	}
	flowID := flows[0].(map[string]any)["id"].(string)
	contact := srv.do("POST", "/crm/v3/objects/contacts", map[string]any{"properties": map[string]string{
		"email": "ada@engines.example", "jobtitle": "Founder"}}, 201)["id"].(string)
	srv.do("POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"objectIds": []string{contact}}, 202)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := srv.do("GET", "/crm/v3/objects/contacts/"+contact+"?properties=lead_score", nil, 200)
		if c["properties"].(map[string]any)["lead_score"] == "100" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow did not set lead_score: %v\n%s", c, srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The flow folder was recorded against this server.
	if b, err := os.ReadFile(filepath.Join(work, "leads", ".spoke-sync.json")); err != nil || !strings.Contains(string(b), `"id": "`+flowID+`"`) {
		t.Errorf("sync record: %s %v", b, err)
	}
}

// nodeModules is the sandbox's Node libraries in this checkout.
func nodeModules(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "sandbox", "node", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
