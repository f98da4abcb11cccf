// Package flowfile keeps workflows as code: a flow as a folder of files
// (flow.yaml, one source file per custom code action, the custom
// properties it uses), exported from a Spoke server, reviewed in git, and
// applied back through the API with a plan.
//
// A folder:
//
//	score-leads/
//	  flow.yaml            the automation v4 flow, stable key order, with
//	                       sourceFile: in place of each sourceCode
//	  actions/score.js     a custom code action's source
//	  properties.yaml      custom property definitions the flow uses
//	  .spoke-sync.json     per server: the flow's id and the revision last
//	                       exported or applied (for conflict detection)
//
// Store-owned fields (id, revisionId, createdAt, updatedAt,
// nextAvailableActionId, crmObjectCreationStatus) are not in flow.yaml, so
// the same folder applies to any server. Secret names are kept; secret
// values never appear in a flow.
package flowfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File names inside a flow folder.
const (
	FlowYAML       = "flow.yaml"
	FlowJSON       = "flow.json"
	PropertiesYAML = "properties.yaml"
	SyncFile       = ".spoke-sync.json"
)

// storeOwned are the fields a server sets; they never go into a folder.
var storeOwned = []string{"id", "revisionId", "createdAt", "updatedAt", "nextAvailableActionId", "crmObjectCreationStatus"}

// Folder is one flow as files.
type Folder struct {
	// Dir is the folder.
	Dir string
	// Doc is the flow document with each custom code action's sourceCode
	// inlined (JSON values: map[string]any, []any, json.Number...).
	Doc map[string]any
	// SourceFiles maps an actionId to its source file, relative to Dir.
	SourceFiles map[string]string
	// Properties are the custom property definitions the flow uses.
	Properties []Property
	// JSON is true when the flow is kept as flow.json.
	JSON bool
}

// Name is the flow's name.
func (f *Folder) Name() string {
	s, _ := f.Doc["name"].(string)
	return s
}

