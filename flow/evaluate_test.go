package flow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func filter(property, opType, operator, operands string, include bool) spoke.FlowFilter {
	var op spoke.Operation
	body := `{"operationType":"` + opType + `","operator":"` + operator + `"`
	if operands != "" {
		body += "," + operands
	}
	if include {
		body += `,"includeObjectsWithNoValueSet":true`
	}
	if err := json.Unmarshal([]byte(body+"}"), &op); err != nil {
		panic(err)
	}
	return spoke.FlowFilter{FilterType: "PROPERTY", Property: property, Operation: op}
}

func and(filters ...spoke.FlowFilter) *spoke.FilterBranch {
	return &spoke.FilterBranch{FilterBranchType: "AND", Filters: filters}
}

var record = map[string]string{
	"email":     "Ada@Engines.example",
	"amount":    "1500.5",
	"small":     "9",
	"flag":      "true",
	"stage":     "lead",
	"colors":    "red;green",
	"closedate": "2024-03-01T12:00:00.000Z",
	"birthday":  "1990-05-17",
	"blank":     "",
}

var defs = map[string]*spoke.Property{
	"colors": {Name: "colors", Type: spoke.TypeEnumeration, FieldType: "checkbox"},
	"stage":  {Name: "stage", Type: spoke.TypeEnumeration, FieldType: "select"},
	"email":  {Name: "email", Type: spoke.TypeString},
}

func get(name string) (string, bool) {
	v, ok := record[name]
	return v, ok
}

