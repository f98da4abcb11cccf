package codetest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke/sandbox"
	"go.yaml.in/yaml/v3"
)

// Case is one test case of a custom code file.
type Case struct {
	// Name identifies the case in reports; unique within its file.
	Name string
	// File is the case file and Line the line the case starts on.
	File string
	Line int
	// Code is the path of the code under test and Runtime its runtime.
	Code    string
	Runtime string
	Event   Event
	Secrets []Secret
	// CRM is what the case's account holds before the code runs.
	CRM Seed
	// HTTP lists the declared responses of external services.
	HTTP     []Stub
	Timeout  time.Duration
	MemoryMB int
	Expect   Expect
}

// ID is "file: name", the case's name in reports and snapshots.
func (c *Case) ID() string { return c.File + ": " + c.Name }

// Event is the event the code receives; zero fields take defaults.
type Event struct {
	InputFields map[string]any
	// ObjectType and ObjectID name the enrolled record; ObjectRef names a
	// seeded record instead (its type and id are known once seeded).
	ObjectType         string
	ObjectID           int64
	ObjectRef          string
	PortalID           int64
	ActionDefinitionID int64
	CallbackID         string
}

// Secret is one secret the code finds in its environment.
type Secret struct {
	Name string
	// Value is the secret's value; when CRMToken is set it is a token of
	// the case's CRM account, created when the case runs.
	Value    string
	CRMToken bool
	// Source says where the value came from, for messages (never the
	// value itself): "literal", "env VAR", ".env VAR", "crm token".
	Source string
}

// Seed is the CRM content of a case's account.
type Seed struct {
	Properties   []SeedProperty
	Records      []SeedRecord
	Associations []SeedAssociation
}

// SeedProperty is a custom property definition.
type SeedProperty struct {
	ObjectType, Name, Label, Type, FieldType string
	Options                                  []string
}

// SeedRecord is a record, named by Ref so that events, associations and
// expectations can refer to it.
type SeedRecord struct {
	Ref        string
	ObjectType string
	Properties map[string]string
	Line       int
}

// SeedAssociation associates two seeded records with the default type.
type SeedAssociation struct {
	From, To string
	Line     int
}

// Stub is a declared response of an external service.
type Stub struct {
	Method string
	// URL is matched without its query string unless it has one.
	URL     string
	Status  int
	Body    string
	Headers map[string]string
	Line    int
}

// String renders the stub as written in the short form.
func (s Stub) String() string { return fmt.Sprintf("%s %s -> %d", s.Method, s.URL, s.Status) }

// Expect is what a case expects of the run.
type Expect struct {
	// Status is SUCCESS or ERROR.
	Status string
	// Outputs maps an output field to the checks its value must pass.
	Outputs []FieldExpect
	// ErrorType is the expected error type (RATE_LIMITED, ...) and
	// ErrorMessage checks on its message.
	ErrorType    string
	ErrorMessage []Matcher
	Logs         []LogExpect
	CRM          *CRMExpect
	// MaxDuration and MaxMemoryMB are budgets; zero means none.
	MaxDuration time.Duration
	MaxMemoryMB int
}

// FieldExpect checks one output field.
type FieldExpect struct {
	Name   string
	Checks []Matcher
}

// LogExpect is one check on the log: a line containing or matching text,
// text that must not appear, or that no secret value appears.
type LogExpect struct {
	Contains    string
	NotContains string
	Matches     *Matcher
	NoSecrets   bool
}

// CRMExpect checks the CRM writes the code made through the API.
type CRMExpect struct {
	None       bool
	Created    []RecordExpect
	Updated    []RecordExpect
	Associated []AssocExpect
}

// RecordExpect matches a created or updated record.
type RecordExpect struct {
	ObjectType string
	Ref        string // updated: the seeded record
	Properties []FieldExpect
	Line       int
}

// AssocExpect matches an association made by the code. From and To are
// seeded refs or object types (any record of that type).
type AssocExpect struct {
	From, To string
	Line     int
}

