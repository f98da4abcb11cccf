package sandbox

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

// TestPythonRuntimeArchive checks that the zip application the Python
// workers run holds the bootstrap as __main__.py and every file of the
// hubspot module, including those go:embed leaves out of a directory
// pattern (__init__.py, _*.py), and no compiled files.
func TestPythonRuntimeArchive(t *testing.T) {
	zr, err := zip.NewReader(bytes.NewReader(pythonBootstrap), int64(len(pythonBootstrap)))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range zr.File {
		have[f.Name] = true
		if strings.Contains(f.Name, "__pycache__") || strings.HasSuffix(f.Name, ".pyc") {
			t.Errorf("archive holds %s", f.Name)
		}
	}
	for _, name := range []string{"__main__.py", "hubspot/__init__.py", "hubspot/_rest.py", "hubspot/_packages.py", "hubspot/api.json",
		"hubspot/client.py", "hubspot/hubspot.py", "hubspot/discovery/__init__.py", "hubspot/utils/objects.py"} {
		if !have[name] {
			t.Errorf("archive lacks %s (has %v)", name, have)
		}
	}
	again, err := zipPython(pythonFiles)
	if err != nil || !bytes.Equal(again, pythonBootstrap) {
		t.Errorf("packing the same files twice gave different archives (err %v)", err)
	}
}
