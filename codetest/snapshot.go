package codetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spokehq/spoke/internal/textdiff"
)

// A snapshot records what a case produced: status, outputs, error, CRM
// writes and log lines (without timestamps). Snapshots of a case file live
// beside it, in score.test.snap.json, keyed by case name; --update writes
// them and later runs compare. Secret values never reach the file: the
// outcome is redacted before it is recorded.
type snapshot struct {
	Status       string         `json:"status"`
	OutputFields map[string]any `json:"outputFields"`
	Error        *snapError     `json:"error,omitempty"`
	CRM          *Writes        `json:"crmWrites,omitempty"`
	HTTP         []string       `json:"httpCalls,omitempty"`
	Logs         []string       `json:"logs"`
}

type snapError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type snapshotFile struct {
	path    string
	entries map[string]json.RawMessage
	dirty   bool
}

// SnapshotPath is where the snapshots of a case file are kept.
func SnapshotPath(caseFile string) string {
	i := strings.LastIndex(caseFile, ".test.")
	return caseFile[:i] + ".test.snap.json"
}

var logStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z?\t`)

func snapshotOf(oc *Outcome) snapshot {
	s := snapshot{Status: string(oc.Status), OutputFields: oc.OutputFields, Logs: []string{}}
	if s.OutputFields == nil {
		s.OutputFields = map[string]any{}
	}
	if oc.Error != nil {
		s.Error = &snapError{Type: string(oc.Error.Type), Message: oc.Error.Message}
	}
	if !oc.Writes.Empty() {
		s.CRM = oc.Writes
	}
	for _, c := range oc.Calls {
		s.HTTP = append(s.HTTP, fmt.Sprintf("%s %s -> %d", c.Method, c.URL, c.Status))
	}
	for _, l := range strings.Split(strings.TrimRight(oc.Logs, "\n"), "\n") {
		if l != "" {
			s.Logs = append(s.Logs, logStamp.ReplaceAllString(l, ""))
		}
	}
	return s
}

func marshalIndent(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return buf.Bytes()
}

func (s *snapshots) file(caseFile string) *snapshotFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := SnapshotPath(caseFile)
	if f, ok := s.files[path]; ok {
		return f
	}
	f := &snapshotFile{path: path, entries: map[string]json.RawMessage{}}
	if b, err := os.ReadFile(path); err == nil {
		// A snapshot file that does not parse is treated as empty; --update
		// rewrites it.
		json.Unmarshal(b, &f.entries)
	}
	s.files[path] = f
	return f
}

// check compares a case's outcome with its snapshot, or records it when
// update is set. It returns the status ("" when the case has no snapshot)
// and, on a mismatch, a diff from the snapshot to this run.
func (s *snapshots) check(c *Case, oc *Outcome, update bool) (string, string) {
	f := s.file(c.File)
	got := marshalIndent(snapshotOf(oc))
	old, ok := f.entries[c.Name]
	var want []byte
	if ok {
		want = marshalIndent(old)
	}
	if update {
		if ok && bytes.Equal(want, got) {
			return "unchanged", ""
		}
		f.entries[c.Name] = json.RawMessage(bytes.TrimSpace(got))
		f.dirty = true
		return "written", ""
	}
	if !ok {
		return "", ""
	}
	if bytes.Equal(want, got) {
		return "matched", ""
	}
	return "mismatched", textdiff.Unified("snapshot", "this run", string(want), string(got), 3)
}

// flush writes the snapshot files that changed.
func (s *snapshots) flush(update bool) error {
	if !update {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if !f.dirty {
			continue
		}
		if err := os.WriteFile(f.path, marshalIndent(f.entries), 0o644); err != nil {
			return fmt.Errorf("codetest: write snapshots: %w", err)
		}
		f.dirty = false
	}
	return nil
}
