// Package lint checks the source code of custom code actions before it
// runs: JavaScript with ESLint (pinned by lint/package-lock.json) and Spoke's
// own rules as a local ESLint plugin (lint/js), Python with Python's own ast
// module (lint/python). Both run as warm child processes that answer one
// JSON request per line, so a check costs milliseconds, not a process start.
//
// The checks find what HubSpot's custom code checklist asks people to look
// for by hand: hard-coded credentials, secrets written to logs, input fields
// used without a null check, network calls without error handling or with a
// catch that swallows rate limits, URLs whose host comes from an input,
// outputs returned but not declared (or declared but never returned),
// callback misuse, modules the runtime does not have, and code that cannot
// finish within the time limit. See docs/lint.md.
package lint

// Severity is how bad a finding is.
type Severity string

// Severities. An error fails `spoke lint` and keeps a flow from being turned
// on unless the request acknowledges it; a warning is advice.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Rule describes one check.
type Rule struct {
	// ID names the rule in findings ("hardcoded-credential").
	ID string
	// Severity is the severity of the rule's findings.
	Severity Severity
	// JavaScript and Python say which languages the rule checks.
	JavaScript, Python bool
	// Summary says what the rule finds, in one sentence.
	Summary string
}

// Rules lists every check. The ESLint plugin (lint/js/eslint-plugin-spoke.js)
// and the Python checker (lint/python/spoke_lint.py) use the same ids and
// severities; a test holds the three in step.
var Rules = []Rule{
	{"syntax-error", SeverityError, true, true, "The code does not parse."},
	{"hardcoded-credential", SeverityError, true, true, "A token, API key or password written into the code instead of read from a secret."},
	{"secret-in-log", SeverityError, true, true, "A secret's value (process.env, os.environ, os.getenv) written to the action log."},
	{"unchecked-input", SeverityWarning, true, true, "An input field dereferenced without a null or empty check or a default."},
	{"input-undeclared", SeverityError, true, true, "An input field read by the code but not declared in the action's inputFields."},
	{"unhandled-call", SeverityWarning, true, true, "A network call (fetch, axios, @hubspot/api-client, requests) without error handling."},
	{"rate-limit-swallowed", SeverityWarning, true, true, "A catch/except (or a requests call never checked) that swallows a 429 instead of rethrowing it."},
	{"ssrf-url-from-input", SeverityError, true, true, "A request URL whose host comes from an input field, with no allowlist check."},
	{"output-undeclared", SeverityWarning, true, true, "An output returned but not declared in the action's outputFields."},
	{"output-unreturned", SeverityError, true, true, "An output declared in outputFields that the code never returns."},
	{"callback-never-called", SeverityError, true, false, "main(event, callback) ends (on some path) without calling callback or returning outputFields."},
	{"callback-twice", SeverityError, true, false, "callback called twice on one path, or inside a loop."},
	{"callback-before-await", SeverityError, true, false, "callback called before an awaited call finishes."},
	{"unawaited-call", SeverityWarning, true, false, "A network call whose promise nothing awaits."},
	{"unavailable-module", SeverityError, true, true, "A require or import of a library the runtime does not have."},
	{"unbounded-loop", SeverityError, true, true, "A loop that never ends, or a polling loop with a sleep and no attempt limit."},
	{"sleep-too-long", SeverityError, true, true, "A wait at least as long as the action's time limit."},
	{"lint-unavailable", SeverityWarning, true, true, "The linter for the language is not installed, so the code was not checked."},
}

// RuleByID returns the rule with the given id.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