// Property is a custom property definition, as the properties API takes it.
type Property struct {
	ObjectType  string   `json:"objectType" yaml:"objectType"`
	Name        string   `json:"name" yaml:"name"`
	Label       string   `json:"label" yaml:"label"`
	Type        string   `json:"type" yaml:"type"`
	FieldType   string   `json:"fieldType" yaml:"fieldType"`
	GroupName   string   `json:"groupName" yaml:"groupName"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Options     []Option `json:"options,omitempty" yaml:"options,omitempty"`
}

// Option is an enumeration property's option.
type Option struct {
	Label        string `json:"label" yaml:"label"`
	Value        string `json:"value" yaml:"value"`
	DisplayOrder int    `json:"displayOrder" yaml:"displayOrder"`
	Hidden       bool   `json:"hidden,omitempty" yaml:"hidden,omitempty"`
}

// IsFolder reports whether dir holds a flow.
func IsFolder(dir string) bool {
	for _, n := range []string{FlowYAML, FlowJSON} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// Folders returns dir itself when it is a flow folder, else its
// subdirectories that are, in name order.
func Folders(dir string) ([]string, error) {
	if IsFolder(dir) {
		return []string{dir}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("flowfile: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && IsFolder(filepath.Join(dir, e.Name())) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("flowfile: %s holds no flow folder (a directory with %s)", dir, FlowYAML)
	}
	return out, nil
}

// Read loads a flow folder: the document with each sourceFile read into
// sourceCode, and its properties.
func Read(dir string) (*Folder, error) {
	f := &Folder{Dir: dir, SourceFiles: map[string]string{}}
	path := filepath.Join(dir, FlowYAML)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(dir, FlowJSON)
		data, err = os.ReadFile(path)
		f.JSON = true
	}
	if err != nil {
		return nil, fmt.Errorf("flowfile: %w", err)
	}
	doc, err := decodeDoc(path, data)
	if err != nil {
		return nil, err
	}
	for _, k := range storeOwned {
		delete(doc, k)
	}
	actions, _ := doc["actions"].([]any)
	for i, a := range actions {
		act, ok := a.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: actions[%d] is not a mapping", path, i)
		}
		src, ok := act["sourceFile"].(string)
		if !ok {
			continue
		}
		if _, inline := act["sourceCode"]; inline {
			return nil, fmt.Errorf("%s: actions[%d] has both sourceFile and sourceCode", path, i)
		}
		if filepath.IsAbs(src) || strings.HasPrefix(filepath.Clean(src), "..") {
			return nil, fmt.Errorf("%s: actions[%d]: sourceFile %q must be inside the flow folder", path, i, src)
		}
		code, err := os.ReadFile(filepath.Join(dir, src))
		if err != nil {
			return nil, fmt.Errorf("%s: actions[%d]: %w", path, i, err)
		}
		delete(act, "sourceFile")
		act["sourceCode"] = string(code)
		id, _ := act["actionId"].(string)
		f.SourceFiles[id] = filepath.ToSlash(src)
	}
	f.Doc = doc
	if b, err := os.ReadFile(filepath.Join(dir, PropertiesYAML)); err == nil {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f.Properties); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PropertiesYAML), err)
		}
	}
	return f, nil
}

// decodeDoc reads a flow document from YAML or JSON into JSON values.
func decodeDoc(path string, data []byte) (map[string]any, error) {
	if strings.HasSuffix(path, ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return doc, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the flow must be a mapping", path)
	}
	v, err := fromNode(n.Content[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v.(map[string]any), nil
}

// fromNode converts YAML to JSON values, keeping numbers as json.Number
// and strings as strings (ids such as "1" stay strings when quoted).
func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			v, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
		case "!!int", "!!float":
			if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
				return nil, fmt.Errorf("line %d: %q is not a JSON number", n.Line, n.Value)
			}
			return json.Number(n.Value), nil
		default:
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// keyOrder lists the keys that come first, in this order, in a flow and in
// an action; the rest follow alphabetically.
var keyOrder = []string{
	"actionId", "name", "description", "uuid", "type", "objectTypeId", "flowType", "isEnabled", "startActionId", "enrollmentCriteria",
	"actionTypeId", "actionTypeVersion", "runtime", "sourceFile", "sourceCode", "secretNames",
	"inputFields", "outputFields", "fields", "connection",
	"actions",
}

func keyRank(k string) int {
	if i := slices.Index(keyOrder, k); i >= 0 {
		return i
	}
	return len(keyOrder)
}

// toNode renders JSON values as YAML with a stable key order.
func toNode(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if ra, rb := keyRank(a), keyRank(b); ra != rb {
				return ra - rb
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toNode(x[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			n.Content = append(n.Content, toNode(e))
		}
		if len(x) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		if strings.Contains(x, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(x), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(x)}
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		tag := "!!int"
		if x != math.Trunc(x) {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	b, _ := json.Marshal(v)
	var back any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&back)
	return toNode(back)
}

// EncodeYAML renders JSON values as YAML with a stable key order.
func EncodeYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(toNode(v)); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

// Write writes the folder: flow.yaml (or flow.json) with each custom code
// action's source in its SourceFiles file (actions/action-<id>.js or .py
// for an action without one), and properties.yaml when there are
// properties. Files the folder no longer needs are left alone.
func (f *Folder) Write() error {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("flowfile: %w", err)
	}
	doc := cloneJSON(f.Doc).(map[string]any)
	for _, k := range storeOwned {
		delete(doc, k)
	}
	actions, _ := doc["actions"].([]any)
	for _, a := range actions {
		act, ok := a.(map[string]any)
		if !ok {
			continue
		}
		code, ok := act["sourceCode"].(string)
		if !ok {
			continue
		}
		id, _ := act["actionId"].(string)
		src := f.SourceFiles[id]
		if src == "" {
			ext := ".js"
			if rt, _ := act["runtime"].(string); strings.HasPrefix(rt, "PYTHON") {
				ext = ".py"
			}
			src = "actions/action-" + id + ext
			f.SourceFiles[id] = src
		}
		p := filepath.Join(f.Dir, filepath.FromSlash(src))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("flowfile: %w", err)
		}
		if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
			return fmt.Errorf("flowfile: %w", err)
		}
		delete(act, "sourceCode")
		act["sourceFile"] = src
	}
	var data []byte
	var err error
	name := FlowYAML
	if f.JSON {
		name = FlowJSON
		data, err = marshalJSON(doc)
	} else {
		data, err = EncodeYAML(doc)
	}
	if err != nil {
		return fmt.Errorf("flowfile: encode %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, name), data, 0o644); err != nil {
		return fmt.Errorf("flowfile: %w", err)
	}
	if len(f.Properties) > 0 {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(f.Properties); err != nil {
			return fmt.Errorf("flowfile: encode %s: %w", PropertiesYAML, err)
		}
		if err := os.WriteFile(filepath.Join(f.Dir, PropertiesYAML), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("flowfile: %w", err)
		}
	}
	return nil
}

// marshalJSON renders JSON values indented, keys sorted, HTML unescaped.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// cloneJSON deep-copies JSON values.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneJSON(e)
		}
		return s
	}
	return v
}

// Sync records, per server, the flow's id and the revision last exported
// or applied, so that apply can tell a flow changed on the server since.
type Sync map[string]SyncEntry

// SyncEntry is one server's record.
type SyncEntry struct {
	ID         string `json:"id"`
	RevisionID string `json:"revisionId"`
}

// ReadSync reads a folder's sync records (none when the file is missing).
func ReadSync(dir string) (Sync, error) {
	s := Sync{}
	b, err := os.ReadFile(filepath.Join(dir, SyncFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flowfile: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("flowfile: %s: %w", filepath.Join(dir, SyncFile), err)
	}
	return s, nil
}

// WriteSync writes a folder's sync records.
func WriteSync(dir string, s Sync) error {
	b, err := marshalJSON(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, SyncFile), b, 0o644); err != nil {
		return fmt.Errorf("flowfile: %w", err)
	}
	return nil
}
