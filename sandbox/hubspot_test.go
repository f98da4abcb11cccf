package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// hubspotSample is HubSpot's documented pattern: create a client with a
// private-app token from a secret, call the CRM, re-throw errors so that
// rate limits are retried.
const hubspotSample = `
const hubspot = require('@hubspot/api-client');

exports.main = async (event, callback) => {
  const hubspotClient = new hubspot.Client({ accessToken: process.env.secretName });
  let created, fetched;
  try {
    created = await hubspotClient.crm.contacts.basicApi.create({ properties: { email: event.inputFields['email'], firstname: 'Ada' }, associations: [] });
    fetched = await hubspotClient.crm.contacts.basicApi.getById(created.id, ['email', 'firstname']);
  } catch (err) {
    console.error(err);
    // We will automatically retry when the code fails because of a rate
    // limiting error from the HubSpot API.
    throw err;
  }
  callback({ outputFields: { id: created.id, email: fetched.properties.email, firstname: fetched.properties.firstname } });
};
`

const pythonSpokeSample = `
import os
import requests

def main(event):
    base = os.environ["SPOKE_API_URL"]
    headers = {"Authorization": "Bearer " + os.getenv("secretName")}
    r = requests.post(base + "/crm/v3/objects/contacts", headers=headers,
                      json={"properties": {"email": event["inputFields"]["email"]}})
    r.raise_for_status()
    cid = r.json()["id"]
    got = requests.get(base + "/crm/v3/objects/contacts/" + cid + "?properties=email", headers=headers)
    got.raise_for_status()
    return {"outputFields": {"id": cid, "email": got.json()["properties"]["email"]}}
`

// pythonHubSpotSample uses the hubspot module Spoke ships with its Python
// runtime the way HubSpot's documentation and custom code use the official
// client: models from hubspot.crm.contacts, attribute access on answers,
// ApiException with .status.
const pythonHubSpotSample = `
import os
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ExceptionsApiException

def main(event):
    client = HubSpot(access_token=os.getenv("secretName"))
    email = event["inputFields"]["email"]
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties={"email": email, "firstname": "Ada"}))
    fetched = client.crm.contacts.basic_api.get_by_id(created.id, properties=["email", "firstname"])
    out = {"id": created.id, "email": fetched.properties["email"], "firstname": fetched.to_dict()["properties"]["firstname"],
           "createdAtYear": fetched.created_at.year}
    try:
        client.crm.contacts.basic_api.get_by_id("987654321")
        out["missing"] = 0
    except ApiException as e:
        out["missing"] = e.status
        out["missingIsExceptionsClass"] = isinstance(e, ExceptionsApiException)
        out["missingBody"] = "987654321" in e.body or "not" in e.body.lower()
        out["missingReason"] = e.reason
        out["missingType"] = e.headers.get("Content-Type", "")
    if event["inputFields"].get("live") != "yes":
        return {"outputFields": out}
    found = client.crm.contacts.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=email)])], properties=["email"]))
    out["found"] = found.total
    out["foundId"] = found.results[0].id if found.results else ""
    batch = client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=created.id, properties={"lastname": "Lovelace"})]))
    out["batchStatus"] = batch.status
    again = client.crm.objects.basic_api.get_by_id("contacts", created.id, properties=["lastname"])
    out["lastname"] = again.properties["lastname"]
    client.crm.contacts.basic_api.update(created.id, SimplePublicObjectInput(properties={"firstname": "Augusta"}))
    read = client.crm.contacts.batch_api.read(batch_read_input_simple_public_object_id={"inputs": [{"id": created.id}], "properties": ["firstname"]})
    out["firstnameAfterUpdate"] = read.results[0].properties["firstname"]
    page = client.crm.contacts.basic_api.get_page(limit=1)
    out["pageSize"] = len(page.results)
    out["hasNext"] = page.paging is not None and page.paging.next is not None and bool(page.paging.next.after)
    client.crm.contacts.basic_api.archive(created.id)
    try:
        client.crm.contacts.basic_api.get_by_id(created.id)
        out["archived"] = False
    except ApiException as e:
        out["archived"] = e.status == 404
    return {"outputFields": out}
`

