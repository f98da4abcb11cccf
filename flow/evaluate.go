package flow

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// Operators by operationType. IS_KNOWN and IS_UNKNOWN are accepted with
// every operation type.
var operators = map[string][]string{
	"STRING":       {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"},
	"NUMBER":       {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_GREATER_THAN", "IS_GREATER_THAN_OR_EQUAL_TO", "IS_LESS_THAN", "IS_LESS_THAN_OR_EQUAL_TO", "IS_BETWEEN", "IS_NOT_BETWEEN"},
	"BOOL":         {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO"},
	"ENUMERATION":  {"IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL"},
	"ALL_PROPERTY": {},
	"TIME_POINT":   {"IS_AFTER", "IS_BEFORE"},
}

// branchType returns the effective type of a branch: filterBranchType,
// else filterBranchOperator.
func branchType(b *spoke.FilterBranch) (string, error) {
	t := b.FilterBranchType
	if t == "" {
		t = b.FilterBranchOperator
	}
	switch t {
	case "AND", "OR", "NOT_ALL", "NOT_ANY":
		return t, nil
	case "":
		return "", spoke.Invalidf("the filter branch has no filterBranchType (use AND, OR, NOT_ALL or NOT_ANY)")
	}
	return "", spoke.Invalidf("filterBranchType %s is not supported (use AND, OR, NOT_ALL or NOT_ANY)", strconv.Quote(t))
}

// checkOperation returns an error unless op is an operation Evaluate can
// run, with the operands it needs.
func checkOperation(op *spoke.Operation) error {
	if op.Operator == "IS_KNOWN" || op.Operator == "IS_UNKNOWN" {
		return nil
	}
	ops, ok := operators[op.OperationType]
	if !ok {
		return fmt.Errorf("operationType %s is not supported (use STRING, NUMBER, BOOL, ENUMERATION, ALL_PROPERTY or TIME_POINT)", strconv.Quote(op.OperationType))
	}
	if !contains(ops, op.Operator) {
		all := append(append([]string{}, ops...), "IS_KNOWN", "IS_UNKNOWN")
		return fmt.Errorf("operator %s is not supported for %s (use %s)", strconv.Quote(op.Operator), op.OperationType, strings.Join(all, ", "))
	}
	switch op.OperationType {
	case "STRING":
		if _, err := scalarString(op.Value); err != nil {
			return fmt.Errorf("%s needs a string value", op.Operator)
		}
	case "NUMBER":
		if op.Operator == "IS_BETWEEN" || op.Operator == "IS_NOT_BETWEEN" {
			if _, _, err := numberBounds(op); err != nil {
				return err
			}
		} else if _, err := scalarNumber(op.Value); err != nil {
			return fmt.Errorf("%s needs a numeric value", op.Operator)
		}
	case "BOOL":
		if _, err := scalarBool(op.Value); err != nil {
			return fmt.Errorf("%s needs a boolean value", op.Operator)
		}
	case "ENUMERATION":
		if _, err := stringValues(op.Values); err != nil {
			return err
		}
	case "TIME_POINT":
		if _, err := scalarTime(op.Value); err != nil {
			return fmt.Errorf("%s needs a timestamp value in epoch milliseconds", op.Operator)
		}
	}
	return nil
}

// Evaluate reports whether a record matches a filter tree. get returns a
// property's canonical stored value and whether it is set (an empty value
// counts as unset); defs are the object type's property definitions (may
// be nil). Branch types are AND, OR, NOT_ALL and NOT_ANY; an AND or
// NOT_ANY branch with nothing in it is true, an empty OR false. Filters
// must be PROPERTY filters; a filter on an unset property is true if
// includeObjectsWithNoValueSet is, except IS_KNOWN (false) and IS_UNKNOWN
// (true). String comparisons ignore case; number comparisons are numeric.
// An unsupported branch type, filter type, operation type or operator, or
// a missing operand, is an error.
func Evaluate(b *spoke.FilterBranch, get func(name string) (string, bool), defs map[string]*spoke.Property) (bool, error) {
	if b == nil {
		return false, spoke.Invalidf("no filter branch to evaluate")
	}
	t, err := branchType(b)
	if err != nil {
		return false, err
	}
	n := len(b.Filters) + len(b.FilterBranches)
	results := make([]bool, 0, n)
	for i := range b.Filters {
		ok, err := evalFilter(&b.Filters[i], get, defs)
		if err != nil {
			return false, err
		}
		results = append(results, ok)
	}
	for i := range b.FilterBranches {
		ok, err := Evaluate(&b.FilterBranches[i], get, defs)
		if err != nil {
			return false, err
		}
		results = append(results, ok)
	}
	all, any := true, false
	for _, r := range results {
		all = all && r
		any = any || r
	}
	switch t {
	case "AND":
		return all, nil
	case "OR":
		return any, nil
	case "NOT_ALL":
		return !all, nil
	default: // NOT_ANY
		return !any, nil
	}
}

func evalFilter(fl *spoke.FlowFilter, get func(string) (string, bool), defs map[string]*spoke.Property) (bool, error) {
	if fl.FilterType != "PROPERTY" {
		return false, spoke.Invalidf("filterType %s is not supported (use PROPERTY)", strconv.Quote(fl.FilterType))
	}
	op := &fl.Operation
	if err := checkOperation(op); err != nil {
		return false, spoke.Invalidf("filter on %s: %v", fl.Property, err)
	}
	v, ok := get(fl.Property)
	if v == "" {
		ok = false
	}
	switch op.Operator {
	case "IS_KNOWN":
		return ok, nil
	case "IS_UNKNOWN":
		return !ok, nil
	}
	if !ok {
		return op.IncludeObjectsWithNoValueSet, nil
	}
	switch op.OperationType {
	case "STRING":
		want, _ := scalarString(op.Value)
		have, want := strings.ToLower(v), strings.ToLower(want)
		switch op.Operator {
		case "IS_EQUAL_TO":
			return have == want, nil
		case "IS_NOT_EQUAL_TO":
			return have != want, nil
		case "CONTAINS":
			return strings.Contains(have, want), nil
		case "DOES_NOT_CONTAIN":
			return !strings.Contains(have, want), nil
		case "STARTS_WITH":
			return strings.HasPrefix(have, want), nil
		case "ENDS_WITH":
			return strings.HasSuffix(have, want), nil
		}
	case "NUMBER":
		have, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(have) {
			// A stored value that is not a number matches only the
			// negative operators.
			return op.Operator == "IS_NOT_EQUAL_TO" || op.Operator == "IS_NOT_BETWEEN", nil
		}
		if op.Operator == "IS_BETWEEN" || op.Operator == "IS_NOT_BETWEEN" {
			lo, hi, _ := numberBounds(op)
			in := have >= lo && have <= hi
			return in == (op.Operator == "IS_BETWEEN"), nil
		}
		want, _ := scalarNumber(op.Value)
		switch op.Operator {
		case "IS_EQUAL_TO":
			return have == want, nil
		case "IS_NOT_EQUAL_TO":
			return have != want, nil
		case "IS_GREATER_THAN":
			return have > want, nil
		case "IS_GREATER_THAN_OR_EQUAL_TO":
			return have >= want, nil
		case "IS_LESS_THAN":
			return have < want, nil
		case "IS_LESS_THAN_OR_EQUAL_TO":
			return have <= want, nil
		}
	case "BOOL":
		want, _ := scalarBool(op.Value)
		have := strings.EqualFold(strings.TrimSpace(v), "true")
		if op.Operator == "IS_EQUAL_TO" {
			return have == want, nil
		}
		return have != want, nil
	case "ENUMERATION":
		want, _ := stringValues(op.Values)
		have := splitValues(v)
		if p := defs[fl.Property]; p != nil && p.Type != spoke.TypeEnumeration {
			have = []string{v} // a ";" inside a string value is not a separator
		}
		switch op.Operator {
		case "IS_ANY_OF":
			return anyIn(have, want), nil
		case "IS_NONE_OF":
			return !anyIn(have, want), nil
		case "IS_EXACTLY":
			return sameSet(have, want), nil
		case "IS_NOT_EXACTLY":
			return !sameSet(have, want), nil
		case "CONTAINS_ALL":
			return allIn(want, have), nil
		}
	case "ALL_PROPERTY":
		// Only IS_KNOWN and IS_UNKNOWN, handled above.
	case "TIME_POINT":
		want, _ := scalarTime(op.Value)
		have, ok := spoke.ParseTime(v)
		if !ok {
			return false, nil
		}
		if op.Operator == "IS_AFTER" {
			return have.After(want), nil
		}
		return have.Before(want), nil
	}
	return false, spoke.Invalidf("filter on %s: operator %s is not supported for %s", fl.Property, op.Operator, op.OperationType)
}

func splitValues(v string) []string {
	parts := strings.Split(v, ";")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func inFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if inFold(want, h) {
			return true
		}
	}
	return false
}

func allIn(want, have []string) bool {
	for _, w := range want {
		if !inFold(have, w) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool { return allIn(a, b) && allIn(b, a) }

// scalarString reads a JSON string (or number or bool, as its text).
func scalarString(raw json.RawMessage) (string, error) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return "", fmt.Errorf("missing value")
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64, bool:
		return strings.TrimSpace(string(raw)), nil
	}
	return "", fmt.Errorf("value must be a string")
}

// scalarNumber reads a JSON number or a string holding a decimal number.
func scalarNumber(raw json.RawMessage) (float64, error) {
	s, err := scalarString(raw)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %s is not a number", strconv.Quote(s))
	}
	return f, nil
}

func scalarBool(raw json.RawMessage) (bool, error) {
	s, err := scalarString(raw)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("value %s is not a boolean", strconv.Quote(s))
}

func scalarTime(raw json.RawMessage) (time.Time, error) {
	s, err := scalarString(raw)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := spoke.ParseTime(s)
	if !ok {
		return time.Time{}, fmt.Errorf("value %s is not a timestamp", strconv.Quote(s))
	}
	return t, nil
}

func stringValues(raws []json.RawMessage) ([]string, error) {
	if len(raws) == 0 {
		return nil, fmt.Errorf("needs a non-empty values list")
	}
	out := make([]string, len(raws))
	for i, r := range raws {
		s, err := scalarString(r)
		if err != nil {
			return nil, fmt.Errorf("values[%d] must be a string", i)
		}
		out[i] = s
	}
	return out, nil
}

// numberBounds returns the range of IS_BETWEEN / IS_NOT_BETWEEN, from
// values (two numbers; Parse puts lowerBound and upperBound there).
func numberBounds(op *spoke.Operation) (lo, hi float64, err error) {
	if len(op.Values) != 2 {
		return 0, 0, fmt.Errorf("%s needs lowerBound and upperBound (or values with two numbers)", op.Operator)
	}
	lo, err1 := scalarNumber(op.Values[0])
	hi, err2 := scalarNumber(op.Values[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%s bounds must be numbers", op.Operator)
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}