// FileError is a broken case file: the file, the line and what is wrong.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// IsCaseFile reports whether path names a case file.
func IsCaseFile(path string) bool {
	b := filepath.Base(path)
	return strings.HasSuffix(b, ".test.yaml") || strings.HasSuffix(b, ".test.yml") || strings.HasSuffix(b, ".test.json")
}

// codeFor returns the code file a case file tests by its name:
// score.test.yaml → score.js or score.py, whichever exists.
func codeFor(path string) string {
	b := filepath.Base(path)
	stem := b[:strings.Index(b, ".test.")]
	dir := filepath.Dir(path)
	for _, ext := range []string{".js", ".cjs", ".mjs", ".py"} {
		p := filepath.Join(dir, stem+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(dir, stem+".js")
}

// parser holds what one file's cases share while parsing.
type parser struct {
	file    string
	env     func(string) (string, bool)
	dotenv  map[string]string
	dotErr  error
	dotPath string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FileError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// LoadFile parses one case file. Secrets from the environment are read
// with env (os.LookupEnv when nil); secrets from .env come from the nearest
// .env file in the case file's directory or above it.
func LoadFile(path string, env func(string) (string, bool)) ([]*Case, error) {
	if env == nil {
		env = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Msg: err.Error()}
	}
	p := &parser{file: path, env: env}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, p.yamlErr(err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &FileError{File: path, Line: 1, Msg: "the file holds no test case"}
	}
	doc := root.Content[0]
	code, runtime := "", ""
	var caseNodes []*yaml.Node
	switch doc.Kind {
	case yaml.SequenceNode:
		caseNodes = doc.Content
	case yaml.MappingNode:
		// A mapping is either a file with "cases" (and file-wide "file",
		// "runtime") or a single case.
		var single []*yaml.Node
		for i := 0; i < len(doc.Content); i += 2 {
			k, v := doc.Content[i], doc.Content[i+1]
			switch k.Value {
			case "file":
				code = v.Value
			case "cases":
				if v.Kind != yaml.SequenceNode {
					return nil, p.errf(v, "cases must be a list of cases")
				}
				caseNodes = v.Content
			case "runtime":
				runtime = v.Value
				single = append(single, k, v)
			default:
				single = append(single, k, v)
			}
		}
		if caseNodes == nil {
			caseNodes = []*yaml.Node{{Kind: yaml.MappingNode, Line: doc.Line, Content: single}}
		} else if len(single) > 0 && !(len(single) == 2 && single[0].Value == "runtime") {
			return nil, p.errf(single[0], "unknown key %q beside cases (want file, runtime, cases)", single[0].Value)
		}
	default:
		return nil, p.errf(doc, "want a case, a list of cases, or a mapping with cases")
	}
	if len(caseNodes) == 0 {
		return nil, p.errf(doc, "the file holds no test case")
	}
	if code == "" {
		code = codeFor(path)
	} else if !filepath.IsAbs(code) {
		code = filepath.Join(filepath.Dir(path), code)
	}
	if runtime == "" {
		runtime = sandbox.RuntimeForFile(code)
	}
	var cases []*Case
	names := map[string]int{}
	for i, n := range caseNodes {
		c, err := p.parseCase(n, i, code, runtime)
		if err != nil {
			return nil, err
		}
		if prev, dup := names[c.Name]; dup {
			return nil, p.errf(n, "case %q is already defined on line %d", c.Name, prev)
		}
		names[c.Name] = c.Line
		cases = append(cases, c)
	}
	if _, err := os.Stat(code); err != nil {
		return nil, &FileError{File: path, Line: 1, Msg: fmt.Sprintf("the code under test, %s, cannot be read: %v (name it after the case file or set file:)", code, err)}
	}
	return cases, nil
}

// yamlErr turns a YAML syntax error into a FileError with its line.
func (p *parser) yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, strings.TrimSpace(after)
			}
		}
	}
	return &FileError{File: p.file, Line: line, Msg: msg}
}

// pairs returns a mapping node's key/value pairs, or an error naming what
// the node should have been.
func (p *parser) pairs(n *yaml.Node, what string) ([][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	var out [][2]*yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out, nil
}

func (p *parser) unknown(k *yaml.Node, where string, known ...string) error {
	return p.errf(k, "%s: unknown key %q (want one of %s)", where, k.Value, strings.Join(known, ", "))
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, "%s must be a string", what)
	}
	return n.Value, nil
}

