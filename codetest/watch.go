package codetest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// fileStamp is what a poll compares: a file's modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

// watchSet maps each watched file to the case files it affects.
func watchSet(paths []string) map[string][]string {
	set := map[string][]string{}
	files, err := Find(paths)
	if err != nil {
		return set
	}
	for _, f := range files {
		set[f] = append(set[f], f)
		// A broken case file still watches its conventional code file.
		code := codeFor(f)
		if cs, err := LoadFile(f, func(string) (string, bool) { return "", true }); err == nil && len(cs) > 0 {
			code = cs[0].Code
		}
		set[code] = append(set[code], f)
		if _, p, err := readDotenv(filepath.Dir(f)); err == nil {
			set[p] = append(set[p], f)
		}
	}
	return set
}

// Watch polls the case files under paths, their code files and .env
// files every interval, and calls onChange with the case files affected
// by each batch of changes (a new case file included), until ctx is done.
func Watch(ctx context.Context, paths []string, interval time.Duration, onChange func(caseFiles []string)) {
	stamps := func(set map[string][]string) map[string]fileStamp {
		out := map[string]fileStamp{}
		for f := range set {
			if st, err := os.Stat(f); err == nil {
				out[f] = fileStamp{st.ModTime(), st.Size()}
			}
		}
		return out
	}
	set := watchSet(paths)
	last := stamps(set)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		set = watchSet(paths)
		now := stamps(set)
		var changed []string
		for f, st := range now {
			if old, ok := last[f]; !ok || old != st {
				changed = append(changed, set[f]...)
			}
		}
		last = now
		if len(changed) > 0 {
			slices.Sort(changed)
			onChange(slices.Compact(changed))
		}
	}
}
