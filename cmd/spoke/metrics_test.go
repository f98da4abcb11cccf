package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMetricsAddr checks that metrics are served on --metrics-addr and not
// on the API (which sandboxed code reaches), and that code cannot reach the
// metrics address even when --allow-host names it.
func TestMetricsAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and sandboxes")
	}
	dir, addr, metricsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- serve(ctx, logger, serveOptions{addr: addr, dir: dir, allowHosts: []string{metricsAddr}, metricsAddr: metricsAddr})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spoke serve did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tok))
	call := func(method, url, token string, body any) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := call("GET", base+"/metrics", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics on the API without a token: %d %s, want 401", code, body)
	}
	if code, body := call("GET", base+"/metrics", token, nil); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the API with a token: %d %.200s, want 404", code, body)
	}
	code, body := call("GET", "http://"+metricsAddr+"/metrics", "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics on --metrics-addr: %d %s", code, body)
	}
	for _, name := range []string{"spoke_enrollments_due", "spoke_sandbox_workers_retired_total", "go_goroutines"} {
		if !strings.Contains(body, name) {
			t.Errorf("metrics lack %s", name)
		}
	}

	// Code run by the test action tries both addresses.
	code, body = call("POST", base+"/crm/v3/objects/contacts", token, map[string]any{"properties": map[string]string{"email": "m@metrics.example"}})
	if code != http.StatusCreated {
		t.Fatalf("create contact: %d %s", code, body)
	}
	var contact struct{ ID string }
	json.Unmarshal([]byte(body), &contact)
	src := fmt.Sprintf(`const http = require('http');
const get = (url) => new Promise((res) => {
  http.get(url, (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => res(r.statusCode + ' ' + b.slice(0, 300))); })
    .on('error', (e) => res('ERR ' + e.message));
});
exports.main = async () => ({ outputFields: { metrics: await get('http://%s/metrics'), api: await get('%s/metrics') } });`, metricsAddr, base)
	flow := map[string]any{"name": "metrics", "type": "CONTACT_FLOW", "objectTypeId": "0-1", "flowType": "WORKFLOW", "isEnabled": false,
		"enrollmentCriteria": map[string]any{"type": "MANUAL", "shouldReEnroll": false},
		"actions": []any{map[string]any{"type": "CUSTOM_CODE", "actionId": "1", "runtime": "NODE20X", "secretNames": []string{}, "sourceCode": src,
			"outputFields": []any{map[string]any{"name": "metrics", "type": "STRING"}, map[string]any{"name": "api", "type": "STRING"}}}}}
	code, body = call("POST", base+"/automation/v4/flows", token, flow)
	if code != http.StatusCreated {
		t.Fatalf("create flow: %d %s", code, body)
	}
	var fl struct{ ID string }
	json.Unmarshal([]byte(body), &fl)
	code, body = call("POST", base+"/automation/v4/flows/"+fl.ID+"/actions/1/test", token, map[string]any{"objectId": contact.ID})
	if code != http.StatusOK {
		t.Fatalf("test action: %d %s", code, body)
	}
	var res struct {
		Status       string
		OutputFields map[string]string
	}
	json.Unmarshal([]byte(body), &res)
	if res.Status != "SUCCESS" {
		t.Fatalf("test action: %s", body)
	}
	if m := res.OutputFields["metrics"]; !strings.Contains(m, "EGRESS_DENIED") || !strings.Contains(m, "spoke-internal") {
		t.Errorf("code reaching --metrics-addr got %q, want an EGRESS_DENIED refusal (rule spoke-internal)", m)
	}
	if a := res.OutputFields["api"]; !strings.HasPrefix(a, "401 ") {
		t.Errorf("code reaching the API's /metrics got %q, want 401", a)
	}
}
