package codetest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spokehq/spoke/sandbox"
	"go.yaml.in/yaml/v3"
)

// Matcher is one check on a value: equals, matches (a regular
// expression), contains, gt/gte/lt/lte (numbers, or numeric strings),
// exists (true or false) or type (string, number, boolean, null, object,
// array).
type Matcher struct {
	Kind  string
	Value any
	re    *regexp.Regexp
}

var matcherKinds = []string{"equals", "matches", "contains", "gt", "gte", "lt", "lte", "exists", "type"}

var jsonTypes = []string{"string", "number", "boolean", "null", "object", "array"}

// String renders the matcher as it reads in a failure message.
func (m Matcher) String() string {
	switch m.Kind {
	case "equals":
		return "equal to " + render(m.Value)
	case "matches":
		return "matching /" + m.re.String() + "/"
	case "contains":
		return "containing " + render(m.Value)
	case "gt":
		return "greater than " + render(m.Value)
	case "gte":
		return "at least " + render(m.Value)
	case "lt":
		return "less than " + render(m.Value)
	case "lte":
		return "at most " + render(m.Value)
	case "exists":
		if m.Value == true {
			return "present"
		}
		return "absent"
	case "type":
		return "of type " + m.Value.(string)
	}
	return m.Kind
}

// Check reports "" when v (present or not) passes, else what is wrong.
func (m Matcher) Check(v any, present bool) string {
	if m.Kind == "exists" {
		if present == (m.Value == true) {
			return ""
		}
		if present {
			return "got " + render(v) + ", want it absent"
		}
		return "absent, want it present"
	}
	if !present {
		return "absent, want it " + m.String()
	}
	ok := false
	switch m.Kind {
	case "equals":
		ok = reflect.DeepEqual(v, m.Value)
	case "matches":
		ok = m.re.MatchString(textOf(v))
	case "contains":
		ok = strings.Contains(textOf(v), m.Value.(string))
	case "gt", "gte", "lt", "lte":
		n, isNum := number(v)
		want := m.Value.(float64)
		if isNum {
			switch m.Kind {
			case "gt":
				ok = n > want
			case "gte":
				ok = n >= want
			case "lt":
				ok = n < want
			case "lte":
				ok = n <= want
			}
		}
	case "type":
		ok = typeOf(v) == m.Value
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("got %s (%s), want %s", render(v), typeOf(v), m.String())
}

// textOf is the text a string check sees: a string as is, anything else as
// JSON.
func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// number reads a JSON number or a numeric string (HubSpot passes most
// values as strings).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// render shows a JSON value compactly.
func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// parseChecks reads a field's checks: a scalar, list or plain mapping is
// "equals"; a mapping with a matcher kind among its keys is checks.
func (p *parser) parseChecks(n *yaml.Node, where string) ([]Matcher, error) {
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		anyKind := false
		for i := 0; i < len(n.Content); i += 2 {
			if slices.Contains(matcherKinds, n.Content[i].Value) {
				anyKind = true
			}
		}
		// A mapping with one check in it is checks only (so that a typo
		// beside a check is reported); compare an object holding such
		// keys with "equals:".
		if anyKind {
			var out []Matcher
			for i := 0; i < len(n.Content); i += 2 {
				m, err := p.parseMatcher(n.Content[i].Value, n.Content[i+1], where)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		}
	}
	m, err := p.parseMatcher("equals", n, where)
	if err != nil {
		return nil, err
	}
	return []Matcher{m}, nil
}

func (p *parser) parseMatcher(kind string, v *yaml.Node, where string) (Matcher, error) {
	m := Matcher{Kind: kind}
	switch kind {
	case "equals":
		val, err := p.value(v)
		if err != nil {
			return m, err
		}
		m.Value = val
	case "matches":
		re, err := regexp.Compile(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			return m, p.errf(v, "%s: matches: not a regular expression: %v", where, err)
		}
		m.re, m.Value = re, v.Value
	case "contains":
		if v.Kind != yaml.ScalarNode {
			return m, p.errf(v, "%s: contains wants a string", where)
		}
		m.Value = v.Value
	case "gt", "gte", "lt", "lte":
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || v.Kind != yaml.ScalarNode {
			return m, p.errf(v, "%s: %s wants a number", where, kind)
		}
		m.Value = f
	case "exists":
		b, err := strconv.ParseBool(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			return m, p.errf(v, "%s: exists wants true or false", where)
		}
		m.Value = b
	case "type":
		if !slices.Contains(jsonTypes, v.Value) {
			return m, p.errf(v, "%s: type must be one of %s", where, strings.Join(jsonTypes, ", "))
		}
		m.Value = v.Value
	default:
		return m, p.errf(v, "%s: unknown check %q (want one of %s)", where, kind, strings.Join(matcherKinds, ", "))
	}
	return m, nil
}

func (p *parser) parseFields(n *yaml.Node, where string) ([]FieldExpect, error) {
	kvs, err := p.pairs(n, where)
	if err != nil {
		return nil, err
	}
	var out []FieldExpect
	for _, kv := range kvs {
		checks, err := p.parseChecks(kv[1], where+"."+kv[0].Value)
		if err != nil {
			return nil, err
		}
		out = append(out, FieldExpect{Name: kv[0].Value, Checks: checks})
	}
	return out, nil
}

var errorTypes = []sandbox.ErrorType{sandbox.ErrTimeout, sandbox.ErrMemoryLimit, sandbox.ErrUncaught, sandbox.ErrOutputTooLarge,
	sandbox.ErrInvalidOutput, sandbox.ErrRateLimited, sandbox.ErrEgressDenied, sandbox.ErrSyntax, sandbox.ErrRuntimeCrash}

func (p *parser) parseExpect(n *yaml.Node, c *Case) error {
	kvs, err := p.pairs(n, "expect")
	if err != nil {
		return err
	}
	e := &c.Expect
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "status":
			s := strings.ToUpper(v.Value)
			if s != string(sandbox.StatusSuccess) && s != string(sandbox.StatusError) {
				return p.errf(v, "expect.status must be SUCCESS or ERROR")
			}
			e.Status = s
		case "outputs", "outputFields":
			if e.Outputs, err = p.parseFields(v, "expect.outputs"); err != nil {
				return err
			}
		case "error":
			if v.Kind == yaml.ScalarNode {
				e.ErrorType = v.Value
			} else {
				ekv, err := p.pairs(v, "expect.error")
				if err != nil {
					return err
				}
				for _, x := range ekv {
					switch x[0].Value {
					case "type":
						e.ErrorType = x[1].Value
					case "message":
						if e.ErrorMessage, err = p.parseChecks(x[1], "expect.error.message"); err != nil {
							return err
						}
					default:
						return p.unknown(x[0], "expect.error", "type", "message")
					}
				}
			}
			if e.ErrorType != "" && !slices.Contains(errorTypes, sandbox.ErrorType(e.ErrorType)) {
				var names []string
				for _, t := range errorTypes {
					names = append(names, string(t))
				}
				return p.errf(v, "expect.error: unknown error type %q (want one of %s)", e.ErrorType, strings.Join(names, ", "))
			}
		case "logs":
			if e.Logs, err = p.parseLogs(v); err != nil {
				return err
			}
		case "crm":
			if e.CRM, err = p.parseCRMExpect(v); err != nil {
				return err
			}
		case "maxDuration", "duration":
			if e.MaxDuration, err = p.duration(v, "expect.maxDuration"); err != nil {
				return err
			}
		case "maxMemoryMB", "memoryMB":
			m, err := p.integer(v, "expect.maxMemoryMB")
			if err != nil || m <= 0 {
				return p.errf(v, "expect.maxMemoryMB must be a positive number of MB")
			}
			e.MaxMemoryMB = int(m)
		default:
			return p.unknown(k, "expect", "status", "outputs", "error", "logs", "crm", "maxDuration", "maxMemoryMB")
		}
	}
	return nil
}

