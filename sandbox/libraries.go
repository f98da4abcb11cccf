package sandbox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

//go:embed node/package.json
var nodePackageJSON []byte

// NodeLibraries returns the npm packages custom code may require() besides
// Node's built-in modules: the dependencies of sandbox/node/package.json,
// which scripts/setup-sandbox.sh installs and the sandbox mounts.
func NodeLibraries() []string {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(nodePackageJSON, &pkg); err != nil {
		// The file is embedded at build time; a broken one is a broken build.
		panic(fmt.Sprintf("sandbox: read node/package.json: %v", err))
	}
	names := make([]string, 0, len(pkg.Dependencies))
	for name := range pkg.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// PythonLibraries are the top-level modules custom code may import besides
// the standard library: the Debian packages scripts/setup-sandbox.sh
// installs (requests with urllib3, pandas, numpy, redis, nltk, Google's API
// client with google.auth) and the hubspot module Spoke ships (see
// docs/sandbox.md).
var PythonLibraries = []string{"google", "googleapiclient", "hubspot", "nltk", "numpy", "pandas", "redis", "requests", "urllib3"}
