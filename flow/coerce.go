package flow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// CoerceOutput converts a custom code output value, as decoded from JSON
// (string, float64, bool or nil), to the canonical stored string of the
// output field's declared type: STRING as given (numbers and bools as
// their text); NUMBER a decimal; BOOL "true"/"false" (also from yes/no,
// 1/0); ENUMERATION one of the options; DATE YYYY-MM-DD (from that, from
// epoch milliseconds at midnight UTC or an ISO timestamp at midnight);
// DATETIME 2006-01-02T15:04:05.000Z (from epoch milliseconds or ISO 8601);
// PHONE_NUMBER digits and + - ( ) . x ext # / and spaces. nil gives "" (no
// value). A value that does not fit is an EINVALID *spoke.Error naming the
// field and its type.
func CoerceOutput(f spoke.OutputField, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	bad := func(why string) (string, error) {
		return "", &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR",
			Message: fmt.Sprintf("Output field %s is declared %s but the code returned %s%s.", strconv.Quote(f.Name), f.Type, describe(v), why)}
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return bad("")
		}
		text = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		text = strconv.FormatBool(x)
	case int:
		text = strconv.Itoa(x)
	case int64:
		text = strconv.FormatInt(x, 10)
	default:
		return bad(" (an object or array; return a single value)")
	}
	switch f.Type {
	case spoke.OutputString:
		return text, nil
	case spoke.OutputNumber:
		if _, ok := v.(bool); ok {
			return bad("")
		}
		p := spoke.Property{Name: f.Name, Type: spoke.TypeNumber}
		s, verr := p.NormalizeValue(strings.TrimSpace(text))
		if verr != nil {
			return bad("")
		}
		return s, nil
	case spoke.OutputBool:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "yes", "1":
			return "true", nil
		case "false", "no", "0":
			return "false", nil
		}
		return bad(" (use true or false)")
	case spoke.OutputEnumeration:
		for _, o := range f.Options {
			if o == text {
				return o, nil
			}
		}
		for _, o := range f.Options {
			if strings.EqualFold(o, strings.TrimSpace(text)) {
				return o, nil
			}
		}
		return bad(fmt.Sprintf(", which is not one of its options [%s]", strings.Join(f.Options, ", ")))
	case spoke.OutputDate:
		if _, ok := v.(bool); ok {
			return bad("")
		}
		if ms, ok := v.(float64); ok {
			if ms != math.Trunc(ms) {
				return bad("")
			}
			t := time.UnixMilli(int64(ms)).UTC()
			if t.Truncate(24*time.Hour) != t {
				return bad(" (epoch milliseconds must be at midnight UTC)")
			}
			return t.Format("2006-01-02"), nil
		}
		p := spoke.Property{Name: f.Name, Type: spoke.TypeDate}
		s, verr := p.NormalizeValue(strings.TrimSpace(text))
		if verr != nil {
			return bad(" (use YYYY-MM-DD or epoch milliseconds at midnight UTC)")
		}
		return s, nil
	case spoke.OutputDateTime:
		if _, ok := v.(bool); ok {
			return bad("")
		}
		if ms, ok := v.(float64); ok {
			if ms != math.Trunc(ms) {
				return bad("")
			}
			return spoke.FormatTime(time.UnixMilli(int64(ms))), nil
		}
		t, ok := spoke.ParseTime(text)
		if !ok {
			return bad(" (use ISO 8601 or epoch milliseconds)")
		}
		return spoke.FormatTime(t), nil
	case spoke.OutputPhoneNumber:
		if _, ok := v.(bool); ok {
			return bad("")
		}
		p := spoke.Property{Name: f.Name, Type: spoke.TypePhoneNumber}
		s, verr := p.NormalizeValue(text)
		if verr != nil {
			return bad(" (a phone number has digits and + - ( ) . x ext # /)")
		}
		return s, nil
	}
	return "", &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR",
		Message: fmt.Sprintf("Output field %s has an unknown type %s.", strconv.Quote(f.Name), strconv.Quote(f.Type))}
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 60 {
			x = x[:60] + "..."
		}
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%v", v)
}
