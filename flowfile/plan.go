package flowfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/internal/textdiff"
)

// Change kinds.
const (
	Create    = "create"
	Update    = "update"
	Unchanged = "unchanged"
	Conflict  = "conflict"
	Invalid   = "invalid"
)

// FlowChange is what applying one folder would do to its flow.
type FlowChange struct {
	Dir  string
	Name string
	Kind string
	// ID and RevisionID are the server's flow and its current revision
	// (empty for a create).
	ID, RevisionID string
	// Lines describe the change: actions added, removed, changed, with
	// code diffs.
	Lines []string
	// Message explains a conflict or an invalid folder.
	Message string
	// Warnings are the server's findings on the saved flow (Spoke lints
	// custom code on every save), one line each, set by Apply.
	Warnings []string

	folder *Folder
	sync   Sync
}

// PropertyChange is what applying would do to one property.
type PropertyChange struct {
	Property Property
	Kind     string
	Fields   []string
	Message  string
}

// Plan is what applying folders would do.
type Plan struct {
	Target     string
	Properties []*PropertyChange
	Flows      []*FlowChange
}

// Blocked reports whether the plan holds a conflict or an invalid folder.
func (p *Plan) Blocked() bool {
	for _, f := range p.Flows {
		if f.Kind == Conflict || f.Kind == Invalid {
			return true
		}
	}
	for _, pc := range p.Properties {
		if pc.Kind == Invalid || pc.Kind == Conflict {
			return true
		}
	}
	return false
}

// Changes counts the creates and updates.
func (p *Plan) Changes() int {
	n := 0
	for _, f := range p.Flows {
		if f.Kind == Create || f.Kind == Update {
			n++
		}
	}
	for _, pc := range p.Properties {
		if pc.Kind == Create || pc.Kind == Update {
			n++
		}
	}
	return n
}

// Write renders the plan for a person.
func (p *Plan) Write(w io.Writer) {
	counts := map[string]int{}
	for _, pc := range p.Properties {
		counts[pc.Kind]++
		line := fmt.Sprintf("property %s.%s: %s", pc.Property.ObjectType, pc.Property.Name, pc.Kind)
		if len(pc.Fields) > 0 {
			line += " (" + strings.Join(pc.Fields, ", ") + ")"
		}
		if pc.Message != "" {
			line += ": " + pc.Message
		}
		fmt.Fprintln(w, line)
	}
	for _, f := range p.Flows {
		counts[f.Kind]++
		where := f.Dir
		if f.ID != "" {
			where += ", id " + f.ID
		}
		head := fmt.Sprintf("flow %q (%s): %s", f.Name, where, f.Kind)
		if f.Kind == Update {
			head += fmt.Sprintf(" (revision %s -> next)", f.RevisionID)
		}
		if f.Message != "" {
			head += ": " + f.Message
		}
		fmt.Fprintln(w, head)
		for _, l := range f.Lines {
			fmt.Fprintln(w, "  "+strings.ReplaceAll(l, "\n", "\n  "))
		}
	}
	var parts []string
	for _, k := range []string{Create, Update, Unchanged, Conflict, Invalid} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[k], k))
		}
	}
	summary := strings.Join(parts, ", ")
	summary = strings.NewReplacer("to unchanged", "unchanged", "to conflict", "in conflict", "to invalid", "invalid").Replace(summary)
	fmt.Fprintf(w, "Plan for %s: %s\n", p.Target, summary)
}

