package sandbox

import (
	"archive/zip"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"
)

//go:embed node/bootstrap.js
var nodeBootstrap []byte

// pythonFiles are the Python bootstrap and the modules Spoke ships with its
// Python runtime (hubspot). The patterns name files rather than the
// directory so that hubspot/__init__.py and _*.py are included and
// __pycache__ is not.
//
//go:embed python/bootstrap.py python/hubspot/*.py python/hubspot/*.json python/hubspot/*/*.py
var pythonFiles embed.FS

// pythonBootstrap is a zip application: python3 runs its __main__.py (the
// bootstrap) and puts the archive first on sys.path, so the modules in it
// import like installed ones, from the one read-only file each sandbox
// already binds.
var pythonBootstrap = mustZipPython()

func mustZipPython() []byte {
	b, err := zipPython(pythonFiles)
	if err != nil {
		// The files are embedded at build time; this cannot fail at run
		// time unless the build itself is broken.
		panic(fmt.Sprintf("sandbox: pack the Python runtime: %v", err))
	}
	return b
}

// zipPython packs python/bootstrap.py as __main__.py and python/hubspot/**
// as hubspot/**, uncompressed (workers read it on every start, and the
// files are small) and with a fixed time, so that the archive is the same
// for the same sources.
func zipPython(files fs.FS) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, src string) error {
		data, err := fs.ReadFile(files, src)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := add("__main__.py", "python/bootstrap.py"); err != nil {
		return nil, err
	}
	err := fs.WalkDir(files, "python/hubspot", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return add(path.Join("hubspot", strings.TrimPrefix(p, "python/hubspot/")), p)
	})
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

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
	pythonSpec = &runtimeSpec{lang: langPython, name: RuntimePython, binary: "/usr/bin/python3", bootstrap: "runtime.pyz"}
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
