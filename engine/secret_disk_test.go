package engine_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// diskSecret is longer than the 60 characters an INVALID_OUTPUT message
// quotes, so a quoted prefix would show in the search below.
const diskSecret = "Zq8xLw3vT2pR9nK4mJ6hB1cD5fG7sA0eY-never-on-disk-0123456789-abcdefghijklmnop"

// TestNoSecretOnDisk runs code that logs a secret, returns it (as an
// output a later action uses, and nested in an undeclared one), fails
// with it in an error and in an output of the wrong type, and tests the
// action; then it searches the database files, the WAL included, for the
// secret and finds nothing, while the later action got the real value.
func TestNoSecretOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the code sandbox")
	}
	e := setupIntegration(t, "sqlite")
	e.must(200, "PUT", "/automation/v4/secrets/DISK_SECRET", map[string]string{"value": diskSecret})
	returns := `
exports.main = async (event, callback) => {
  const s = process.env.DISK_SECRET;
  console.log('the secret is ' + s);
  callback({ outputFields: { token: s, nested: { deep: [s, { again: s }] } } });
};`
	checks := `
exports.main = async (event, callback) => {
  callback({ outputFields: { same: event.inputFields.token === process.env.DISK_SECRET } });
};`
	okFlow := e.createFlow(`[`+
		codeAction("1", "2", "NODE20X", returns, `["DISK_SECRET"]`, `[]`, `[{"name":"token","type":"STRING"}]`)+`,`+
		codeAction("2", "3", "NODE20X", checks, `["DISK_SECRET"]`, `[{"name":"token","value":`+fieldData("1", "token")+`}]`, `[{"name":"same","type":"BOOL"}]`)+`,`+
		setProp("3", "", "vip", fieldData("2", "same"))+`]`, "")
	throws := `exports.main = async () => { throw new Error('failed with ' + process.env.DISK_SECRET); };`
	throwFlow := e.createFlow(`[`+codeAction("1", "", "NODE20X", throws, `["DISK_SECRET"]`, `[]`, `[]`)+`]`, "")
	wrongType := `exports.main = async (event, callback) => callback({ outputFields: { n: process.env.DISK_SECRET } });`
	typeFlow := e.createFlow(`[`+codeAction("1", "", "NODE20X", wrongType, `["DISK_SECRET"]`, `[]`, `[{"name":"n","type":"NUMBER"}]`)+`]`, "")

	id := e.contact(map[string]string{"email": "disk@example.com"})
	for _, f := range []string{okFlow, throwFlow, typeFlow} {
		e.enroll(f, id)
	}
	if en := e.waitEnrollment(okFlow, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("enrollment of the returning flow: %v", en)
	}
	if props := e.properties(id, "vip")["properties"].(map[string]any); props["vip"] != "true" {
		t.Errorf("the later action did not get the secret the code returned: vip = %v", props["vip"])
	}
	for _, f := range []string{throwFlow, typeFlow} {
		if en := e.waitEnrollment(f, id, finished); en["status"] != "FAILED" {
			t.Fatalf("enrollment of flow %s: %v", f, en)
		}
	}
	if xs := e.executions(typeFlow, "actionId=1"); len(xs) != 1 || !strings.Contains(fmt2(xs[0]["error"]), "[REDACTED]") {
		t.Errorf("INVALID_OUTPUT execution: %v", xs)
	}
	test := e.must(200, "POST", "/automation/v4/flows/"+okFlow+"/actions/1/test", map[string]any{"objectId": id})
	raw, _ := json.Marshal(test)
	if bytes.Contains(raw, []byte(diskSecret[:20])) || !strings.Contains(string(raw), `"deep":["[REDACTED]",{"again":"[REDACTED]"}]`) {
		t.Errorf("test action answer: %s", raw)
	}

	path := e.sqlite.Path()
	var searched int
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		searched += len(b)
		for _, needle := range []string{diskSecret, diskSecret[:24], diskSecret[30:54]} {
			if i := bytes.Index(b, []byte(needle)); i >= 0 {
				t.Errorf("%s holds the secret (%q) at offset %d: %q", name, needle, i, b[max(0, i-80):min(len(b), i+len(needle)+40)])
			}
		}
	}
	if searched == 0 {
		t.Fatal("no database file was searched")
	}
}

func fmt2(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
