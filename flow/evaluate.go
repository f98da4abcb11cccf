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

// Operators by operationType, as HubSpot's list and workflow filters
// name them. IS_KNOWN and IS_UNKNOWN are accepted with every operation
// type. The HAS_EVER / HAS_NEVER operators test the current value (Spoke's
// filters do not read property history).
var operators = map[string][]string{
	"STRING": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH",
		"HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO", "HAS_EVER_CONTAINED", "HAS_NEVER_CONTAINED"},
	"MULTISTRING": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH",
		"HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO", "HAS_EVER_CONTAINED", "HAS_NEVER_CONTAINED"},
	"NUMBER": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_GREATER_THAN", "IS_GREATER_THAN_OR_EQUAL_TO", "IS_LESS_THAN",
		"IS_LESS_THAN_OR_EQUAL_TO", "IS_BETWEEN", "IS_NOT_BETWEEN", "HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO"},
	"NUMBER_RANGED": {"IS_BETWEEN", "IS_NOT_BETWEEN"},
	"BOOL":          {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO"},
	"ENUMERATION": {"IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL", "DOES_NOT_CONTAIN_ALL",
		"HAS_EVER_BEEN_ANY_OF", "HAS_NEVER_BEEN_ANY_OF", "HAS_EVER_BEEN_EXACTLY", "HAS_NEVER_BEEN_EXACTLY",
		"HAS_EVER_CONTAINED_ALL", "HAS_NEVER_CONTAINED_ALL"},
	"ALL_PROPERTY":       {},
	"TIME_POINT":         {"IS_AFTER", "IS_BEFORE"},
	"TIME_RANGED":        {"IS_BETWEEN", "IS_NOT_BETWEEN"},
	"DATETIME":           {"IS_EQUAL_TO", "IS_BEFORE", "IS_AFTER"},
	"DATE":               {"IS_EQUAL_TO", "IS_BEFORE", "IS_AFTER"},
	"RANGED_DATE":        {"IS_BETWEEN", "IS_NOT_BETWEEN"},
	"ROLLING_DATE_RANGE": {"IS_LESS_THAN_X_DAYS_AGO", "IS_MORE_THAN_X_DAYS_AGO", "IS_LESS_THAN_X_DAYS_FROM_NOW", "IS_MORE_THAN_X_DAYS_FROM_NOW"},
	"CALENDAR_DATE":      {"IN_LAST_TIME_UNIT", "IN_THIS_TIME_UNIT", "IN_THIS_TIME_UNIT_SO_FAR", "IN_NEXT_TIME_UNIT"},
	"COMPARATIVE_DATE":   {"IS_BEFORE", "IS_AFTER"},
	"COMPARATIVE_STRING": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"},
	// These test when a property was last updated, which Spoke's filters
	// do not know: saved, never true.
	"ROLLING_PROPERTY_UPDATED":     nil,
	"COMPARATIVE_PROPERTY_UPDATED": nil,
}

// operationTypes lists the documented operation types, for messages.
const operationTypes = "STRING, MULTISTRING, NUMBER, NUMBER_RANGED, BOOL, ENUMERATION, ALL_PROPERTY, TIME_POINT, TIME_RANGED, DATETIME, DATE, RANGED_DATE, ROLLING_DATE_RANGE, CALENDAR_DATE, COMPARATIVE_DATE, COMPARATIVE_STRING, ROLLING_PROPERTY_UPDATED or COMPARATIVE_PROPERTY_UPDATED"

// Filter types HubSpot documents besides PROPERTY. Spoke records none of
// the events, memberships or subscriptions they test, so a record has
// never done what a positive one asks and always meets a negative one
// (NOT_IN_LIST, NOT_FILLED_OUT, HAS_NOT_COMPLETED, ...).
var otherFilterTypes = []string{"IN_LIST", "ASSOCIATION", "CONSTANT", "FORM_SUBMISSION", "FORM_SUBMISSION_ON_PAGE",
	"EMAIL_EVENT", "EMAIL_SUBSCRIPTION", "COMMUNICATION_SUBSCRIPTION", "PAGE_VIEW", "CTA", "EVENT", "ADS_SEARCH",
	"ADS_TIME", "WEBINAR", "SURVEY_MONKEY", "SURVEY_MONKEY_VALUE", "PRIVACY", "INTEGRATION_EVENT", "UNIFIED_EVENTS"}

