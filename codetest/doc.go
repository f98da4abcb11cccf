// Package codetest runs test cases for custom code actions in the real
// sandbox: `spoke test`.
//
// A case file sits beside the code (score.test.yaml for score.js, or JSON)
// and holds one case or several. Each case gives the event the code
// receives, its secrets, the CRM records it may read and write (seeded into
// an in-process Spoke on a throwaway SQLite store, one account per case),
// declared responses of external HTTP services (served by a local stub the
// egress proxy sends every external connection to, so nothing leaves the
// machine), and what to expect: status, outputs, error type, log lines, CRM
// writes, time and memory. The format is described in docs/testing.md.
//
// The [Runner] parses case files ([Load]), runs each case through one warm
// sandbox pool, and returns [Result]s that [Report] renders as text, JUnit
// XML or JSON.
package codetest