func (p *parser) integer(n *yaml.Node, what string) (int64, error) {
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return v, nil
		}
	}
	return 0, p.errf(n, "%s must be an integer", what)
}

func (p *parser) duration(n *yaml.Node, what string) (time.Duration, error) {
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil && d > 0 {
			return d, nil
		}
		if ms, err := strconv.ParseFloat(n.Value, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond)), nil
		}
	}
	return 0, p.errf(n, "%s must be a positive duration such as 500ms or 2s (a bare number is milliseconds)", what)
}

// value decodes a node into a JSON value (float64 numbers, map[string]any).
func (p *parser) value(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, p.errf(n, "%v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, p.errf(n, "cannot be expressed in JSON: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, p.errf(n, "%v", err)
	}
	return out, nil
}

func (p *parser) parseCase(n *yaml.Node, idx int, code, runtime string) (*Case, error) {
	c := &Case{File: p.file, Line: n.Line, Code: code, Runtime: runtime, Name: fmt.Sprintf("case %d", idx+1)}
	kvs, err := p.pairs(n, "a case")
	if err != nil {
		return nil, err
	}
	var expect *yaml.Node
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name":
			if c.Name, err = p.str(v, "name"); err != nil {
				return nil, err
			}
		case "runtime":
			rt, err := sandbox.ParseRuntime(v.Value)
			if err != nil {
				return nil, p.errf(v, "%v", err)
			}
			c.Runtime = rt
		case "event":
			if err := p.parseEvent(v, &c.Event); err != nil {
				return nil, err
			}
		case "inputFields", "inputs":
			// The three-line form: inputs without the event around them.
			if err := p.parseInputs(v, &c.Event); err != nil {
				return nil, err
			}
		case "secrets":
			if c.Secrets, err = p.parseSecrets(v); err != nil {
				return nil, err
			}
		case "crm":
			if err := p.parseSeed(v, &c.CRM); err != nil {
				return nil, err
			}
		case "http":
			if c.HTTP, err = p.parseStubs(v); err != nil {
				return nil, err
			}
		case "timeout":
			if c.Timeout, err = p.duration(v, "timeout"); err != nil {
				return nil, err
			}
		case "memory", "memoryMB":
			m, err := p.integer(v, "memory (MB)")
			if err != nil || m <= 0 {
				return nil, p.errf(v, "memory must be a positive number of MB")
			}
			c.MemoryMB = int(m)
		case "expect":
			expect = v
		default:
			return nil, p.unknown(k, "case", "name", "runtime", "event", "inputFields", "secrets", "crm", "http", "timeout", "memory", "expect")
		}
	}
	if c.Runtime == "" {
		return nil, p.errf(n, "cannot tell the runtime of %s from its extension; set runtime: NODE20X or PYTHON39", code)
	}
	if expect != nil {
		if err := p.parseExpect(expect, c); err != nil {
			return nil, err
		}
	}
	if c.Expect.Status == "" {
		c.Expect.Status = string(sandbox.StatusSuccess)
		if c.Expect.ErrorType != "" || len(c.Expect.ErrorMessage) > 0 {
			c.Expect.Status = string(sandbox.StatusError)
		}
	}
	// References to seeded records must resolve.
	refs := map[string]bool{}
	for _, r := range c.CRM.Records {
		refs[r.Ref] = true
	}
	if c.Event.ObjectRef != "" && !refs[c.Event.ObjectRef] {
		return nil, p.errf(n, "event.object %q names no record under crm.records", c.Event.ObjectRef)
	}
	for _, a := range c.CRM.Associations {
		for _, r := range []string{a.From, a.To} {
			if !refs[r] {
				return nil, &FileError{File: p.file, Line: a.Line, Msg: fmt.Sprintf("crm.associations: %q names no record under crm.records", r)}
			}
		}
	}
	if e := c.Expect.CRM; e != nil {
		for _, u := range e.Updated {
			if !refs[u.Ref] {
				return nil, &FileError{File: p.file, Line: u.Line, Msg: fmt.Sprintf("expect.crm.updated: %q names no record under crm.records", u.Ref)}
			}
		}
	}
	return c, nil
}

