package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, code string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	okJS := write("ok.js", `exports.main = async (event, callback) => {
  console.log('hi', process.env.TOKEN);
  callback({ outputFields: { email: event.inputFields.email, type: event.object.objectType, id: event.object.objectId } });
};`)
	okPy := write("ok.py", "import os\ndef main(event):\n    return {'outputFields': {'email': event['inputFields']['email'], 'token': os.getenv('TOKEN')}}\n")
	bad := write("bad.js", `exports.main = async () => { throw new Error('nope'); };`)
	noext := write("code.txt", `exports.main = async () => ({});`)

	tests := []struct {
		name   string
		args   []string
		code   int
		status string
		check  func(t *testing.T, out map[string]any)
	}{
		{"node success", []string{okJS, "--input", "email=a@b.c", "--secret", "TOKEN=tok-secret-1", "--object-type", "DEAL", "--object-id", "42"}, 0, "SUCCESS", func(t *testing.T, out map[string]any) {
			f := out["outputFields"].(map[string]any)
			if f["email"] != "a@b.c" || f["type"] != "DEAL" || f["id"] != float64(42) {
				t.Errorf("outputs %v", f)
			}
			if logs := out["logs"].(string); !strings.Contains(logs, "hi [REDACTED]") {
				t.Errorf("logs %q", logs)
			}
			if rt := out["runtime"].(map[string]any); rt["name"] != "NODE20X" || !strings.HasPrefix(rt["version"].(string), "v") {
				t.Errorf("runtime %v", rt)
			}
		}},
		{"python success, flags first", []string{"--input", "email=x@y.z", "--secret", "TOKEN=abc", okPy}, 0, "SUCCESS", func(t *testing.T, out map[string]any) {
			if f := out["outputFields"].(map[string]any); f["email"] != "x@y.z" || f["token"] != "abc" {
				t.Errorf("outputs %v", f)
			}
		}},
		{"error", []string{bad}, 1, "ERROR", func(t *testing.T, out map[string]any) {
			if e := out["error"].(map[string]any); e["type"] != "UNCAUGHT_ERROR" || !strings.Contains(e["message"].(string), "nope") {
				t.Errorf("error %v", e)
			}
		}},
		{"explicit runtime", []string{noext, "--runtime", "NODE16X"}, 0, "SUCCESS", nil},
		{"no file", []string{}, 2, "", nil},
		{"unknown extension", []string{noext}, 2, "", nil},
		{"bad runtime", []string{okJS, "--runtime", "RUBY"}, 2, "", nil},
		{"bad input", []string{okJS, "--input", "novalue"}, 2, "", nil},
		{"missing file", []string{filepath.Join(dir, "nope.js")}, 2, "", nil},
		{"unknown flag", []string{okJS, "--frobnicate"}, 2, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if tt.status == "" {
				if stdout.Len() != 0 {
					t.Fatalf("stdout on bad usage: %s", stdout.String())
				}
				return
			}
			var out map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || bytes.Count(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) != 0 {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
			}
			if out["status"] != tt.status {
				t.Fatalf("status %v, want %s: %s", out["status"], tt.status, stdout.String())
			}
			for _, k := range []string{"outputFields", "logs", "durationMs", "memoryBytes", "runtime"} {
				if _, ok := out[k]; !ok {
					t.Errorf("output lacks %q", k)
				}
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// TestRunHubSpotSamples runs HubSpot's sample code, unchanged, through
// spoke run against a stand-in for Spoke's API.
func TestRunHubSpotSamples(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer pat-sample" || !strings.HasPrefix(r.URL.Path, "/crm/v3/objects/contacts/42") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"42","properties":{"phone":"+1 555 0100","email":"ada@example.com"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}`)
	}))
	t.Cleanup(srv.Close) // not defer: the subtests run in parallel after this function returns
	for _, file := range []string{"hubspot-sample.js", "hubspot-sample.py"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), []string{filepath.Join("..", "..", "sandbox", "testdata", file),
				"--api-url", srv.URL, "--secret", "secretName=pat-sample", "--object-id", "42", "--input", "email=ada@example.com"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
			}
			var out struct {
				OutputFields map[string]any `json:"outputFields"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if out.OutputFields["phone"] != "+1 555 0100" {
				t.Fatalf("outputs %v", out.OutputFields)
			}
		})
	}
}