// fakeSpoke stands in for Spoke's CRM API with just enough of the contacts
// endpoints for the samples.
type fakeSpoke struct {
	mu       sync.Mutex
	contacts map[string]map[string]any
	auth     []string
}

func (f *fakeSpoke) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	switch {
	case r.Method == http.MethodPost && strings.TrimLeft(r.URL.Path, "/") == "crm/v3/objects/contacts":
		var body struct {
			Properties map[string]any `json:"properties"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		id := fmt.Sprint(len(f.contacts) + 1)
		if body.Properties["email"] == "limited@example.com" {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","category":"RATE_LIMITS"}`)
			return
		}
		f.contacts[id] = body.Properties
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "properties": body.Properties, "createdAt": now, "updatedAt": now, "archived": false})
	case r.Method == http.MethodGet && strings.HasPrefix(strings.TrimLeft(r.URL.Path, "/"), "crm/v3/objects/contacts/"):
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		props, ok := f.contacts[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"status":"error","message":"Object not found","category":"OBJECT_NOT_FOUND"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id, "properties": props, "createdAt": now, "updatedAt": now, "archived": false})
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"status":"error","message":"not found"}`)
	}
}

func invokeWith(t *testing.T, p *sandbox.Pool, rt, code string, inputs map[string]any) sandbox.Result {
	t.Helper()
	ev := event()
	ev.InputFields = inputs
	res, err := p.Invoke(context.Background(), sandbox.Invocation{
		Runtime: rt, Code: code, Version: version(t), Event: ev,
		Secrets: map[string]string{"secretName": "pat-test-token-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestHubSpotClientStandIn runs HubSpot's sample against a stand-in for
// Spoke's API: the client must reach Spoke by default, with the token.
func TestHubSpotClientStandIn(t *testing.T) {
	t.Parallel()
	fake := &fakeSpoke{contacts: map[string]map[string]any{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p, err := sandbox.NewPool(sandbox.Config{APIURL: srv.URL, SpareWorkers: -1, MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	res := invokeWith(t, p, "NODE20X", hubspotSample, map[string]any{"email": "ada@example.com"})
	wantSuccess(t, res)
	if res.OutputFields["email"] != "ada@example.com" || res.OutputFields["firstname"] != "Ada" || res.OutputFields["id"] != "1" {
		t.Fatalf("outputs %v", res.OutputFields)
	}
	fake.mu.Lock()
	if len(fake.auth) != 2 || fake.auth[0] != "Bearer pat-test-token-1" {
		t.Errorf("Authorization headers %q", fake.auth)
	}
	fake.mu.Unlock()

	res = invokeWith(t, p, "NODE20X", hubspotSample, map[string]any{"email": "limited@example.com"})
	wantError(t, res, sandbox.ErrRateLimited, "429")
	if strings.Contains(res.Logs+res.Error.Message, "pat-test-token-1") {
		t.Errorf("token leaked: %q", res.Logs)
	}

	res = invokeWith(t, p, "PYTHON39", pythonSpokeSample, map[string]any{"email": "grace@example.com"})
	wantSuccess(t, res)
	if res.OutputFields["email"] != "grace@example.com" {
		t.Fatalf("outputs %v", res.OutputFields)
	}

	fake.mu.Lock()
	fake.auth = nil
	fake.mu.Unlock()
	res = invokeWith(t, p, "PYTHON39", pythonHubSpotSample, map[string]any{"email": "hedy@example.com"})
	wantSuccess(t, res)
	want := map[string]any{"email": "hedy@example.com", "firstname": "Ada", "missing": float64(404), "missingIsExceptionsClass": true,
		"missingBody": true, "missingReason": "Not Found", "missingType": "application/json", "createdAtYear": float64(time.Now().UTC().Year())}
	for k, v := range want {
		if res.OutputFields[k] != v {
			t.Errorf("%s = %#v, want %#v", k, res.OutputFields[k], v)
		}
	}
	fake.mu.Lock()
	if len(fake.auth) != 3 || fake.auth[0] != "Bearer pat-test-token-1" {
		t.Errorf("Authorization headers %q", fake.auth)
	}
	fake.mu.Unlock()

	// A 429 raises ApiException; re-raised, it is a rate-limit failure
	// that HubSpot (and Spoke) retries.
	limited := `
