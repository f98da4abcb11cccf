package sandbox

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
)

//go:embed node/bootstrap.js
var nodeBootstrap []byte

//go:embed python/bootstrap.py
var pythonBootstrap []byte

// Canonical runtime names.
const (
	RuntimeNode   = "NODE20X"
	RuntimePython = "PYTHON39"
)

// lang identifies an interpreter family.
type lang int

const (
	langNode lang = iota
	langPython
)

// runtimeSpec says how to start one interpreter family.
type runtimeSpec struct {
	lang      lang
	name      string // canonical runtime name
	binary    string // interpreter on the host, bound read-only via /usr
	bootstrap string // bootstrap file name in the pool's runtime directory
}

var (
	nodeSpec   = &runtimeSpec{lang: langNode, name: RuntimeNode, binary: "/usr/bin/node", bootstrap: "bootstrap.js"}
	pythonSpec = &runtimeSpec{lang: langPython, name: RuntimePython, binary: "/usr/bin/python3", bootstrap: "bootstrap.py"}
)

// ParseRuntime returns the canonical name of a runtime: NODE20X for NODE20X,
// NODE16X and NODE24X (all run on the installed Node.js), PYTHON39 for
// PYTHON39 (the installed Debian CPython 3). Matching ignores case. It
// returns an error for any other name.
func ParseRuntime(name string) (string, error) {
	spec, err := specFor(name)
	if err != nil {
		return "", err
	}
	return spec.name, nil
}

func specFor(name string) (*runtimeSpec, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "NODE20X", "NODE16X", "NODE24X", "NODE", "NODEJS", "JAVASCRIPT":
		return nodeSpec, nil
	case "PYTHON39", "PYTHON", "PYTHON3":
		return pythonSpec, nil
	}
	return nil, fmt.Errorf("sandbox: unknown runtime %q (want NODE20X, NODE16X, NODE24X or PYTHON39)", name)
}

// RuntimeForFile guesses a runtime from a file name's extension: NODE20X for
// .js, .cjs and .mjs, PYTHON39 for .py. It returns "" for anything else.
func RuntimeForFile(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".cjs", ".mjs":
		return RuntimeNode
	case ".py":
		return RuntimePython
	}
	return ""
}
