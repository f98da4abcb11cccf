package codetest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary counts results.
type Summary struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	Flaky  int `json:"flaky"`
}

// Summarize counts passed, failed and flaky cases.
func Summarize(results []*Result) Summary {
	var s Summary
	for _, r := range results {
		if r.Passed {
			s.Passed++
		} else {
			s.Failed++
		}
		if r.Flaky {
			s.Flaky++
		}
	}
	return s
}

// String is "N passed, M failed" (and flaky cases when there are some).
func (s Summary) String() string {
	out := fmt.Sprintf("%d passed, %d failed", s.Passed, s.Failed)
	if s.Flaky > 0 {
		out += fmt.Sprintf(", %d flaky", s.Flaky)
	}
	return out
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}

// WriteLine writes one result as a person reads it: "ok" or "FAIL", the
// case and its time, then each failure indented.
func WriteLine(w io.Writer, r *Result) {
	mark := "ok  "
	if !r.Passed {
		mark = "FAIL"
	}
	extra := ""
	switch {
	case r.Runs > 1:
		extra = fmt.Sprintf(" [%d/%d runs passed]", r.PassedRuns, r.Runs)
	}
	if r.Snapshot == "written" {
		extra += " [snapshot written]"
	}
	fmt.Fprintf(w, "%s %s (%s)%s\n", mark, r.Case.ID(), ms(r.Duration), extra)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "     %s\n", strings.ReplaceAll(f, "\n", "\n     "))
	}
}

// WriteText writes every result line and the summary.
func WriteText(w io.Writer, results []*Result, elapsed time.Duration) {
	for _, r := range results {
		WriteLine(w, r)
	}
	fmt.Fprintf(w, "%s (%s)\n", Summarize(results), ms(elapsed))
}

// JUnit XML, as Jenkins, GitLab and GitHub's test reporters read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the results as JUnit XML, one test suite per case
// file.
func WriteJUnit(w io.Writer, results []*Result, elapsed time.Duration) error {
	out := junitSuites{Time: secs(elapsed)}
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Case.File]
		if !ok {
			i = len(out.Suites)
			index[r.Case.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: r.Case.File})
		}
		s := &out.Suites[i]
		jc := junitCase{Name: r.Case.Name, Classname: r.Case.File, Time: secs(r.Duration)}
		if r.Outcome != nil {
			jc.SystemOut = r.Outcome.Logs
		}
		if !r.Passed {
			typ := "ExpectationFailed"
			if r.Flaky {
				typ = "Flaky"
			}
			jc.Failure = &junitFailure{Message: firstLine(r.Failures[0]), Type: typ, Body: strings.Join(r.Failures, "\n")}
			s.Failures++
			out.Failures++
		}
		s.Tests++
		out.Tests++
		s.Cases = append(s.Cases, jc)
	}
	for i := range out.Suites {
		var d time.Duration
		for _, r := range results {
			if r.Case.File == out.Suites[i].Name {
				d += r.Duration
			}
		}
		out.Suites[i].Time = secs(d)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type jsonCase struct {
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Name       string   `json:"name"`
	DurationMs float64  `json:"durationMs"`
	Passed     bool     `json:"passed"`
	Failures   []string `json:"failures"`
	Runs       int      `json:"runs"`
	PassedRuns int      `json:"passedRuns"`
	Flaky      bool     `json:"flaky"`
	Snapshot   string   `json:"snapshot,omitempty"`
	Outcome    *Outcome `json:"outcome"`
}

// WriteJSON writes the results as one JSON document: the summary and each
// case with its outcome.
func WriteJSON(w io.Writer, results []*Result, elapsed time.Duration) error {
	doc := struct {
		Summary
		DurationMs float64    `json:"durationMs"`
		Cases      []jsonCase `json:"cases"`
	}{Summary: Summarize(results), DurationMs: float64(elapsed) / float64(time.Millisecond), Cases: []jsonCase{}}
	for _, r := range results {
		f := r.Failures
		if f == nil {
			f = []string{}
		}
		doc.Cases = append(doc.Cases, jsonCase{File: r.Case.File, Line: r.Case.Line, Name: r.Case.Name,
			DurationMs: float64(r.Duration) / float64(time.Millisecond), Passed: r.Passed, Failures: f,
			Runs: r.Runs, PassedRuns: r.PassedRuns, Flaky: r.Flaky, Snapshot: r.Snapshot, Outcome: r.Outcome})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