import os
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate, ApiException
def main(event):
    client = HubSpot(access_token=os.getenv("secretName"))
    try:
        client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "limited@example.com"}))
    except ApiException as e:
        print("status", e.status)
        raise
`
	res = invokeWith(t, p, "PYTHON39", limited, nil)
	wantError(t, res, sandbox.ErrRateLimited, "429")
	if !strings.Contains(res.Logs, "status 429") || strings.Contains(res.Logs+res.Error.Message+res.Error.Stack, "pat-test-token-1") {
		t.Errorf("logs %q, error %+v", res.Logs, res.Error)
	}
}

// TestSamples runs typical HubSpot custom code with the preinstalled
// libraries against local servers.
func TestSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runtime, code string
		want                map[string]any
	}{
		{"axios", "NODE20X", `
const axios = require('axios');
exports.main = async (event, callback) => {
  const r = await axios.post(process.env.ECHO + '/hook', { id: event.object.objectId });
  callback({ outputFields: { body: r.data, status: r.status } });
};`, map[string]any{"body": "hello POST /hook", "status": float64(200)}},
		{"axios with its own keep-alive agent", "NODE20X", `
const axios = require('axios');
const http = require('http');
const agent = new http.Agent({ keepAlive: true });
exports.main = async () => {
  const a = await axios.get(process.env.ECHO + '/k1', { httpAgent: agent });
  const b = await axios.get(process.env.ECHO + '/k2', { httpAgent: agent });
  return { outputFields: { body: a.data + ' ' + b.data } };
};`, map[string]any{"body": "hello GET /k1 hello GET /k2"}},
		{"https through the tunnel, global and keep-alive agents", "NODE20X", `
const https = require('https');
const get = (url, agent) => new Promise((resolve, reject) => https.get(url, { agent, rejectUnauthorized: false }, (r) => {
  let body = ''; r.on('data', (d) => body += d); r.on('end', () => resolve(body));
}).on('error', reject));
const keep = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
exports.main = async () => ({ outputFields: { body: [await get(process.env.ECHO_TLS + '/t1'), await get(process.env.ECHO_TLS + '/t2', keep), await get(process.env.ECHO_TLS + '/t3', keep)].join(' ') } });`,
			map[string]any{"body": "hello GET /t1 hello GET /t2 hello GET /t3"}},
		{"requests over https", "PYTHON39", `
import os, requests, urllib3
urllib3.disable_warnings()
def main(event):
    r = requests.get(os.environ["ECHO_TLS"] + "/pt", verify=False)
    return {"outputFields": {"body": r.text}}
`, map[string]any{"body": "hello GET /pt"}},
		{"fetch and lodash", "NODE20X", `
const _ = require('lodash');
exports.main = async (event) => {
  const r = await fetch(process.env.ECHO + '/f');
  return { outputFields: { body: await r.text(), kebab: _.kebabCase('Hello World') } };
};`, map[string]any{"body": "hello GET /f", "kebab": "hello-world"}},
		{"preinstalled libraries load", "NODE20X", `
