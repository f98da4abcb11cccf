package codetest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Find returns the case files under paths: a case file as is, the case
// file of a code file (score.js → score.test.yaml), and every case file
// under a directory (skipping node_modules and dot directories). An empty
// paths means the current directory.
func Find(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("spoke test: %w", err)
		}
		if !st.IsDir() {
			if IsCaseFile(p) {
				out = append(out, filepath.Clean(p))
				continue
			}
			found := false
			stem := strings.TrimSuffix(p, filepath.Ext(p))
			for _, ext := range []string{".test.yaml", ".test.yml", ".test.json"} {
				if _, err := os.Stat(stem + ext); err == nil {
					out, found = append(out, filepath.Clean(stem+ext)), true
				}
			}
			if !found {
				return nil, fmt.Errorf("spoke test: %s is neither a case file (*.test.yaml, *.test.json) nor code with one beside it", p)
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && IsCaseFile(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("spoke test: %w", err)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Load parses case files. It returns every broken file's error, so that
// one run reports them all.
func Load(files []string, env func(string) (string, bool)) ([]*Case, []error) {
	var cases []*Case
	var errs []error
	for _, f := range files {
		cs, err := LoadFile(f, env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cases = append(cases, cs...)
	}
	return cases, errs
}
