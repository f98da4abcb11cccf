package textdiff

import "testing"

func TestUnified(t *testing.T) {
	t.Parallel()
	if got := Unified("a", "b", "x\ny\n", "x\ny\n", 3); got != "" {
		t.Fatalf("equal inputs: %q", got)
	}
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n"
	want := "--- old\n+++ new\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7\n@@ -9,2 +9,3 @@\n 9\n 10\n+11\n"
	if got := Unified("old", "new", a, b, 2); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Far-apart changes make two hunks.
	a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	b = "A\nb\nc\nd\ne\nf\ng\nh\ni\nJ\n"
	want = "--- x\n+++ y\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n@@ -9,2 +9,2 @@\n i\n-j\n+J\n"
	if got := Unified("x", "y", a, b, 1); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// From nothing.
	want = "--- x\n+++ y\n@@ -1,0 +1,2 @@\n+p\n+q\n"
	if got := Unified("x", "y", "", "p\nq\n", 3); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnifiedWith(t *testing.T) {
	t.Parallel()
	gnu := Options{Context: 3, GNURanges: true}
	// GNU ranges: a one-line side is its line number, an empty side the
	// line before it.
	want := "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"
	if got := UnifiedWith("a", "b", "", "x\n", gnu); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A lone newline is one empty line, not nothing.
	want = "--- a\n+++ b\n@@ -1 +0,0 @@\n-\n"
	if got := UnifiedWith("a", "b", "\n", "", gnu); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Past MaxLines the sides are replaced whole, shared lines included.
	gnu.MaxLines = 2
	want = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n-p\n-q\n-r\n+p\n+q\n+s\n"
	if got := UnifiedWith("a", "b", "p\nq\nr\n", "p\nq\ns\n", gnu); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