exports.main = async () => {
  const libs = ['@hubspot/api-client', 'async', 'aws-sdk', 'axios', 'lodash', 'mongoose', 'mysql', 'redis', 'request', 'bluebird', 'random-number-csprng', 'googleapis'];
  const missing = libs.filter((l) => { try { require(l); return false; } catch (e) { return true; } });
  const rand = await require('random-number-csprng')(1, 6);
  return { outputFields: { missing: missing.join(','), dice: rand >= 1 && rand <= 6 } };
};`, map[string]any{"missing": "", "dice": true}},
		{"requests", "PYTHON39", `
import os, requests
def main(event):
    r = requests.get(os.environ["ECHO"] + "/py")
    return {"outputFields": {"body": r.text, "status": r.status_code}}
`, map[string]any{"body": "hello GET /py", "status": float64(200)}},
		{"urllib", "PYTHON39", `
import os, urllib.request
def main(event):
    with urllib.request.urlopen(os.environ["ECHO"] + "/u") as r:
        return {"outputFields": {"body": r.read().decode()}}
`, map[string]any{"body": "hello GET /u"}},
		{"python preinstalled libraries load", "PYTHON39", `
import importlib
def main(event):
    libs = ["hubspot", "requests", "redis", "nltk", "googleapiclient.discovery", "pandas", "numpy"]
    missing = []
    for lib in libs:
        try:
            importlib.import_module(lib)
        except Exception as e:
            missing.append("%s (%s)" % (lib, e))
    from hubspot import HubSpot
    from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate, PublicObjectSearchRequest, BatchInputSimplePublicObjectInput, ApiException
    from hubspot.crm.contacts.exceptions import ApiException as E
    from hubspot.crm.objects import SimplePublicObjectInput as ObjectInput
    from hubspot.crm.associations.v4 import AssociationSpec
    from hubspot.crm.owners import PublicOwner
    from hubspot.crm.pipelines import Pipeline
    from hubspot.crm.properties import PropertyCreate
    c = HubSpot(access_token="t")
    apis = [c.crm.contacts.basic_api, c.crm.companies.batch_api, c.crm.deals.search_api, c.crm.tickets.basic_api, c.crm.objects.basic_api,
            c.crm.associations.v4.basic_api, c.crm.associations.v4.batch_api, c.crm.owners.owners_api, c.crm.pipelines.pipelines_api,
            c.crm.pipelines.pipeline_stages_api, c.crm.properties.core_api]
    return {"outputFields": {"missing": ",".join(missing), "sameException": ApiException is E, "apis": len(apis)}}
`, map[string]any{"missing": "", "sameException": true, "apis": float64(11)}},
		{"pandas", "PYTHON39", `
import pandas as pd
import numpy as np
def main(event):
    df = pd.DataFrame({"deal": ["a", "b", "c", "d"], "amount": [100.0, 250.5, 75.25, np.nan]})
    return {"outputFields": {"total": float(df["amount"].sum()), "count": int(df["amount"].count()), "top": df.sort_values("amount", ascending=False).iloc[0]["deal"]}}
