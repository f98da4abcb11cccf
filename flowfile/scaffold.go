package flowfile

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// scaffold is the folder `spoke init` writes: a flow with a custom code
// action, its source, two test cases and a README.
//
//go:embed scaffold
var scaffold embed.FS

// Scaffold writes a new flow folder into dir (created if needed) and
// returns the files written. It refuses to overwrite an existing file.
func Scaffold(dir string) ([]string, error) {
	var files []string
	err := fs.WalkDir(scaffold, "scaffold", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("scaffold", path)
		target := filepath.Join(dir, rel)
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("flowfile: %s already exists; spoke init writes only into a new folder", target)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, rel := range files {
		data, err := scaffold.ReadFile(filepath.ToSlash(filepath.Join("scaffold", rel)))
		if err != nil {
			return nil, err
		}
		target := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, fmt.Errorf("flowfile: %w", err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return nil, fmt.Errorf("flowfile: %w", err)
		}
	}
	return files, nil
}