func (p *parser) parseInputs(v *yaml.Node, ev *Event) error {
	val, err := p.value(v)
	if err != nil {
		return err
	}
	m, ok := val.(map[string]any)
	if !ok && val != nil {
		return p.errf(v, "inputFields must be a mapping of names to values")
	}
	ev.InputFields = m
	return nil
}

func (p *parser) parseEvent(n *yaml.Node, ev *Event) error {
	kvs, err := p.pairs(n, "event")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "inputFields", "inputs":
			if err := p.parseInputs(v, ev); err != nil {
				return err
			}
		case "object":
			if v.Kind == yaml.ScalarNode {
				ev.ObjectRef = v.Value
				continue
			}
			okv, err := p.pairs(v, "event.object")
			if err != nil {
				return err
			}
			for _, o := range okv {
				switch o[0].Value {
				case "objectType":
					ev.ObjectType = strings.ToUpper(o[1].Value)
				case "objectId":
					if ev.ObjectID, err = p.integer(o[1], "event.object.objectId"); err != nil {
						return err
					}
				case "ref":
					ev.ObjectRef = o[1].Value
				default:
					return p.unknown(o[0], "event.object", "objectType", "objectId", "ref")
				}
			}
		case "origin":
			okv, err := p.pairs(v, "event.origin")
			if err != nil {
				return err
			}
			for _, o := range okv {
				switch o[0].Value {
				case "portalId":
					if ev.PortalID, err = p.integer(o[1], "event.origin.portalId"); err != nil {
						return err
					}
				case "actionDefinitionId":
					if ev.ActionDefinitionID, err = p.integer(o[1], "event.origin.actionDefinitionId"); err != nil {
						return err
					}
				default:
					return p.unknown(o[0], "event.origin", "portalId", "actionDefinitionId")
				}
			}
		case "callbackId":
			ev.CallbackID = v.Value
		default:
			return p.unknown(k, "event", "inputFields", "object", "origin", "callbackId")
		}
	}
	return nil
}

func (p *parser) parseSecrets(n *yaml.Node) ([]Secret, error) {
	kvs, err := p.pairs(n, "secrets")
	if err != nil {
		return nil, err
	}
	var out []Secret
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		s := Secret{Name: k.Value}
		switch v.Kind {
		case yaml.ScalarNode:
			s.Value, s.Source = v.Value, "literal"
		case yaml.MappingNode:
			if len(v.Content) != 2 {
				return nil, p.errf(v, "secret %s: want one of {env: VAR}, {dotenv: VAR}, {crm: token}", k.Value)
			}
			src, name := v.Content[0].Value, v.Content[1].Value
			switch src {
			case "env":
				val, ok := p.env(name)
				if !ok {
					return nil, p.errf(v, "secret %s: environment variable %s is not set", k.Value, name)
				}
				s.Value, s.Source = val, "env "+name
			case "dotenv":
				val, err := p.fromDotenv(name)
				if err != nil {
					return nil, p.errf(v, "secret %s: %v", k.Value, err)
				}
				s.Value, s.Source = val, ".env "+name
			case "crm":
				if name != "token" {
					return nil, p.errf(v, "secret %s: the only crm secret is {crm: token}", k.Value)
				}
				s.CRMToken, s.Source = true, "crm token"
			default:
				return nil, p.errf(v, "secret %s: unknown source %q (want env, dotenv or crm)", k.Value, src)
			}
		default:
			return nil, p.errf(v, "secret %s: want a value, {env: VAR}, {dotenv: VAR} or {crm: token}", k.Value)
		}
		out = append(out, s)
	}
	return out, nil
}

