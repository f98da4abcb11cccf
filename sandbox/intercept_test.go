package sandbox_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/internal/dnstest"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sandbox/egress"
)

// hubapiClients create a contact through https://api.hubapi.com with each
// HTTP client the runtimes offer, and return the answer's status and id.
var hubapiClients = []struct{ name, runtime, code string }{
	{"axios", "NODE20X", `
const axios = require('axios');
exports.main = async (event) => {
  const r = await axios.post('https://api.hubapi.com/crm/v3/objects/contacts', { properties: { email: event.inputFields.email } },
    { headers: { Authorization: 'Bearer ' + process.env.secretName } });
  return { outputFields: { status: r.status, id: r.data.id } };
};`},
	{"fetch", "NODE20X", `
exports.main = async (event) => {
  const r = await fetch('https://api.hubapi.com/crm/v3/objects/contacts', { method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.secretName, 'Content-Type': 'application/json' },
    body: JSON.stringify({ properties: { email: event.inputFields.email } }) });
  const body = await r.json();
  return { outputFields: { status: r.status, id: body.id } };
};`},
	{"https.request", "NODE20X", `
const https = require('https');
exports.main = (event) => new Promise((resolve, reject) => {
  const req = https.request('https://api.hubapi.com/crm/v3/objects/contacts', { method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.secretName, 'Content-Type': 'application/json' } }, (r) => {
    let body = ''; r.on('data', (d) => body += d);
    r.on('end', () => resolve({ outputFields: { status: r.statusCode, id: JSON.parse(body).id } }));
  });
  req.on('error', reject);
  req.end(JSON.stringify({ properties: { email: event.inputFields.email } }));
});`},
	{"@hubspot/api-client without basePath", "NODE20X", `
const hubspot = require('@hubspot/api-client');
exports.main = async (event) => {
  const c = new hubspot.Client({ accessToken: process.env.secretName });
  const r = await c.crm.contacts.basicApi.create({ properties: { email: event.inputFields.email }, associations: [] });
  return { outputFields: { status: 201, id: r.id } };
};`},
	{"requests", "PYTHON39", `
import os, requests
def main(event):
    r = requests.post("https://api.hubapi.com/crm/v3/objects/contacts", headers={"Authorization": "Bearer " + os.environ["secretName"]},
                      json={"properties": {"email": event["inputFields"]["email"]}})
    return {"outputFields": {"status": r.status_code, "id": r.json()["id"]}}
`},
	{"urllib.request", "PYTHON39", `
import json, os, urllib.request
def main(event):
    req = urllib.request.Request("https://api.hubapi.com/crm/v3/objects/contacts", method="POST",
        data=json.dumps({"properties": {"email": event["inputFields"]["email"]}}).encode(),
        headers={"Authorization": "Bearer " + os.environ["secretName"], "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return {"outputFields": {"status": r.status, "id": json.loads(r.read())["id"]}}
`},
	{"from hubspot import HubSpot", "PYTHON39", `
import os
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
def main(event):
    c = HubSpot(access_token=os.environ["secretName"])
    r = c.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": event["inputFields"]["email"]}))
    return {"outputFields": {"status": 201, "id": r.id, "host": c.crm.contacts.basic_api.api_client.configuration.host}}
`},
}