func TestEvaluateFilters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		f    spoke.FlowFilter
		want bool
	}{
		{"string eq case", filter("email", "STRING", "IS_EQUAL_TO", `"value":"ada@engines.EXAMPLE"`, false), true},
		{"string ne", filter("email", "STRING", "IS_NOT_EQUAL_TO", `"value":"x"`, false), true},
		{"string contains", filter("email", "STRING", "CONTAINS", `"value":"ENGINES"`, false), true},
		{"string not contains", filter("email", "STRING", "DOES_NOT_CONTAIN", `"value":"engines"`, false), false},
		{"string starts", filter("email", "STRING", "STARTS_WITH", `"value":"ada@"`, false), true},
		{"string ends", filter("email", "STRING", "ENDS_WITH", `"value":".EXAMPLE"`, false), true},
		{"number gt numeric not lexical", filter("small", "NUMBER", "IS_GREATER_THAN", `"value":10`, false), false},
		{"number lt numeric not lexical", filter("small", "NUMBER", "IS_LESS_THAN", `"value":"10"`, false), true},
		{"number eq", filter("amount", "NUMBER", "IS_EQUAL_TO", `"value":1500.50`, false), true},
		{"number ne", filter("amount", "NUMBER", "IS_NOT_EQUAL_TO", `"value":1500.5`, false), false},
		{"number ge", filter("amount", "NUMBER", "IS_GREATER_THAN_OR_EQUAL_TO", `"value":1500.5`, false), true},
		{"number le", filter("amount", "NUMBER", "IS_LESS_THAN_OR_EQUAL_TO", `"value":1500`, false), false},
		{"between values", filter("amount", "NUMBER", "IS_BETWEEN", `"values":[1000,2000]`, false), true},
		{"not between values", filter("amount", "NUMBER", "IS_NOT_BETWEEN", `"values":["1000","2000"]`, false), false},
		{"between reversed", filter("small", "NUMBER", "IS_BETWEEN", `"values":[10,1]`, false), true},
		{"bool eq", filter("flag", "BOOL", "IS_EQUAL_TO", `"value":true`, false), true},
		{"bool ne", filter("flag", "BOOL", "IS_NOT_EQUAL_TO", `"value":"true"`, false), false},
		{"enum any", filter("stage", "ENUMERATION", "IS_ANY_OF", `"values":["customer","LEAD"]`, false), true},
		{"enum none", filter("stage", "ENUMERATION", "IS_NONE_OF", `"values":["lead"]`, false), false},
		{"enum exactly multi", filter("colors", "ENUMERATION", "IS_EXACTLY", `"values":["green","red"]`, false), true},
		{"enum not exactly", filter("colors", "ENUMERATION", "IS_NOT_EXACTLY", `"values":["green"]`, false), true},
		{"enum contains all", filter("colors", "ENUMERATION", "CONTAINS_ALL", `"values":["red","green"]`, false), true},
		{"enum contains all missing", filter("colors", "ENUMERATION", "CONTAINS_ALL", `"values":["red","blue"]`, false), false},
		{"known", filter("email", "ALL_PROPERTY", "IS_KNOWN", ``, false), true},
		{"unknown on set", filter("email", "ALL_PROPERTY", "IS_UNKNOWN", ``, true), false},
		{"unknown on unset", filter("nothing", "ALL_PROPERTY", "IS_UNKNOWN", ``, false), true},
		{"unknown on empty", filter("blank", "ALL_PROPERTY", "IS_UNKNOWN", ``, false), true},
		{"known on unset with include", filter("nothing", "ALL_PROPERTY", "IS_KNOWN", ``, true), false},
		{"unset excluded", filter("nothing", "STRING", "IS_NOT_EQUAL_TO", `"value":"x"`, false), false},
		{"unset included", filter("nothing", "NUMBER", "IS_GREATER_THAN", `"value":1`, true), true},
		{"after ms", filter("closedate", "TIME_POINT", "IS_AFTER", `"value":1709251200000`, false), true},
		{"before ms", filter("closedate", "TIME_POINT", "IS_BEFORE", `"value":"1709251200000"`, false), false},
		{"date before", filter("birthday", "TIME_POINT", "IS_BEFORE", `"value":"2000-01-01T00:00:00Z"`, false), true},
		{"number on non-number", filter("email", "NUMBER", "IS_GREATER_THAN", `"value":1`, false), false},
	}
	for _, tc := range cases {
		got, err := Evaluate(and(tc.f), get, defs)
		if err != nil || got != tc.want {
			t.Errorf("%s: Evaluate = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestEvaluateBranches(t *testing.T) {
	t.Parallel()
	yes := filter("email", "ALL_PROPERTY", "IS_KNOWN", ``, false)
	no := filter("nothing", "ALL_PROPERTY", "IS_KNOWN", ``, false)
	cases := []struct {
		name string
		b    *spoke.FilterBranch
		want bool
	}{
		{"and", &spoke.FilterBranch{FilterBranchType: "AND", Filters: []spoke.FlowFilter{yes, no}}, false},
		{"or", &spoke.FilterBranch{FilterBranchType: "OR", Filters: []spoke.FlowFilter{yes, no}}, true},
		{"not all", &spoke.FilterBranch{FilterBranchType: "NOT_ALL", Filters: []spoke.FlowFilter{yes, no}}, true},
		{"not any", &spoke.FilterBranch{FilterBranchType: "NOT_ANY", Filters: []spoke.FlowFilter{yes, no}}, false},
		{"operator fallback", &spoke.FilterBranch{FilterBranchOperator: "OR", Filters: []spoke.FlowFilter{no, yes}}, true},
		{"empty and", &spoke.FilterBranch{FilterBranchType: "AND"}, true},
		{"empty or", &spoke.FilterBranch{FilterBranchType: "OR"}, false},
		{"nested", &spoke.FilterBranch{FilterBranchType: "OR", FilterBranches: []spoke.FilterBranch{
			{FilterBranchType: "AND", Filters: []spoke.FlowFilter{yes, no}},
			{FilterBranchType: "AND", Filters: []spoke.FlowFilter{yes}},
		}}, true},
	}
	for _, tc := range cases {
		got, err := Evaluate(tc.b, get, nil)
		if err != nil || got != tc.want {
			t.Errorf("%s: Evaluate = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		b    *spoke.FilterBranch
		want string
	}{
		{"nil", nil, "no filter branch"},
		{"branch type", &spoke.FilterBranch{FilterBranchType: "SOMETIMES"}, "SOMETIMES"},
		{"no branch type", &spoke.FilterBranch{}, "filterBranchType"},
		{"operator", and(filter("email", "STRING", "IS_LIKE", `"value":"a"`, false)), "IS_LIKE"},
		{"operation type", and(filter("email", "TIME_WARPED", "IS_BETWEEN", ``, false)), "TIME_WARPED"},
		{"time range without bounds", and(filter("email", "TIME_RANGED", "IS_BETWEEN", ``, false)), "lowerBoundTimePoint"},
		{"filter type", and(spoke.FlowFilter{FilterType: "TELEPATHY"}), "TELEPATHY"},
		{"list filter without list", and(spoke.FlowFilter{FilterType: "IN_LIST", Operator: "IN_LIST"}), "listId"},
		{"missing value", and(filter("amount", "NUMBER", "IS_EQUAL_TO", ``, false)), "numeric"},
		{"between one bound", and(filter("amount", "NUMBER", "IS_BETWEEN", `"values":[1]`, false)), "lowerBound"},
		{"enum no values", and(filter("stage", "ENUMERATION", "IS_ANY_OF", ``, false)), "values"},
		{"bool not bool", and(filter("flag", "BOOL", "IS_EQUAL_TO", `"value":"maybe"`, false)), "boolean"},
		{"nested error", &spoke.FilterBranch{FilterBranchType: "OR", FilterBranches: []spoke.FilterBranch{{FilterBranchType: "X"}}}, `"X"`},
	}
	for _, tc := range cases {
		_, err := Evaluate(tc.b, get, nil)
		if err == nil || !strings.Contains(spoke.ErrorMessage(err), tc.want) {
			t.Errorf("%s: Evaluate error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCoerceOutput(t *testing.T) {
	t.Parallel()
	out := func(typ string, opts ...string) spoke.OutputField {
		return spoke.OutputField{Name: "out", Type: typ, Options: opts}
	}
	ok := []struct {
		f    spoke.OutputField
		v    any
		want string
	}{
		{out("STRING"), "hi", "hi"},
		{out("STRING"), 3.5, "3.5"},
		{out("STRING"), true, "true"},
		{out("STRING"), nil, ""},
		{out("NUMBER"), 42.0, "42"},
		{out("NUMBER"), 1e21, "1000000000000000000000"},
		{out("NUMBER"), " 7.25 ", "7.25"},
		{out("NUMBER"), "-3", "-3"},
		{out("BOOL"), true, "true"},
		{out("BOOL"), "FALSE", "false"},
		{out("BOOL"), "yes", "true"},
		{out("BOOL"), 0.0, "false"},
		{out("ENUMERATION", "gold", "silver"), "gold", "gold"},
		{out("ENUMERATION", "gold", "silver"), "Silver", "silver"},
		{out("DATE"), "2024-02-29", "2024-02-29"},
		{out("DATE"), 1709164800000.0, "2024-02-29"},
		{out("DATE"), "1709164800000", "2024-02-29"},
		{out("DATE"), "2024-02-29T00:00:00Z", "2024-02-29"},
		{out("DATETIME"), 1709164800123.0, "2024-02-29T00:00:00.123Z"},
		{out("DATETIME"), "2024-02-29T01:02:03+01:00", "2024-02-29T00:02:03.000Z"},
		{out("DATETIME"), "1709164800000", "2024-02-29T00:00:00.000Z"},
		{out("PHONE_NUMBER"), "+1 (555) 010-9999 ext 2", "+1 (555) 010-9999 ext 2"},
		{out("PHONE_NUMBER"), 5550100.0, "5550100"},
	}
	for _, tc := range ok {
		got, err := CoerceOutput(tc.f, tc.v)
		if err != nil || got != tc.want {
			t.Errorf("CoerceOutput(%s, %#v) = %q, %v; want %q", tc.f.Type, tc.v, got, err, tc.want)
		}
	}
	bad := []struct {
		f    spoke.OutputField
		v    any
		want string
	}{
		{out("NUMBER"), "abc", "NUMBER"},
		{out("NUMBER"), true, "NUMBER"},
		{out("NUMBER"), "0x10", "NUMBER"},
		{out("BOOL"), "maybe", "true or false"},
		{out("BOOL"), 2.0, "BOOL"},
		{out("ENUMERATION", "gold"), "bronze", "[gold]"},
		{out("DATE"), 1709164800001.0, "midnight"},
		{out("DATE"), "29/02/2024", "YYYY-MM-DD"},
		{out("DATE"), "2024-02-29T10:00:00Z", "DATE"},
		{out("DATETIME"), "yesterday", "ISO 8601"},
		{out("DATETIME"), 1.5, "DATETIME"},
		{out("PHONE_NUMBER"), "call me", "phone number"},
		{out("STRING"), map[string]any{"a": 1.0}, "object"},
		{out("STRING"), []any{1.0}, "array"},
		{out("WHATEVER"), "x", "unknown type"},
	}
	for _, tc := range bad {
		_, err := CoerceOutput(tc.f, tc.v)
		msg := spoke.ErrorMessage(err)
		if spoke.ErrorCode(err) != spoke.EINVALID || !strings.Contains(msg, `"out"`) || !strings.Contains(msg, tc.want) {
			t.Errorf("CoerceOutput(%s, %#v) error = %v, want EINVALID naming the field and %q", tc.f.Type, tc.v, err, tc.want)
		}
	}
}