// branchTypes are the documented filterBranchTypes.
var branchTypes = []string{"AND", "OR", "NOT_ALL", "NOT_ANY", "RESTRICTED", "ASSOCIATION", "UNIFIED_EVENTS"}

// branchType returns the effective type of a branch: filterBranchType,
// else filterBranchOperator.
func branchType(b *spoke.FilterBranch) (string, error) {
	t := b.FilterBranchType
	if t == "" {
		t = b.FilterBranchOperator
	}
	if contains(branchTypes, t) {
		return t, nil
	}
	if t == "" {
		return "", spoke.Invalidf("the filter branch has no filterBranchType (use %s)", strings.Join(branchTypes, ", "))
	}
	return "", spoke.Invalidf("filterBranchType %s is not supported (use %s)", strconv.Quote(t), strings.Join(branchTypes, ", "))
}

// negative reports whether a non-property filter's operator asks for
// something not to have happened.
func negative(op string) bool {
	return strings.HasPrefix(op, "NOT_") || strings.Contains(op, "_NOT_") || strings.HasPrefix(op, "HAS_NOT") ||
		strings.HasSuffix(op, "_NOT") || strings.Contains(op, "_BUT_NOT_")
}

// checkFilter returns an error unless fl is a filter Evaluate can run.
func checkFilter(fl *spoke.FlowFilter) error {
	switch {
	case fl.FilterType == "PROPERTY":
		return checkOperation(&fl.Operation)
	case fl.FilterType == "CONSTANT":
		if fl.ShouldAccept == nil {
			return fmt.Errorf("a CONSTANT filter needs shouldAccept")
		}
	case fl.FilterType == "IN_LIST" || fl.FilterType == "ASSOCIATION":
		if fl.ListID == "" {
			return fmt.Errorf("an %s filter needs a listId", fl.FilterType)
		}
	case contains(otherFilterTypes, fl.FilterType):
	default:
		return fmt.Errorf("filterType %s is not supported (use PROPERTY, %s)", strconv.Quote(fl.FilterType), strings.Join(otherFilterTypes, ", "))
	}
	return nil
}

// checkOperation returns an error unless op is an operation Evaluate can
// run, with the operands it needs.
func checkOperation(op *spoke.Operation) error {
	if op.Operator == "IS_KNOWN" || op.Operator == "IS_UNKNOWN" {
		return nil
	}
	ops, ok := operators[op.OperationType]
	if !ok {
		return fmt.Errorf("operationType %s is not supported (use %s)", strconv.Quote(op.OperationType), operationTypes)
	}
	if ops != nil && !contains(ops, op.Operator) {
		all := append(append([]string{}, ops...), "IS_KNOWN", "IS_UNKNOWN")
		return fmt.Errorf("operator %s is not supported for %s (use %s)", strconv.Quote(op.Operator), op.OperationType, strings.Join(all, ", "))
	}
	switch op.OperationType {
	case "STRING":
		if _, err := scalarString(op.Value); err != nil {
			return fmt.Errorf("%s needs a string value", op.Operator)
		}
	case "MULTISTRING", "ENUMERATION":
		if _, err := stringValues(op.Values); err != nil {
			return err
		}
	case "NUMBER", "NUMBER_RANGED":
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
	case "COMPARATIVE_DATE", "COMPARATIVE_STRING":
		if op.ComparisonPropertyName == "" {
			return fmt.Errorf("%s needs a comparisonPropertyName", op.OperationType)
		}
	case "ALL_PROPERTY", "ROLLING_PROPERTY_UPDATED", "COMPARATIVE_PROPERTY_UPDATED":
	default:
		// The time operations: check the operands against a fixed clock.
		env := Env{Get: func(string) (string, bool) { return "", false }, Now: time.Unix(0, 0)}
		if _, err := env.timeTest(op); err != nil {
			return err
		}
	}
	return nil
}

