package sandbox

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// finishResult applies the host-side checks to a result: egress denials,
// output size, redaction and the log cap.
func (p *Pool) finishResult(w *worker, res *Result) {
	denials := w.takeDenials()
	if len(denials) > 0 {
		var b strings.Builder
		for _, d := range denials {
			fmt.Fprintf(&b, "%s\tEGRESS_DENIED\thost=%s rule=%s: %s\n", d.Time.UTC().Format("2006-01-02T15:04:05.000Z"), d.Host, d.Rule, d.Detail)
		}
		res.Logs += b.String()
		if res.Error != nil && res.Error.Type == ErrUncaught {
			res.Error.Type = ErrEgressDenied
			if !strings.Contains(res.Error.Message, "EGRESS_DENIED") {
				res.Error.Message = denials[0].Error() + " (" + res.Error.Message + ")"
			}
		}
	}
	if res.Status == StatusSuccess {
		if name, n, ok := tooLong(res.OutputFields); ok {
			res.Status = StatusError
			res.Error = &Error{Type: ErrOutputTooLarge, Message: fmt.Sprintf("output %q is %d characters long; string outputs are limited to %d", name, n, MaxOutputStringLen)}
		}
	}
	if res.Status == StatusError {
		res.OutputFields = map[string]any{}
	}
	res.Logs = capLogs(w.secrets.String(res.Logs))
	if res.Error != nil {
		res.Error.Message = w.secrets.String(res.Error.Message)
		res.Error.Stack = w.secrets.String(res.Error.Stack)
	}
}

// tooLong finds a string output over MaxOutputStringLen characters.
func tooLong(fields map[string]any) (string, int, bool) {
	for k, v := range fields {
		if s, ok := v.(string); ok {
			if n := utf8.RuneCountInString(s); n > MaxOutputStringLen {
				return k, n, true
			}
		}
	}
	return "", 0, false
}

// capLogs truncates logs to LogCap bytes with a marker.
func capLogs(s string) string {
	const marker = "\n[log truncated at 64 KB]\n"
	if len(s) <= LogCap+len(marker) {
		return s
	}
	cut := LogCap
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}