// canonical returns a document as a server stores it (defaults filled by
// the same flow.Parse the server runs), without store-owned fields.
func canonical(doc map[string]any) (map[string]any, error) {
	d := cloneJSON(doc).(map[string]any)
	for _, k := range storeOwned {
		delete(d, k)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	f, err := flow.Parse(b)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(f.Raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	for _, k := range storeOwned {
		delete(out, k)
	}
	return out, nil
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// MakePlan compares each folder with its flow on the server.
func MakePlan(ctx context.Context, c *Client, dirs []string) (*Plan, error) {
	p := &Plan{Target: c.Target()}
	var listed []FlowSummary
	listedOK := false
	seenProps := map[string]bool{}
	for _, dir := range dirs {
		fc := &FlowChange{Dir: dir}
		p.Flows = append(p.Flows, fc)
		f, err := Read(dir)
		if err != nil {
			fc.Kind, fc.Message = Invalid, err.Error()
			continue
		}
		fc.folder, fc.Name = f, f.Name()
		if fc.sync, err = ReadSync(dir); err != nil {
			fc.Kind, fc.Message = Invalid, err.Error()
			continue
		}
		for _, prop := range f.Properties {
			key := prop.ObjectType + "." + prop.Name
			if seenProps[key] {
				continue
			}
			seenProps[key] = true
			pc, err := planProperty(ctx, c, prop)
			if err != nil {
				return nil, err
			}
			p.Properties = append(p.Properties, pc)
		}
		local, err := canonical(f.Doc)
		if err != nil {
			fc.Kind, fc.Message = Invalid, err.Error()
			continue
		}
		// Find the flow: by the id recorded for this server, else by name.
		var remote map[string]any
		rec, synced := fc.sync[c.Target()]
		if synced {
			remote, err = c.GetFlow(ctx, rec.ID)
			if IsNotFound(err) {
				remote, err, synced = nil, nil, false
			}
			if err != nil {
				return nil, fmt.Errorf("flow %s: %w", rec.ID, err)
			}
		}
		if remote == nil {
			if !listedOK {
				if listed, err = c.ListFlows(ctx); err != nil {
					return nil, err
				}
				listedOK = true
			}
			var ids []string
			for _, s := range listed {
				if s.Name == fc.Name {
					ids = append(ids, s.ID)
				}
			}
			switch len(ids) {
			case 0:
			case 1:
				if remote, err = c.GetFlow(ctx, ids[0]); err != nil {
					return nil, fmt.Errorf("flow %s: %w", ids[0], err)
				}
			default:
				fc.Kind = Conflict
				fc.Message = fmt.Sprintf("%d flows on the server are named %q (ids %s) and %s records none of them; export the one to keep", len(ids), fc.Name, strings.Join(ids, ", "), SyncFile)
				continue
			}
		}
		if remote == nil {
			fc.Kind = Create
			fc.Lines = actionLines(nil, local, f.SourceFiles)
			continue
		}
		fc.ID, _ = remote["id"].(string)
		fc.RevisionID, _ = remote["revisionId"].(string)
		server, err := canonical(remote)
		if err != nil {
			return nil, fmt.Errorf("flow %s from the server: %w", fc.ID, err)
		}
		if sameJSON(server, local) {
			fc.Kind = Unchanged
			continue
		}
		fc.Kind = Update
		fc.Lines = append(topLines(server, local), actionLines(server, local, f.SourceFiles)...)
		switch {
		case !synced:
			fc.Kind = Conflict
			fc.Message = fmt.Sprintf("a flow named %q exists on the server and differs, and this folder was never exported from or applied to it; export it first, or apply with --force to overwrite it", fc.Name)
		case rec.RevisionID != fc.RevisionID:
			fc.Kind = Conflict
			fc.Message = fmt.Sprintf("changed on the server since the last export (now revision %s, exported at %s); export it again and merge, or apply with --force to overwrite it", fc.RevisionID, rec.RevisionID)
		}
	}
	return p, nil
}

// topLines describes the flow-level fields that differ.
func topLines(server, local map[string]any) []string {
	var keys []string
	for k := range server {
		keys = append(keys, k)
	}
	for k := range local {
		if _, ok := server[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if k == "actions" || sameJSON(server[k], local[k]) {
			continue
		}
		sv, lv := server[k], local[k]
		switch {
		case sv == nil:
			out = append(out, fmt.Sprintf("+ %s: %s", k, short(lv)))
		case lv == nil:
			out = append(out, fmt.Sprintf("- %s: %s", k, short(sv)))
		default:
			out = append(out, fmt.Sprintf("~ %s: %s -> %s", k, short(sv), short(lv)))
		}
	}
	return out
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

func actionsByID(doc map[string]any) ([]string, map[string]map[string]any) {
	var ids []string
	m := map[string]map[string]any{}
	if doc == nil {
		return nil, m
	}
	list, _ := doc["actions"].([]any)
	for _, a := range list {
		act, ok := a.(map[string]any)
		if !ok {
			continue
		}
		id, _ := act["actionId"].(string)
		ids = append(ids, id)
		m[id] = act
	}
	return ids, m
}

func actionLabel(id string, act map[string]any, files map[string]string) string {
	typ, _ := act["type"].(string)
	s := "action " + id + " " + typ
	if t, ok := act["actionTypeId"].(string); ok && t != "" {
		s += " " + t
	}
	if f := files[id]; f != "" {
		s += " (" + f + ")"
	}
	return s
}

// actionLines describes actions added, removed and changed, with a diff
// of changed source code.
func actionLines(server, local map[string]any, files map[string]string) []string {
	sIDs, sActs := actionsByID(server)
	lIDs, lActs := actionsByID(local)
	var out []string
	for _, id := range lIDs {
		la := lActs[id]
		sa, ok := sActs[id]
		if !ok {
			out = append(out, "+ "+actionLabel(id, la, files))
			continue
		}
		if sameJSON(sa, la) {
			continue
		}
		var fields []string
		for k := range union(sa, la) {
			if !sameJSON(sa[k], la[k]) {
				fields = append(fields, k)
			}
		}
		slices.Sort(fields)
		line := "~ " + actionLabel(id, la, files) + ": " + strings.Join(fields, ", ")
		if slices.Contains(fields, "sourceCode") {
			sc, _ := sa["sourceCode"].(string)
			lc, _ := la["sourceCode"].(string)
			name := files[id]
			if name == "" {
				name = "sourceCode"
			}
			line += "\n    " + strings.ReplaceAll(strings.TrimRight(textdiff.Unified("server/"+name, "local/"+name, sc, lc, 3), "\n"), "\n", "\n    ")
		}
		out = append(out, line)
	}
	for _, id := range sIDs {
		if _, ok := lActs[id]; !ok {
			out = append(out, "- "+actionLabel(id, sActs[id], nil))
		}
	}
	return out
}

func union(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// planProperty compares a property definition with the server's.
func planProperty(ctx context.Context, c *Client, p Property) (*PropertyChange, error) {
	pc := &PropertyChange{Property: p}
	remote, err := c.GetProperty(ctx, p.ObjectType, p.Name)
	if IsNotFound(err) {
		pc.Kind = Create
		return pc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("property %s.%s: %w", p.ObjectType, p.Name, err)
	}
	if remote.HubspotDefined {
		pc.Kind, pc.Message = Invalid, "HubSpot-defined properties cannot be applied; remove it from "+PropertiesYAML
		return pc, nil
	}
	check := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			pc.Fields = append(pc.Fields, name)
		}
	}
	check("label", remote.Label, p.Label)
	check("type", remote.Type, p.Type)
	check("fieldType", remote.FieldType, p.FieldType)
	check("groupName", remote.GroupName, p.GroupName)
	check("description", remote.Description, p.Description)
	if len(remote.Options) > 0 || len(p.Options) > 0 {
		check("options", remote.Options, p.Options)
	}
	pc.Kind = Unchanged
	if len(pc.Fields) > 0 {
		pc.Kind = Update
	}
	return pc, nil
}

// Apply carries out a plan: properties first (flows refer to them), then
// flows, recording each flow's new revision in its folder. A plan with a
// conflict or an invalid folder is refused unless force is set (invalid
// folders are refused always). It returns how many properties and flows
// it created or updated.
func Apply(ctx context.Context, c *Client, p *Plan, force bool) (int, error) {
	n, err := apply(ctx, c, p, force)
	return n, err
}

func apply(ctx context.Context, c *Client, p *Plan, force bool) (n int, err error) {
	for _, f := range p.Flows {
		if f.Kind == Invalid {
			return n, fmt.Errorf("%s: %s", f.Dir, f.Message)
		}
		if f.Kind == Conflict && !force {
			return n, fmt.Errorf("flow %q (%s) is in conflict: %s", f.Name, f.Dir, f.Message)
		}
	}
	for _, pc := range p.Properties {
		if pc.Kind == Invalid {
			return n, fmt.Errorf("property %s.%s: %s", pc.Property.ObjectType, pc.Property.Name, pc.Message)
		}
	}
	for _, pc := range p.Properties {
		var err error
		switch pc.Kind {
		case Create:
			err = c.CreateProperty(ctx, pc.Property)
		case Update:
			err = c.UpdateProperty(ctx, pc.Property)
		}
		if err != nil {
			return n, fmt.Errorf("property %s.%s: %w", pc.Property.ObjectType, pc.Property.Name, err)
		}
		if pc.Kind != Unchanged {
			n++
		}
	}
	for _, f := range p.Flows {
		var out map[string]any
		var err error
		switch f.Kind {
		case Create:
			out, err = c.CreateFlow(ctx, f.folder.Doc)
		case Update, Conflict:
			if f.ID == "" {
				// A name shared by several flows: force cannot pick one.
				return n, fmt.Errorf("flow %q (%s): %s", f.Name, f.Dir, f.Message)
			}
			out, err = c.UpdateFlow(ctx, f.ID, f.RevisionID, f.folder.Doc)
		case Unchanged:
			out = map[string]any{"id": f.ID, "revisionId": f.RevisionID}
		}
		if err != nil {
			return n, fmt.Errorf("flow %q (%s): %w", f.Name, f.Dir, err)
		}
		if f.Kind != Unchanged {
			n++
		}
		f.Warnings = warningLines(out)
		id, _ := out["id"].(string)
		rev, _ := out["revisionId"].(string)
		if rec, ok := f.sync[p.Target]; ok && rec.ID == id && rec.RevisionID == rev {
			continue
		}
		f.sync[p.Target] = SyncEntry{ID: id, RevisionID: rev}
		if err := WriteSync(f.Dir, f.sync); err != nil {
			return n, err
		}
	}
	return n, nil
}

// warningLines renders the "warnings" a flow save answers with.
func warningLines(out map[string]any) []string {
	list, _ := out["warnings"].([]any)
	var lines []string
	for _, w := range list {
		m, ok := w.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { return fmt.Sprint(m[k]) }
		lines = append(lines, fmt.Sprintf("action %s:%s:%s %s %s: %s", str("actionId"), str("line"), str("column"), str("rule"), str("severity"), str("message")))
	}
	return lines
}
