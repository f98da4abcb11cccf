package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// bytesTrimQuotes returns a JSON scalar's text without its quotes.
func bytesTrimQuotes(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

// combine applies an INCREMENT or APPEND value to a property's current
// value: INCREMENT adds the amount to a number property (an unset one
// counts as 0; a negative amount decreases it); APPEND_OBJECT_PROPERTY and
// STATIC_APPEND_VALUE add options to a multiple checkbox property, or text
// to the end of a string.
func combine(p *spoke.Property, typ, cur, v string) (string, *spoke.ActionError) {
	if typ == spoke.ValueIncrement {
		if p.Type != spoke.TypeNumber {
			return "", &spoke.ActionError{Type: "INVALID_ACTION", Message: fmt.Sprintf("INCREMENT needs a number property; %s is a %s.", p.Name, p.Type)}
		}
		amount, err1 := strconv.ParseFloat(strings.TrimSpace(v), 64)
		base := 0.0
		var err2 error
		if strings.TrimSpace(cur) != "" {
			base, err2 = strconv.ParseFloat(strings.TrimSpace(cur), 64)
		}
		if err1 != nil || err2 != nil {
			return "", &spoke.ActionError{Type: "INVALID_PROPERTY_VALUE", Message: fmt.Sprintf("Cannot increment %s (%q) by %q.", p.Name, cur, v)}
		}
		return strconv.FormatFloat(base+amount, 'f', -1, 64), nil
	}
	if v == "" {
		return cur, nil
	}
	if cur == "" {
		return v, nil
	}
	if p.Type == spoke.TypeEnumeration {
		have := strings.Split(cur, ";")
		for _, add := range strings.Split(v, ";") {
			if add != "" && !contains(have, add) {
				have = append(have, add)
			}
		}
		return strings.Join(have, ";"), nil
	}
	return cur + v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// abTest picks an AB_TEST_BRANCH arm at random, weighted by the arms'
// percentages, and returns its next action ("" ends the path).
func (e *Engine) abTest(act *spoke.Action) string {
	total := 0.0
	for _, b := range act.TestBranches {
		total += flow.Percentage(b.Percentage)
	}
	if total <= 0 {
		return ""
	}
	r := rand.Float64() * total
	for _, b := range act.TestBranches {
		p := flow.Percentage(b.Percentage)
		if r < p {
			return next(b.Connection)
		}
		r -= p
	}
	return next(act.TestBranches[len(act.TestBranches)-1].Connection)
}
