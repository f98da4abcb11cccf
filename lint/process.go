package lint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// errUnavailable reports that a linter's interpreter or libraries are
// missing.
var errUnavailable = errors.New("linter not available")

// request is one line sent to a linter process.
type request struct {
	ID      int64    `json:"id"`
	Source  string   `json:"source"`
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// response is one line a linter process answers.
type response struct {
	ID       int64     `json:"id"`
	Findings []Finding `json:"findings"`
	Error    string    `json:"error"`
}

// worker owns one warm linter process (node running server.js, or python3
// running spoke_lint.py). It sends one request at a time; a process that
// fails, or does not answer within the timeout, is killed and started again
// for the next request.
type worker struct {
	name    string
	start   func() (*exec.Cmd, func(), error) // the command and a cleanup to run after it exits
	timeout time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd
	cleanup func()
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	done    chan struct{} // closed when the process has exited
	nextID  int64
}

// lint sends one request and waits for its answer.
func (w *worker) lint(ctx context.Context, req request) ([]Finding, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		if err := w.spawn(); err != nil {
			return nil, err
		}
	}
	w.nextID++
	req.ID = w.nextID
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("lint: encode request: %w", err)
	}
	type answer struct {
		resp response
		err  error
	}
	ch := make(chan answer, 1)
	stdin, stdout := w.stdin, w.stdout
	go func() {
		if _, err := stdin.Write(append(line, '\n')); err != nil {
			ch <- answer{err: err}
			return
		}
		b, err := stdout.ReadBytes('\n')
		if err != nil {
			ch <- answer{err: err}
			return
		}
		var resp response
		if err := json.Unmarshal(b, &resp); err != nil {
			ch <- answer{err: fmt.Errorf("bad answer %.200q: %w", b, err)}
			return
		}
		ch <- answer{resp: resp}
	}()
	timer := time.NewTimer(w.timeout)
	defer timer.Stop()
	select {
	case a := <-ch:
		if a.err != nil {
			w.stop()
			return nil, fmt.Errorf("lint: %s linter: %w", w.name, a.err)
		}
		if a.resp.ID != req.ID {
			w.stop()
			return nil, fmt.Errorf("lint: %s linter answered request %d, want %d", w.name, a.resp.ID, req.ID)
		}
		if a.resp.Error != "" {
			return nil, fmt.Errorf("lint: %s linter: %s", w.name, a.resp.Error)
		}
		if a.resp.Findings == nil {
			a.resp.Findings = []Finding{}
		}
		return a.resp.Findings, nil
	case <-timer.C:
		w.stop()
		return nil, fmt.Errorf("lint: %s linter did not answer within %s", w.name, w.timeout)
	case <-ctx.Done():
		// The process may still be working on the request; start afresh.
		w.stop()
		return nil, fmt.Errorf("lint: %s linter: %w", w.name, ctx.Err())
	}
}

// spawn starts the process. The caller holds w.mu.
func (w *worker) spawn() error {
	cmd, cleanup, err := w.start()
	if err != nil {
		return err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cleanup()
		return fmt.Errorf("lint: %s linter stdin: %w", w.name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cleanup()
		return fmt.Errorf("lint: %s linter stdout: %w", w.name, err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{buf: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		cleanup()
		return fmt.Errorf("lint: start %s linter: %w", w.name, err)
	}
	w.cmd, w.cleanup, w.stdin, w.stdout = cmd, cleanup, stdin, bufio.NewReaderSize(stdout, 64<<10)
	done := make(chan struct{})
	w.done = done
	go func() {
		_ = cmd.Wait()
		cleanup()
		close(done)
	}()
	return nil
}

// stop ends the process, if any. The caller holds w.mu.
func (w *worker) stop() {
	if w.cmd == nil {
		return
	}
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.cmd = nil
}

// close ends the process.
func (w *worker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stop()
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	buf *bytes.Buffer
	n   int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

// exists reports whether path names an existing file.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
