package codetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
)

// check compares one run's outcome with the case's expectations and
// returns what is wrong, one message per failed expectation.
func check(c *Case, oc *Outcome) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	e := &c.Expect

	for _, call := range oc.Calls {
		if !call.Matched {
			failf("external call %s %s has no declared response; nothing left the machine (declare it under http:, e.g. \"%s %s -> 200 {}\")",
				call.Method, call.URL, call.Method, call.URL)
		}
	}
	if string(oc.Status) != e.Status {
		msg := fmt.Sprintf("status: got %s, want %s", oc.Status, e.Status)
		if oc.Error != nil {
			msg += fmt.Sprintf(" (%s: %s)", oc.Error.Type, firstLine(oc.Error.Message))
		}
		fails = append(fails, msg)
	}
	if e.ErrorType != "" {
		switch {
		case oc.Error == nil:
			failf("error: got none, want %s", e.ErrorType)
		case string(oc.Error.Type) != e.ErrorType:
			failf("error: got %s (%s), want %s", oc.Error.Type, firstLine(oc.Error.Message), e.ErrorType)
		}
	}
	for _, m := range e.ErrorMessage {
		msg, present := "", oc.Error != nil
		if present {
			msg = oc.Error.Message
		}
		if p := m.Check(msg, present); p != "" {
			failf("error.message: %s", p)
		}
	}
	if oc.Status == sandbox.StatusSuccess || len(e.Outputs) > 0 {
		for _, f := range e.Outputs {
			v, present := oc.OutputFields[f.Name]
			for _, m := range f.Checks {
				if p := m.Check(v, present); p != "" {
					failf("outputs.%s: %s", f.Name, p)
				}
			}
		}
	}
	lines := strings.Split(strings.TrimRight(oc.Logs, "\n"), "\n")
	for _, le := range e.Logs {
		switch {
		case le.Contains != "":
			if !strings.Contains(oc.Logs, le.Contains) {
				failf("logs: no line contains %q%s", le.Contains, logTail(oc.Logs))
			}
		case le.NotContains != "":
			if strings.Contains(oc.Logs, le.NotContains) {
				failf("logs: a line contains %q, which must not appear", le.NotContains)
			}
		case le.Matches != nil:
			found := false
			for _, l := range lines {
				if le.Matches.re.MatchString(l) {
					found = true
					break
				}
			}
			if !found {
				failf("logs: no line matches /%s/%s", le.Matches.re, logTail(oc.Logs))
			}
		case le.NoSecrets:
			fails = append(fails, secretLeaks(oc)...)
		}
	}
	if e.CRM != nil {
		fails = append(fails, checkWrites(e.CRM, oc.Writes)...)
	}
	if e.MaxDuration > 0 {
		if d := time.Duration(oc.DurationMs * float64(time.Millisecond)); d > e.MaxDuration {
			failf("duration: took %s, over the budget of %s", d.Round(time.Millisecond), e.MaxDuration)
		}
	}
	if e.MaxMemoryMB > 0 && oc.MemoryBytes > int64(e.MaxMemoryMB)<<20 {
		failf("memory: used %.1f MB, over the budget of %d MB", float64(oc.MemoryBytes)/(1<<20), e.MaxMemoryMB)
	}
	return fails
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// logTail shows the end of the log in a failure message.
func logTail(logs string) string {
	logs = strings.TrimRight(logs, "\n")
	if logs == "" {
		return " (the log is empty)"
	}
	lines := strings.Split(logs, "\n")
	if len(lines) > 8 {
		lines = append([]string{"..."}, lines[len(lines)-8:]...)
	}
	return "; the log:\n      " + strings.Join(lines, "\n      ")
}