// Env is what evaluating a filter tree reads: the record's values, the
// object type's property definitions and the current time (for relative
// dates such as "more than 30 days ago").
type Env struct {
	// Get returns a property's canonical stored value and whether it is
	// set (an empty value counts as unset).
	Get func(name string) (string, bool)
	// Defs are the object type's property definitions (may be nil).
	Defs map[string]*spoke.Property
	// Now is the time relative dates count from; zero means time.Now().
	Now time.Time
	// InList reports whether the record is a member of a list, for
	// IN_LIST filters; nil means lists are not known and the record is in
	// none.
	InList func(listID string) (bool, error)
	// Memberships overrides the stored membership of the record in static
	// lists, by list id: the membership a change not yet committed gives
	// it (or had before the change), for an InList that reads the
	// database.
	Memberships map[string]bool
}

// Evaluate reports whether a record matches a filter tree, at the current
// time; see Env.Evaluate.
func Evaluate(b *spoke.FilterBranch, get func(name string) (string, bool), defs map[string]*spoke.Property) (bool, error) {
	return Env{Get: get, Defs: defs}.Evaluate(b)
}

// Evaluate reports whether the record matches a filter tree. Branch types
// are AND, OR, NOT_ALL, NOT_ANY and RESTRICTED (as AND); an AND or NOT_ANY
// branch with nothing in it is true, an empty OR false. A UNIFIED_EVENTS
// branch is true only for HAS_NOT_COMPLETED (Spoke records no such
// events); an ASSOCIATION branch tests associated records, which Spoke's
// filters do not read, and is false. PROPERTY filters are evaluated; a
// filter on an unset property is true if includeObjectsWithNoValueSet is,
// except IS_KNOWN (false) and IS_UNKNOWN (true). String comparisons
// ignore case; number comparisons are numeric. An unsupported branch
// type, filter type, operation type or operator, or a missing operand, is
// an error.
func (env Env) Evaluate(b *spoke.FilterBranch) (bool, error) {
	if b == nil {
		return false, spoke.Invalidf("no filter branch to evaluate")
	}
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	t, err := branchType(b)
	if err != nil {
		return false, err
	}
	results := make([]bool, 0, len(b.Filters)+len(b.FilterBranches))
	for i := range b.Filters {
		ok, err := env.filter(&b.Filters[i])
		if err != nil {
			return false, err
		}
		results = append(results, ok)
	}
	for i := range b.FilterBranches {
		ok, err := env.Evaluate(&b.FilterBranches[i])
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
	case "AND", "RESTRICTED":
		return all, nil
	case "OR":
		return any, nil
	case "NOT_ALL":
		return !all, nil
	case "NOT_ANY":
		return !any, nil
	case "UNIFIED_EVENTS":
		return b.Operator == "HAS_NOT_COMPLETED", nil
	}
	return false, nil // ASSOCIATION
}