// fromDotenv reads name from the nearest .env file at or above the case
// file's directory. The file's values are never printed.
func (p *parser) fromDotenv(name string) (string, error) {
	if p.dotenv == nil && p.dotErr == nil {
		p.dotenv, p.dotPath, p.dotErr = readDotenv(filepath.Dir(p.file))
	}
	if p.dotErr != nil {
		return "", p.dotErr
	}
	v, ok := p.dotenv[name]
	if !ok {
		return "", fmt.Errorf("%s is not set in %s", name, p.dotPath)
	}
	return v, nil
}

// readDotenv finds and parses the nearest .env file: NAME=VALUE lines,
// optional "export ", # comments, single or double quotes.
func readDotenv(dir string) (map[string]string, string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		path := filepath.Join(d, ".env")
		f, err := os.Open(path)
		if err == nil {
			defer f.Close()
			vals := map[string]string{}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				line = strings.TrimPrefix(line, "export ")
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					continue
				}
				v = strings.TrimSpace(v)
				if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
					v = v[1 : len(v)-1]
				}
				vals[strings.TrimSpace(k)] = v
			}
			return vals, path, sc.Err()
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, "", err
		}
		if d == filepath.Dir(d) {
			return nil, "", errors.New("no .env file in the case file's directory or above it")
		}
	}
}

func (p *parser) parseSeed(n *yaml.Node, s *Seed) error {
	kvs, err := p.pairs(n, "crm")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "properties":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, "crm.properties must be a list")
			}
			for _, pn := range v.Content {
				var sp SeedProperty
				pkv, err := p.pairs(pn, "a crm property")
				if err != nil {
					return err
				}
				for _, e := range pkv {
					switch e[0].Value {
					case "objectType":
						sp.ObjectType = e[1].Value
					case "name":
						sp.Name = e[1].Value
					case "label":
						sp.Label = e[1].Value
					case "type":
						sp.Type = e[1].Value
					case "fieldType":
						sp.FieldType = e[1].Value
					case "options":
						if err := e[1].Decode(&sp.Options); err != nil {
							return p.errf(e[1], "options must be a list of strings")
						}
					default:
						return p.unknown(e[0], "crm.properties", "objectType", "name", "label", "type", "fieldType", "options")
					}
				}
				if sp.ObjectType == "" || sp.Name == "" {
					return p.errf(pn, "a crm property needs objectType and name")
				}
				if sp.Type == "" {
					sp.Type, sp.FieldType = "string", "text"
				}
				if sp.Label == "" {
					sp.Label = sp.Name
				}
				s.Properties = append(s.Properties, sp)
			}
		case "records":
			rkv, err := p.pairs(v, "crm.records (ref: {type, properties})")
			if err != nil {
				return err
			}
			for _, e := range rkv {
				r := SeedRecord{Ref: e[0].Value, Line: e[0].Line}
				fkv, err := p.pairs(e[1], "crm.records."+r.Ref)
				if err != nil {
					return err
				}
				for _, f := range fkv {
					switch f[0].Value {
					case "type", "objectType":
						r.ObjectType = f[1].Value
					case "properties":
						val, err := p.value(f[1])
						if err != nil {
							return err
						}
						m, ok := val.(map[string]any)
						if !ok {
							return p.errf(f[1], "crm.records.%s.properties must be a mapping", r.Ref)
						}
						r.Properties = map[string]string{}
						for pk, pv := range m {
							r.Properties[pk] = scalarString(pv)
						}
					default:
						return p.unknown(f[0], "crm.records."+r.Ref, "type", "properties")
					}
				}
				if r.ObjectType == "" {
					return p.errf(e[0], "crm.records.%s needs a type (contacts, companies, deals, tickets)", r.Ref)
				}
				s.Records = append(s.Records, r)
			}
		case "associations":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, "crm.associations must be a list of [from, to] pairs")
			}
			for _, an := range v.Content {
				a := SeedAssociation{Line: an.Line}
				var err error
				if a.From, a.To, err = p.fromTo(an, "crm.associations", "an association"); err != nil {
					return err
				}
				s.Associations = append(s.Associations, a)
			}
		default:
			return p.unknown(k, "crm", "properties", "records", "associations")
		}
	}
	return nil
}

