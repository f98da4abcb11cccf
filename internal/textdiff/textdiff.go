// Package textdiff renders line diffs for people: snapshot mismatches in
// `spoke test`, code changes in `spoke flows diff` and custom code changes
// between flow revisions (flow.Compare).
package textdiff

import (
	"fmt"
	"strings"
)

// Unified returns a unified diff of a and b, line by line, with context
// lines of context around each change and headers naming the two sides.
// It returns "" when a and b are equal.
func Unified(nameA, nameB, a, b string, context int) string {
	return UnifiedWith(nameA, nameB, a, b, Options{Context: context})
}

// Options choose how UnifiedWith lays out a diff. The zero value is
// Unified's layout with no context.
type Options struct {
	// Context is the number of unchanged lines shown around each change.
	Context int
	// GNURanges writes hunk ranges as GNU diff -u does: a one-line range
	// as its line number alone and an empty range as the line before it
	// ("-0,0" from nothing). Without it every range is "start,length"
	// counted from 1.
	GNURanges bool
	// MaxLines, when above zero, shows sides longer than this many lines
	// as replaced whole. When zero the bound is on the comparison table
	// instead: len(a)*len(b) above 4,000,000 cells.
	MaxLines int
}

// UnifiedWith returns a unified diff of a and b laid out as opt says, with
// headers naming the two sides; "" when a and b are equal.
func UnifiedWith(nameA, nameB, a, b string, opt Options) string {
	if a == b {
		return ""
	}
	la, lb := splitLines(a), splitLines(b)
	ops := diff(la, lb, opt.MaxLines)
	context := opt.Context
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	// Group the edit script into hunks separated by more than 2*context
	// unchanged lines.
	i := 0
	for i < len(ops) {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-context)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(run, end+context)
				break
			}
			end = run
		}
		aStart, bStart, aN, bN := ops[start].a, ops[start].b, 0, 0
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aN, opt.GNURanges), hunkRange(bStart, bN, opt.GNURanges))
		for _, op := range ops[start:end] {
			out.WriteByte(op.kind)
			out.WriteString(op.text)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

// hunkRange writes one side of a hunk header for n lines starting at the
// 0-based line start.
func hunkRange(start, n int, gnu bool) string {
	switch {
	case !gnu:
		return fmt.Sprintf("%d,%d", start+1, n)
	case n == 0:
		return fmt.Sprintf("%d,0", start)
	case n == 1:
		return fmt.Sprintf("%d", start+1)
	default:
		return fmt.Sprintf("%d,%d", start+1, n)
	}
}

// op is one line of an edit script: ' ' kept, '-' only in a, '+' only in b;
// a and b are the line's (or the next line's) indexes on each side.
type op struct {
	kind byte
	text string
	a, b int
}

// splitLines splits s into lines without their newlines. Only "" has no
// lines: "\n" is one empty line, so a diff against it shows that line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diff computes a shortest edit script by longest common subsequence. The
// inputs are small (code files, snapshots), so the quadratic table is fine;
// past a size limit (maxLines a side when above zero, else a cell count)
// it falls back to replacing everything.
func diff(a, b []string, maxLines int) []op {
	tooBig := len(a)*len(b) > 4_000_000
	if maxLines > 0 {
		tooBig = len(a) > maxLines || len(b) > maxLines
	}
	if tooBig {
		var ops []op
		for i, s := range a {
			ops = append(ops, op{'-', s, i, 0})
		}
		for j, s := range b {
			ops = append(ops, op{'+', s, len(a), j})
		}
		return ops
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals before additions, as diff -u shows a change.
			ops = append(ops, op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	return ops
}