func (env Env) filter(fl *spoke.FlowFilter) (bool, error) {
	if err := checkFilter(fl); err != nil {
		return false, spoke.Invalidf("filter on %s: %v", fl.Property, err)
	}
	switch fl.FilterType {
	case "PROPERTY":
	case "CONSTANT":
		return *fl.ShouldAccept, nil
	case "EMAIL_SUBSCRIPTION", "COMMUNICATION_SUBSCRIPTION":
		return false, nil
	case "IN_LIST":
		if env.InList == nil {
			return negative(fl.Operator), nil
		}
		in, err := env.InList(fl.ListID)
		if err != nil {
			return false, err
		}
		if negative(fl.Operator) {
			return !in, nil
		}
		return in, nil
	default:
		return negative(fl.Operator), nil
	}
	op := &fl.Operation
	v, ok := env.Get(fl.Property)
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
		return stringTest(op.Operator, v, want), nil
	case "MULTISTRING":
		want, _ := stringValues(op.Values)
		neg := strings.Contains(op.Operator, "NOT") || strings.Contains(op.Operator, "NEVER")
		for _, w := range want {
			if stringTest(op.Operator, v, w) != neg {
				return !neg, nil
			}
		}
		return neg, nil
	case "COMPARATIVE_STRING":
		other, ok := env.Get(op.ComparisonPropertyName)
		if !ok || other == "" {
			other, _ = scalarString(op.DefaultComparisonValue)
		}
		return stringTest(op.Operator, v, other), nil
	case "NUMBER", "NUMBER_RANGED":
		have, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(have) {
			// A stored value that is not a number matches only the
			// negative operators.
			return op.Operator == "IS_NOT_EQUAL_TO" || op.Operator == "IS_NOT_BETWEEN" || op.Operator == "HAS_NEVER_BEEN_EQUAL_TO", nil
		}
		if op.Operator == "IS_BETWEEN" || op.Operator == "IS_NOT_BETWEEN" {
			lo, hi, _ := numberBounds(op)
			in := have >= lo && have <= hi
			return in == (op.Operator == "IS_BETWEEN"), nil
		}
		want, _ := scalarNumber(op.Value)
		switch op.Operator {
		case "IS_EQUAL_TO", "HAS_EVER_BEEN_EQUAL_TO":
			return have == want, nil
		case "IS_NOT_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO":
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
		if op.Operator == "IS_EQUAL_TO" || op.Operator == "HAS_EVER_BEEN_EQUAL_TO" {
			return have == want, nil
		}
		return have != want, nil
	case "ENUMERATION":
		want, _ := stringValues(op.Values)
		have := splitValues(v)
		if p := env.Defs[fl.Property]; p != nil && p.Type != spoke.TypeEnumeration {
			have = []string{v} // a ";" inside a string value is not a separator
		}
		switch op.Operator {
		case "IS_ANY_OF", "HAS_EVER_BEEN_ANY_OF":
			return anyIn(have, want), nil
		case "IS_NONE_OF", "HAS_NEVER_BEEN_ANY_OF":
			return !anyIn(have, want), nil
		case "IS_EXACTLY", "HAS_EVER_BEEN_EXACTLY":
			return sameSet(have, want), nil
		case "IS_NOT_EXACTLY", "HAS_NEVER_BEEN_EXACTLY":
			return !sameSet(have, want), nil
		case "CONTAINS_ALL", "HAS_EVER_CONTAINED_ALL":
			return allIn(want, have), nil
		case "DOES_NOT_CONTAIN_ALL", "HAS_NEVER_CONTAINED_ALL":
			return !allIn(want, have), nil
		}
	case "ALL_PROPERTY":
		// Only IS_KNOWN and IS_UNKNOWN, handled above.
	case "ROLLING_PROPERTY_UPDATED", "COMPARATIVE_PROPERTY_UPDATED":
		return false, nil
	default:
		have, ok := spoke.ParseTime(v)
		if !ok {
			return false, nil
		}
		test, err := env.timeTest(op)
		if err != nil {
			return false, spoke.Invalidf("filter on %s: %v", fl.Property, err)
		}
		return test(have), nil
	}
	return false, spoke.Invalidf("filter on %s: operator %s is not supported for %s", fl.Property, op.Operator, op.OperationType)
}

// stringTest applies a STRING operator, ignoring case.
func stringTest(operator, have, want string) bool {
	have, want = strings.ToLower(have), strings.ToLower(want)
	switch operator {
	case "IS_EQUAL_TO", "HAS_EVER_BEEN_EQUAL_TO":
		return have == want
	case "IS_NOT_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO":
		return have != want
	case "CONTAINS", "HAS_EVER_CONTAINED":
		return strings.Contains(have, want)
	case "DOES_NOT_CONTAIN", "HAS_NEVER_CONTAINED":
		return !strings.Contains(have, want)
	case "STARTS_WITH":
		return strings.HasPrefix(have, want)
	case "ENDS_WITH":
		return strings.HasSuffix(have, want)
	}
	return false
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
// lowerBound and upperBound, or from values (two numbers).
func numberBounds(op *spoke.Operation) (lo, hi float64, err error) {
	vals := op.Values
	if len(op.LowerBound) > 0 && len(op.UpperBound) > 0 {
		vals = []json.RawMessage{op.LowerBound, op.UpperBound}
	}
	if len(vals) != 2 {
		return 0, 0, fmt.Errorf("%s needs lowerBound and upperBound (or values with two numbers)", op.Operator)
	}
	lo, err1 := scalarNumber(vals[0])
	hi, err2 := scalarNumber(vals[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%s bounds must be numbers", op.Operator)
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}