func (p *parser) parseLogs(n *yaml.Node) ([]LogExpect, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "expect.logs must be a list of {contains}, {matches}, {notContains} or noSecrets")
	}
	var out []LogExpect
	for _, ln := range n.Content {
		if ln.Kind == yaml.ScalarNode {
			if ln.Value == "noSecrets" {
				out = append(out, LogExpect{NoSecrets: true})
			} else {
				out = append(out, LogExpect{Contains: ln.Value})
			}
			continue
		}
		kvs, err := p.pairs(ln, "an expect.logs entry")
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			var le LogExpect
			switch kv[0].Value {
			case "contains":
				le.Contains = kv[1].Value
			case "notContains":
				le.NotContains = kv[1].Value
			case "matches":
				m, err := p.parseMatcher("matches", kv[1], "expect.logs")
				if err != nil {
					return nil, err
				}
				le.Matches = &m
			case "noSecrets":
				le.NoSecrets = kv[1].Value == "true"
			default:
				return nil, p.unknown(kv[0], "expect.logs", "contains", "notContains", "matches", "noSecrets")
			}
			out = append(out, le)
		}
	}
	return out, nil
}

func (p *parser) parseCRMExpect(n *yaml.Node) (*CRMExpect, error) {
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		return &CRMExpect{None: true}, nil
	}
	kvs, err := p.pairs(n, "expect.crm")
	if err != nil {
		return nil, err
	}
	e := &CRMExpect{}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "none":
			e.None = v.Value == "true"
		case "created", "updated":
			if v.Kind != yaml.SequenceNode {
				return nil, p.errf(v, "expect.crm.%s must be a list", k.Value)
			}
			for _, rn := range v.Content {
				re := RecordExpect{Line: rn.Line}
				rkv, err := p.pairs(rn, "expect.crm."+k.Value+" entry")
				if err != nil {
					return nil, err
				}
				for _, x := range rkv {
					switch x[0].Value {
					case "type", "objectType":
						re.ObjectType = x[1].Value
					case "ref":
						re.Ref = x[1].Value
					case "properties":
						if re.Properties, err = p.parseFields(x[1], "expect.crm."+k.Value+".properties"); err != nil {
							return nil, err
						}
					default:
						return nil, p.unknown(x[0], "expect.crm."+k.Value, "type", "ref", "properties")
					}
				}
				if k.Value == "created" {
					if re.ObjectType == "" {
						return nil, p.errf(rn, "expect.crm.created needs a type")
					}
					e.Created = append(e.Created, re)
				} else {
					if re.Ref == "" {
						return nil, p.errf(rn, "expect.crm.updated needs the ref of a seeded record")
					}
					e.Updated = append(e.Updated, re)
				}
			}
		case "associated":
			if v.Kind != yaml.SequenceNode {
				return nil, p.errf(v, "expect.crm.associated must be a list")
			}
			for _, an := range v.Content {
				a := AssocExpect{Line: an.Line}
				var err error
				if a.From, a.To, err = p.fromTo(an, "expect.crm.associated", "an expected association"); err != nil {
					return nil, err
				}
				if a.From == "" || a.To == "" {
					return nil, p.errf(an, "an expected association needs from and to (a seeded ref or an object type)")
				}
				e.Associated = append(e.Associated, a)
			}
		default:
			return nil, p.unknown(k, "expect.crm", "none", "created", "updated", "associated")
		}
	}
	return e, nil
}
