package codetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": "exports.main = async () => ({});", "a.test.yaml": "inputFields: {}\n",
		"b.js": "exports.main = async () => ({});", "b.test.yaml": "inputFields: {}\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []string, 4)
	go Watch(ctx, []string{dir}, 20*time.Millisecond, func(files []string) { got <- files })
	time.Sleep(100 * time.Millisecond)
	// A changed code file reruns its case file only.
	later := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(dir, "b.js"), later, later)
	select {
	case files := <-got:
		if len(files) != 1 || files[0] != filepath.Join(dir, "b.test.yaml") {
			t.Errorf("changed b.js: %v", files)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change seen")
	}
	// A new case file is picked up.
	writeFiles(t, dir, map[string]string{"c.js": "exports.main = async () => ({});", "c.test.yaml": "inputFields: {}\n"})
	select {
	case files := <-got:
		if len(files) != 1 || files[0] != filepath.Join(dir, "c.test.yaml") {
			t.Errorf("new case file: %v", files)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("new case file not seen")
	}
}