`, map[string]any{"total": 425.75, "count": float64(3), "top": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tt.runtime, tt.code, func(inv *sandbox.Invocation) {
				inv.Secrets = map[string]string{"ECHO": echo.URL, "ECHO_TLS": echoTLS.URL}
				inv.Timeout = 20 * time.Second
			})
			wantSuccess(t, res)
			for k, v := range tt.want {
				if res.OutputFields[k] != v {
					t.Errorf("%s = %#v, want %#v", k, res.OutputFields[k], v)
				}
			}
		})
	}
}

// TestAccountAllowlist checks that an account's allowlist restricts egress
// further, but never blocks Spoke's own API.
func TestAccountAllowlist(t *testing.T) {
	t.Parallel()
	code := `exports.main = async () => { const r = await fetch(process.env.ECHO + '/x'); return { outputFields: { s: r.status } }; };`
	res := run(t, "NODE20X", code, func(inv *sandbox.Invocation) {
		inv.Secrets = map[string]string{"ECHO": echo.URL}
		inv.EgressAllowlist = []string{"api.example.com", "*.example.org"}
	})
	wantError(t, res, sandbox.ErrEgressDenied, "account-allowlist")
	if !strings.Contains(res.Logs, "EGRESS_DENIED") {
		t.Errorf("logs lack the EGRESS_DENIED line: %q", res.Logs)
	}
	res = run(t, "NODE20X", code, func(inv *sandbox.Invocation) {
		inv.Secrets = map[string]string{"ECHO": echo.URL}
		inv.EgressAllowlist = []string{strings.TrimPrefix(echo.URL, "http://")}
	})
	wantSuccess(t, res)
}

// TestHubSpotClientAgainstSpoke runs HubSpot's samples against a real
// `spoke serve` built from this repository.
func TestHubSpotClientAgainstSpoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts spoke serve")
	}
	t.Parallel()
	addr, _ := startSpoke(t)
	p, err := sandbox.NewPool(sandbox.Config{APIURL: "http://" + addr, SpareWorkers: -1, MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res := invokeWith(t, p, "NODE20X", hubspotSample, map[string]any{"email": "ada@example.com"})
	wantSuccess(t, res)
	if res.OutputFields["email"] != "ada@example.com" || res.OutputFields["firstname"] != "Ada" || res.OutputFields["id"] == "" {
		t.Fatalf("outputs %v", res.OutputFields)
	}
	res = invokeWith(t, p, "PYTHON39", pythonSpokeSample, map[string]any{"email": "grace@example.com"})
	wantSuccess(t, res)
	if res.OutputFields["email"] != "grace@example.com" {
		t.Fatalf("outputs %v", res.OutputFields)
	}

	res = invokeWith(t, p, "PYTHON39", pythonHubSpotSample, map[string]any{"email": "hedy@example.com", "live": "yes"})
	wantSuccess(t, res)
	id, _ := res.OutputFields["id"].(string)
	want := map[string]any{"email": "hedy@example.com", "firstname": "Ada", "missing": float64(404), "missingIsExceptionsClass": true,
		"missingBody": true, "found": float64(1), "foundId": id, "batchStatus": "COMPLETE", "lastname": "Lovelace",
		"firstnameAfterUpdate": "Augusta", "pageSize": float64(1), "hasNext": true, "archived": true}
	for k, v := range want {
		if res.OutputFields[k] != v {
			t.Errorf("%s = %#v, want %#v (outputs %v, logs %s)", k, res.OutputFields[k], v, res.OutputFields, res.Logs)
		}
	}
}

// startSpoke builds spoke from this repository, starts `spoke serve` with
// the admin token pat-test-token-1 in a new data directory, checks that it
// answers a POST from the host (so that a server fault is not mistaken for
// a sandbox one), and returns its host:port and data directory. The server
// stops when the test ends.
func startSpoke(t *testing.T) (addr, dataDir string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), "spoke")
	// go test puts its GOROOT/bin first on PATH.
	build := exec.Command("go", "build", "-o", bin, "./cmd/spoke")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/spoke: %v\n%s", err, out)
	}
	if out, _ := exec.Command(bin, "serve", "-h").CombinedOutput(); strings.Contains(string(out), "unknown command") {
		t.Fatalf("this build of spoke has no serve command: %s", out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	dataDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--data", dataDir)
	srv.Env = append(os.Environ(), "SPOKE_ADMIN_TOKEN=pat-test-token-1")
	var out strings.Builder
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatalf("start spoke serve: %v", err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spoke serve did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Check the server itself first, so that a server fault is not
	// mistaken for a sandbox fault.
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/crm/v3/objects/contacts", strings.NewReader(`{"properties":{"email":"probe@example.com"}}`))
	req.Header.Set("Authorization", "Bearer pat-test-token-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("spoke serve does not answer POST /crm/v3/objects/contacts from the host (a server fault, not a sandbox one): %v\n%s", err, out.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("spoke serve answered POST /crm/v3/objects/contacts with %s", resp.Status)
	}
	return addr, dataDir
}