// fromTo reads an association written [from, to] or {from, to}; where
// names its list and what the association in errors.
func (p *parser) fromTo(n *yaml.Node, where, what string) (from, to string, err error) {
	switch {
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2:
		return n.Content[0].Value, n.Content[1].Value, nil
	case n.Kind == yaml.MappingNode:
		kv, _ := p.pairs(n, "")
		for _, e := range kv {
			switch e[0].Value {
			case "from":
				from = e[1].Value
			case "to":
				to = e[1].Value
			default:
				return "", "", p.unknown(e[0], where, "from", "to")
			}
		}
		return from, to, nil
	default:
		return "", "", p.errf(n, "%s is [from, to] or {from, to}", what)
	}
}

// scalarString renders a JSON scalar as a CRM property value.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (p *parser) parseStubs(n *yaml.Node) ([]Stub, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, `http must be a list such as - "GET https://api.example.com/x -> 200 {\"ok\": true}"`)
	}
	var out []Stub
	for _, sn := range n.Content {
		st := Stub{Line: sn.Line, Status: 200}
		switch sn.Kind {
		case yaml.ScalarNode:
			s, err := parseStubLine(sn.Value)
			if err != nil {
				return nil, p.errf(sn, "%v", err)
			}
			s.Line = sn.Line
			st = s
		case yaml.MappingNode:
			kvs, _ := p.pairs(sn, "")
			for _, kv := range kvs {
				k, v := kv[0], kv[1]
				switch k.Value {
				case "method":
					st.Method = strings.ToUpper(v.Value)
				case "url":
					st.URL = v.Value
				case "status":
					code, err := p.integer(v, "status")
					if err != nil {
						return nil, err
					}
					st.Status = int(code)
				case "body":
					if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
						st.Body = v.Value
						continue
					}
					val, err := p.value(v)
					if err != nil {
						return nil, err
					}
					b, _ := json.Marshal(val)
					st.Body = string(b)
				case "headers":
					if err := v.Decode(&st.Headers); err != nil {
						return nil, p.errf(v, "headers must be a mapping of strings")
					}
				default:
					return nil, p.unknown(k, "http", "method", "url", "status", "body", "headers")
				}
			}
		default:
			return nil, p.errf(sn, "an http entry is a line or a mapping")
		}
		if !slices.Contains(httpMethods, st.Method) {
			return nil, p.errf(sn, "http: method %q is not one of %s", st.Method, strings.Join(httpMethods, " "))
		}
		if !strings.HasPrefix(st.URL, "http://") && !strings.HasPrefix(st.URL, "https://") {
			return nil, p.errf(sn, "http: url %q must start with http:// or https://", st.URL)
		}
		if st.Status < 100 || st.Status > 599 {
			return nil, p.errf(sn, "http: status %d is not an HTTP status", st.Status)
		}
		out = append(out, st)
	}
	return out, nil
}

// parseStubLine parses "METHOD URL -> STATUS [BODY]" (or →).
func parseStubLine(s string) (Stub, error) {
	lhs, rhs, ok := strings.Cut(s, "->")
	if !ok {
		lhs, rhs, ok = strings.Cut(s, "→")
	}
	if !ok {
		return Stub{}, fmt.Errorf(`http: %q: want "METHOD URL -> STATUS [BODY]"`, s)
	}
	f := strings.Fields(lhs)
	if len(f) != 2 {
		return Stub{}, fmt.Errorf(`http: %q: want "METHOD URL" before the arrow`, s)
	}
	rhs = strings.TrimSpace(rhs)
	code, body, _ := strings.Cut(rhs, " ")
	status, err := strconv.Atoi(code)
	if err != nil {
		return Stub{}, fmt.Errorf("http: %q: the status after the arrow must be a number", s)
	}
	st := Stub{Method: strings.ToUpper(f[0]), URL: f[1], Status: status, Body: strings.TrimSpace(body)}
	if b := st.Body; b != "" && (b[0] == '{' || b[0] == '[') && !json.Valid([]byte(b)) {
		return Stub{}, fmt.Errorf("http: %q: the body looks like JSON but is not valid JSON", s)
	}
	return st, nil
}
