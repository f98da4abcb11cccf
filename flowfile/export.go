package flowfile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spokehq/spoke"
)

// ExportOptions configure [Export].
type ExportOptions struct {
	// Out is the directory the flow folders go into.
	Out string
	// Flows selects flows by id or name; empty means every flow.
	Flows []string
	// JSON writes flow.json instead of flow.yaml (for new folders; an
	// existing folder keeps its format).
	JSON bool
}

// Export writes each selected flow as a folder under opts.Out and returns
// the folders written. A flow already exported from this server goes back
// into the same folder, keeping its source file names.
func Export(ctx context.Context, c *Client, opts ExportOptions) ([]string, error) {
	list, err := c.ListFlows(ctx)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, f := range opts.Flows {
		want[f] = true
	}
	found := map[string]bool{}
	existing, _ := Folders(opts.Out)
	var written []string
	for _, s := range list {
		if len(want) > 0 && !want[s.ID] && !want[s.Name] {
			continue
		}
		found[s.ID], found[s.Name] = true, true
		doc, err := c.GetFlow(ctx, s.ID)
		if err != nil {
			return written, fmt.Errorf("flow %s: %w", s.ID, err)
		}
		dir, prev := folderFor(c.Target(), opts.Out, s, existing, written)
		f := &Folder{Dir: dir, Doc: doc, SourceFiles: map[string]string{}, JSON: opts.JSON}
		if prev != nil {
			f.SourceFiles, f.JSON = prev.SourceFiles, prev.JSON
		}
		if f.Properties, err = usedProperties(ctx, c, doc); err != nil {
			return written, fmt.Errorf("flow %s: %w", s.ID, err)
		}
		if err := f.Write(); err != nil {
			return written, err
		}
		sync, err := ReadSync(dir)
		if err != nil {
			return written, err
		}
		rev, _ := doc["revisionId"].(string)
		sync[c.Target()] = SyncEntry{ID: s.ID, RevisionID: rev}
		if err := WriteSync(dir, sync); err != nil {
			return written, err
		}
		written = append(written, dir)
	}
	for _, w := range opts.Flows {
		if !found[w] {
			return written, fmt.Errorf("no flow with id or name %q on %s", w, c.Target())
		}
	}
	return written, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a folder name of a flow name.
func slug(name string) string {
	s := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if s == "" {
		s = "flow"
	}
	return s
}

// folderFor picks the folder of a flow: the one whose sync record names
// it on this server, else one named after the flow (with its id appended
// when that name is taken by another flow). It also returns the existing
// folder's contents, for its source file names.
func folderFor(target, out string, s FlowSummary, existing, written []string) (string, *Folder) {
	for _, d := range existing {
		if sync, err := ReadSync(d); err == nil && sync[target].ID == s.ID {
			prev, _ := readLayout(d)
			return d, prev
		}
	}
	dir := filepath.Join(out, slug(s.Name))
	taken := slices.Contains(written, dir)
	if !taken && IsFolder(dir) {
		// Another server's folder of the same name is this flow if it
		// has no record for this server.
		sync, _ := ReadSync(dir)
		if rec, ok := sync[target]; ok && rec.ID != s.ID {
			taken = true
		}
	}
	if taken {
		dir = filepath.Join(out, slug(s.Name)+"-"+s.ID)
	}
	prev, _ := readLayout(dir)
	return dir, prev
}

// readLayout reads which file holds each action's source, from an
// existing flow.yaml, without reading the sources.
func readLayout(dir string) (*Folder, error) {
	f := &Folder{Dir: dir, SourceFiles: map[string]string{}}
	path := filepath.Join(dir, FlowYAML)
	data, err := os.ReadFile(path)
	if err != nil {
		path = filepath.Join(dir, FlowJSON)
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		f.JSON = true
	}
	doc, err := decodeDoc(path, data)
	if err != nil {
		return nil, err
	}
	actions, _ := doc["actions"].([]any)
	for _, a := range actions {
		if act, ok := a.(map[string]any); ok {
			id, _ := act["actionId"].(string)
			if src, ok := act["sourceFile"].(string); ok {
				f.SourceFiles[id] = src
			}
		}
	}
	return f, nil
}

// usedProperties returns the custom properties a flow's document refers
// to: filter properties, OBJECT_PROPERTY values and set-property targets,
// on the flow's object type.
func usedProperties(ctx context.Context, c *Client, doc map[string]any) ([]Property, error) {
	typeID, _ := doc["objectTypeId"].(string)
	t, ok := spoke.LookupObjectType(typeID)
	if !ok {
		return nil, nil
	}
	names := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, k)
			}
		case []any:
			for _, e := range x {
				walk(e, key)
			}
		case string:
			if key == "propertyName" || key == "property" || key == "property_name" {
				names[x] = true
			}
		case json.RawMessage:
			var d any
			if json.Unmarshal(x, &d) == nil {
				walk(d, key)
			}
		}
	}
	walk(doc, "")
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	var out []Property
	for _, n := range sorted {
		p, err := c.GetProperty(ctx, t.Name, n)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !p.HubspotDefined {
			out = append(out, p.Property)
		}
	}
	return out, nil
}