// TestHubAPIReachesSpoke checks that code calling https://api.hubapi.com
// with any client reaches a real Spoke, with its Authorization header, over
// TLS the client trusts; and that a dry run's write there is refused.
func TestHubAPIReachesSpoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts spoke serve")
	}
	t.Parallel()
	addr, dataDir := startSpoke(t)
	// spoke serve made its sandbox CA in the data directory, private.
	for _, f := range []string{egress.CACertFile, egress.CAKeyFile} {
		st, err := os.Stat(filepath.Join(dataDir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s in the data directory: %v %v", f, st, err)
		}
	}
	// The read-only listener spoke serve keeps for dry runs is private to
	// it; this one puts the same api.ReadOnly in front of the real server.
	target, _ := url.Parse("http://" + addr)
	ro := httptest.NewServer(api.ReadOnly(httputil.NewSingleHostReverseProxy(target)))
	defer ro.Close()
	p, err := sandbox.NewPool(sandbox.Config{APIURL: "http://" + addr, ReadOnlyAPIURL: ro.URL, SpareWorkers: -1, MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hc := &http.Client{Timeout: 10 * time.Second}
	for i, c := range hubapiClients {
		email := fmt.Sprintf("client%d@example.com", i)
		res := invokeWith(t, p, c.runtime, c.code, map[string]any{"email": email})
		if res.Status != sandbox.StatusSuccess {
			t.Errorf("%s: %+v\nlogs: %s", c.name, res.Error, res.Logs)
			continue
		}
		id, _ := res.OutputFields["id"].(string)
		if res.OutputFields["status"] != float64(201) || id == "" {
			t.Errorf("%s: outputs %v", c.name, res.OutputFields)
			continue
		}
		if h, ok := res.OutputFields["host"]; ok && h != "https://api.hubapi.com" {
			t.Errorf("%s: the client's host is %v", c.name, h)
		}
		// The record is in Spoke, so the request reached it with a token
		// it accepted.
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/crm/v3/objects/contacts/"+id+"?properties=email", nil)
		req.Header.Set("Authorization", "Bearer pat-test-token-1")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Properties map[string]string `json:"properties"`
		}
		json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		if resp.StatusCode != 200 || rec.Properties["email"] != email {
			t.Errorf("%s: contact %s in Spoke: %d %v", c.name, id, resp.StatusCode, rec.Properties)
		}
	}

	// A wrong token is refused by Spoke itself: the header is the code's.
	res := invokeWith(t, p, "NODE20X", `
exports.main = async () => {
  const r = await fetch('https://api.hubspot.com/crm/v3/objects/contacts?limit=1', { headers: { Authorization: 'Bearer wrong-token' } });
  return { outputFields: { status: r.status } };
};`, nil)
	wantSuccess(t, res)
	if res.OutputFields["status"] != float64(401) {
		t.Errorf("a wrong token got %v, want 401", res.OutputFields["status"])
	}

	// A dry run reads through api.hubapi.com and cannot write.
	dry := func(rt, code string) sandbox.Result {
		t.Helper()
		r, err := p.Invoke(t.Context(), sandbox.Invocation{Runtime: rt, Code: code, Version: version(t), Event: event(),
			Secrets: map[string]string{"secretName": "pat-test-token-1"}, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		wantSuccess(t, r)
		return r
	}
	res = dry("NODE20X", `
const axios = require('axios');
exports.main = async () => {
  const h = { headers: { Authorization: 'Bearer ' + process.env.secretName }, validateStatus: () => true };
  const read = await axios.get('https://api.hubapi.com/crm/v3/objects/contacts?limit=1', h);
  const write = await axios.post('https://api.hubapi.com/crm/v3/objects/contacts', { properties: { email: 'dry@example.com' } }, h);
  return { outputFields: { read: read.status, write: write.status, category: write.data.category } };
};`)
	if res.OutputFields["read"] != float64(200) || res.OutputFields["write"] != float64(403) || res.OutputFields["category"] != "DRY_RUN" {
		t.Errorf("node dry run: %v", res.OutputFields)
	}
	res = dry("PYTHON39", `
import os, requests
def main(event):
    r = requests.post("https://api.hubapi.com/crm/v3/objects/contacts", headers={"Authorization": "Bearer " + os.environ["secretName"]},
                      json={"properties": {"email": "dry2@example.com"}})
    return {"outputFields": {"write": r.status_code, "category": r.json().get("category")}}
`)
	if res.OutputFields["write"] != float64(403) || res.OutputFields["category"] != "DRY_RUN" {
		t.Errorf("python dry run: %v", res.OutputFields)
	}
}

// TestOtherHostsAndDNS checks that only HubSpot's API names are
// intercepted: other HTTPS hosts keep their own certificates and the guard,
// and name lookups answer through the egress proxy under the same rules.
func TestOtherHostsAndDNS(t *testing.T) {
	t.Parallel()
	port := echoTLS.URL[strings.LastIndex(echoTLS.URL, ":")+1:]
	dns, err := dnstest.New(map[string][]string{
		"tls.example.test":     {"127.0.0.1"},
		"public.example.test":  {"93.184.215.14"},
		"private.example.test": {"10.1.2.3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	fake := &fakeSpoke{contacts: map[string]map[string]any{}}
	spoke := httptest.NewServer(fake)
	defer spoke.Close()
	// A second HTTPS server on loopback that no one allowed.
	unallowed := httptest.NewTLSServer(http.NotFoundHandler())
	defer unallowed.Close()
	p, err := sandbox.NewPool(sandbox.Config{APIURL: spoke.URL, AllowHosts: []string{"tls.example.test:" + port}, Resolver: dns.Resolver(),
		SpareWorkers: -1, MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sum := sha256.Sum256(echoTLS.Certificate().Raw)
	var fp []string
	for _, b := range sum {
		fp = append(fp, fmt.Sprintf("%02X", b))
	}
	inputs := map[string]any{"url": "https://tls.example.test:" + port + "/own", "unallowed": unallowed.URL}

	res := invokeWith(t, p, "NODE20X", `
const https = require('https');
const dns = require('dns');
const get = (url) => new Promise((resolve, reject) => https.get(url, { rejectUnauthorized: false }, (r) => {
  let body = ''; r.on('data', (d) => body += d);
  r.on('end', () => resolve({ body, fp: r.socket.getPeerCertificate().fingerprint256 }));
}).on('error', reject));
const err = (p) => p.then(() => 'none', (e) => e.code + ' ' + e.message);
exports.main = async (event) => {
  const own = await get(event.inputFields.url);
  const refused = await err(get(event.inputFields.unallowed + '/x'));
  const lookup = await new Promise((resolve) => dns.lookup('public.example.test', (e, a, f) => resolve(e ? e.code : a + '/' + f)));
  const all = await dns.promises.lookup('public.example.test', { all: true });
  const priv = await err(dns.promises.lookup('private.example.test'));
  const missing = await err(dns.promises.lookup('nowhere.example.test'));
  return { outputFields: { body: own.body, fp: own.fp, refused, lookup, all: JSON.stringify(all), priv, missing } };
};`, inputs)
	wantSuccess(t, res)
	out := res.OutputFields
	if out["body"] != "hello GET /own" || out["fp"] != strings.Join(fp, ":") {
		t.Errorf("allowed host: body %v, certificate %v, want the server's own %s", out["body"], out["fp"], strings.Join(fp, ":"))
	}
	for k, want := range map[string]string{"refused": "EGRESS_DENIED", "lookup": "93.184.215.14/4", "all": `[{"address":"93.184.215.14","family":4}]`,
		"priv": "EGRESS_DENIED", "missing": "ENOTFOUND"} {
		if s, _ := out[k].(string); !strings.Contains(s, want) {
			t.Errorf("%s = %q, want %q in it", k, s, want)
		}
	}
	if s, _ := out["priv"].(string); !strings.Contains(s, "private-network") {
		t.Errorf("private lookup: %q", s)
	}

	res = invokeWith(t, p, "PYTHON39", `
import socket, ssl, requests, urllib.request
def main(event):
    out = {}
    try:
        requests.get(event["inputFields"]["url"])
        out["verified"] = "yes"
    except requests.exceptions.SSLError as e:
        out["verified"] = "CERTIFICATE_VERIFY_FAILED" in str(e) and "no" or str(e)
    out["body"] = requests.get(event["inputFields"]["url"], verify=False).text
    try:
        requests.get(event["inputFields"]["unallowed"], verify=False)
        out["refused"] = "no"
    except requests.exceptions.ConnectionError as e:
        out["refused"] = str(e)
    out["addrinfo"] = sorted({a[4][0] for a in socket.getaddrinfo("public.example.test", 443)})
    out["byname"] = socket.gethostbyname("public.example.test")
    try:
        socket.gethostbyname("private.example.test")
        out["priv"] = "resolved"
    except socket.gaierror as e:
        out["priv"] = str(e)
    try:
        socket.getaddrinfo("nowhere.example.test", 80)
        out["missing"] = "resolved"
    except socket.gaierror as e:
        out["missing"] = "gaierror " + str(e)
    return {"outputFields": out}
`, inputs)
	wantSuccess(t, res)
	out = res.OutputFields
	if out["verified"] != "no" || out["body"] != "hello GET /own" {
		t.Errorf("allowed host from Python: verified %v, body %v", out["verified"], out["body"])
	}
	if s, _ := out["refused"].(string); !strings.Contains(s, "EGRESS_DENIED") && !strings.Contains(s, "403") {
		t.Errorf("unallowed loopback server from Python: %q", s)
	}
	if a, _ := json.Marshal(out["addrinfo"]); string(a) != `["93.184.215.14"]` || out["byname"] != "93.184.215.14" {
		t.Errorf("getaddrinfo %s, gethostbyname %v", a, out["byname"])
	}
	if s, _ := out["priv"].(string); !strings.Contains(s, "EGRESS_DENIED") {
		t.Errorf("private lookup from Python: %q", s)
	}
	if s, _ := out["missing"].(string); !strings.Contains(s, "gaierror") {
		t.Errorf("missing name from Python: %q", s)
	}
}
