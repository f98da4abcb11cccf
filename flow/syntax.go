package flow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Interpreters used to check custom code syntax; tests may change them.
var (
	NodePath   = "/usr/bin/node"
	PythonPath = "/usr/bin/python3"
)

// SyntaxTimeout bounds one syntax check.
const SyntaxTimeout = 5 * time.Second

var (
	syntaxMu    sync.Mutex
	syntaxCache = map[[32]byte]string{} // hash of runtime and source → result
)

const syntaxCacheSize = 1024

// CheckSyntax parses custom code with the real interpreter of its runtime
// (node --check for NODE*, Python's ast.parse for PYTHON*) and returns ""
// if it parses, else the interpreter's first error line (with the line
// number where the interpreter gives one). It runs nothing. If the
// interpreter is not installed the code is not checked and "" is
// returned. Results are cached by runtime and source.
func CheckSyntax(ctx context.Context, runtime, source string) string {
	key := sha256.Sum256([]byte(runtime + "\x00" + source))
	syntaxMu.Lock()
	if msg, ok := syntaxCache[key]; ok {
		syntaxMu.Unlock()
		return msg
	}
	syntaxMu.Unlock()
	msg, cacheable := checkSyntax(ctx, runtime, source)
	if cacheable {
		syntaxMu.Lock()
		if len(syntaxCache) >= syntaxCacheSize {
			for k := range syntaxCache {
				delete(syntaxCache, k)
				break
			}
		}
		syntaxCache[key] = msg
		syntaxMu.Unlock()
	}
	return msg
}

var nodeLocation = regexp.MustCompile(`^.*\.js:(\d+)$`)

func checkSyntax(ctx context.Context, runtime, source string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, SyntaxTimeout)
	defer cancel()
	var cmd *exec.Cmd
	var tmp string
	if strings.HasPrefix(runtime, "PYTHON") {
		cmd = exec.CommandContext(ctx, PythonPath, "-c", "import ast,sys; ast.parse(sys.stdin.read())")
		cmd.Stdin = strings.NewReader(source)
	} else {
		dir, err := os.MkdirTemp("", "spoke-check-")
		if err != nil {
			return "", false
		}
		defer os.RemoveAll(dir)
		tmp = filepath.Join(dir, "action.js")
		if err := os.WriteFile(tmp, []byte(source), 0o600); err != nil {
			return "", false
		}
		cmd = exec.CommandContext(ctx, NodePath, "--check", tmp)
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return "", true
	}
	if ctx.Err() != nil {
		return "the syntax check did not finish within 5 s", false
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return "", false // no interpreter: not checked
	}
	line := ""
	var first string
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		if tmp != "" && strings.HasPrefix(l, tmp) && line == "" {
			if m := nodeLocation.FindStringSubmatch(l); m != nil {
				line = m[1]
			}
		}
		if first == "" && isErrorLine(l) {
			first = l
		}
	}
	if first == "" {
		first = strings.TrimSpace(out.String())
		if i := strings.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		if first == "" {
			first = "the interpreter rejected the code"
		}
	}
	if tmp != "" {
		first = strings.ReplaceAll(first, tmp, "sourceCode")
	}
	if line != "" {
		first += " (line " + line + ")"
	}
	if len(first) > 300 {
		first = first[:300] + "..."
	}
	return first, true
}

var errorLine = regexp.MustCompile(`^[A-Za-z_.]*(Error|Exception)\b`)

func isErrorLine(l string) bool { return errorLine.MatchString(l) }