// secretLeaks reports each secret whose value appears in the logs, the
// outputs, the error or a CRM write, naming the secret and where, never
// the value.
func secretLeaks(oc *Outcome) []string {
	var out []string
	outputs, _ := json.Marshal(oc.OutputFields)
	places := []struct{ where, text string }{{"the logs", oc.Logs}, {"the outputs", string(outputs)}}
	if oc.Error != nil {
		places = append(places, struct{ where, text string }{"the error", oc.Error.Message + "\n" + oc.Error.Stack})
	}
	if oc.Writes != nil {
		w, _ := json.Marshal(oc.Writes)
		places = append(places, struct{ where, text string }{"the CRM writes", string(w)})
	}
	for _, s := range oc.secretsRaw {
		if len(s.Value) < 3 {
			// Too short to tell a leak from a coincidence.
			continue
		}
		for _, p := range places {
			if strings.Contains(p.text, s.Value) {
				out = append(out, fmt.Sprintf("noSecrets: the value of secret %s (%s) appears in %s", s.Name, s.Source, p.where))
			}
		}
	}
	return out
}

// checkWrites compares the CRM writes with what the case expects.
func checkWrites(e *CRMExpect, w *Writes) []string {
	var fails []string
	if w == nil {
		w = &Writes{}
	}
	if e.None && !w.Empty() {
		fails = append(fails, "crm: want no writes, got "+describeWrites(w))
	}
	used := map[int]bool{}
	for _, want := range e.Created {
		t, _ := spoke.LookupObjectType(want.ObjectType)
		var best string
		found := false
		for i, got := range w.Created {
			if used[i] || got.Type != t.Name {
				continue
			}
			if p := propFailures(want.Properties, got.Properties); p != "" {
				if best == "" {
					best = fmt.Sprintf(" (closest, %s: %s)", got.Ref, p)
				}
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			fails = append(fails, fmt.Sprintf("crm.created (line %d): no created %s record matches%s; created: %s", want.Line, want.ObjectType, best, describeRecords(w.Created)))
		}
	}
	for _, want := range e.Updated {
		var got *WrittenRecord
		for i := range w.Updated {
			if w.Updated[i].Ref == want.Ref {
				got = &w.Updated[i]
			}
		}
		if got == nil {
			fails = append(fails, fmt.Sprintf("crm.updated (line %d): %s was not updated; updated: %s", want.Line, want.Ref, describeRecords(w.Updated)))
			continue
		}
		if p := propFailures(want.Properties, got.Properties); p != "" {
			fails = append(fails, fmt.Sprintf("crm.updated (line %d): %s: %s", want.Line, want.Ref, p))
		}
	}
	for _, want := range e.Associated {
		found := false
		for _, a := range w.Associated {
			if assocEnd(want.From, a.From, a.FromType) && assocEnd(want.To, a.To, a.ToType) ||
				assocEnd(want.From, a.To, a.ToType) && assocEnd(want.To, a.From, a.FromType) {
				found = true
				break
			}
		}
		if !found {
			var got []string
			for _, a := range w.Associated {
				got = append(got, a.From+" - "+a.To)
			}
			fails = append(fails, fmt.Sprintf("crm.associated (line %d): no association %s - %s; associated: [%s]", want.Line, want.From, want.To, strings.Join(got, ", ")))
		}
	}
	return fails
}

// assocEnd matches an expected end (a ref or an object type) with a
// written one.
func assocEnd(want, name, typ string) bool {
	if want == name {
		return true
	}
	t, ok := spoke.LookupObjectType(want)
	return ok && t.Name == typ
}

func propFailures(want []FieldExpect, got map[string]string) string {
	var out []string
	for _, f := range want {
		v, present := got[f.Name]
		for _, m := range f.Checks {
			// Stored values are strings; let a number in the case file
			// equal its decimal form.
			if m.Kind == "equals" {
				if s := scalarString(m.Value); present && s == v {
					continue
				}
			}
			if p := m.Check(v, present); p != "" {
				out = append(out, f.Name+": "+p)
			}
		}
	}
	return strings.Join(out, "; ")
}

func describeRecords(rs []WrittenRecord) string {
	if len(rs) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %s", r.Ref, render(r.Properties)))
	}
	return strings.Join(parts, ", ")
}

func describeWrites(w *Writes) string {
	return fmt.Sprintf("%d created, %d updated, %d associated", len(w.Created), len(w.Updated), len(w.Associated))
}
