package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke/internal/jsonenc"
	"github.com/spokehq/spoke/internal/redact"
	"github.com/spokehq/spoke/sandbox/egress"
)

// maxFrame bounds one protocol message from a worker.
const maxFrame = 64 << 20

// invokeMsg is the host's request to a worker.
type invokeMsg struct {
	Op    string            `json:"op"`
	ID    uint64            `json:"id"`
	Code  string            `json:"code,omitempty"`
	Env   map[string]string `json:"env,omitempty"`
	Event Event             `json:"event"`
}

// appendJSON appends m's JSON (as encoding/json would write it) to b.
func (m *invokeMsg) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"op":`...)
	b = jsonenc.String(b, m.Op)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, m.ID, 10)
	if m.Code != "" {
		b = append(b, `,"code":`...)
		b = jsonenc.String(b, m.Code)
	}
	if len(m.Env) > 0 {
		b = append(b, `,"env":`...)
		b, _ = jsonenc.Append(b, m.Env) // a map of strings always encodes
	}
	b = append(b, `,"event":`...)
	b, err := m.Event.appendJSON(b)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// workerMsg is a message from a worker: "ready" or "result".
type workerMsg struct {
	Op           string         `json:"op"`
	ID           uint64         `json:"id"`
	Version      string         `json:"version"`
	Status       Status         `json:"status"`
	OutputFields map[string]any `json:"outputFields"`
	Error        *Error         `json:"error"`
	Logs         string         `json:"logs"`
	MemoryBytes  int64          `json:"memoryBytes"`
	Unhealthy    bool           `json:"unhealthy"`
	Text         string         `json:"text"` // a log line, for op "log"
}

// send writes one framed request to the worker.
func (w *worker) send(m *invokeMsg) error {
	buf, err := m.appendJSON(make([]byte, 4, 512))
	if err != nil {
		return fmt.Errorf("sandbox: encode request: %w", err)
	}
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	w.in.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.in.Write(buf); err != nil {
		return fmt.Errorf("sandbox: send request: %w", err)
	}
	return nil
}

// readLoop decodes messages from the worker until its pipe closes.
func (w *worker) readLoop() {
	defer close(w.msgs)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(w.out, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrame {
			w.kill()
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(w.out, body); err != nil {
			return
		}
		var m workerMsg
		if err := json.Unmarshal(body, &m); err != nil {
			w.kill()
			return
		}
		select {
		case w.msgs <- m:
		case <-w.dead:
			return
		}
	}
}

// run performs one invocation on w.
func (p *Pool) run(ctx context.Context, w *worker, spec *runtimeSpec, key string, inv *Invocation, timeout time.Duration, start time.Time) (Result, bool, error) {
	res := Result{
		OutputFields: map[string]any{},
		Runtime:      RuntimeInfo{Name: spec.name, Version: w.version},
	}
	w.nextID++
	msg := &invokeMsg{Op: "invoke", ID: w.nextID, Event: inv.Event}
	if !w.bound {
		w.bound = true
		w.key = key
		msg.Code = inv.Code
		msg.Env = inv.Secrets
		w.secrets = redact.New(maps.Values(inv.Secrets))
		w.egress.SetPolicy(egress.Policy{AccountAllow: inv.EgressAllowlist, OnDeny: w.onDeny, ReadOnlyAPI: inv.DryRun})
	}
	if w.cg != nil && w.nextID == 1 {
		// Forget the start-up's peak; later invocations start from the
		// reset the previous one's finish made.
		w.cg.peakAndReset()
	}
	w.takeDenials()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	finish := func(healthy bool) (Result, bool, error) {
		res.DurationMs = float64(time.Since(start).Microseconds()) / 1000
		if w.cg != nil {
			if peak := w.cg.peakAndReset(); peak > res.MemoryBytes {
				res.MemoryBytes = peak
			}
		}
		p.finishResult(w, &res)
		return res, healthy, nil
	}
	if err := w.send(msg); err != nil {
		if !w.alive() {
			res.Status, res.Error = StatusError, w.crashError()
			return finish(false)
		}
		return res, false, err
	}
	var stop <-chan time.Time
	var polling *time.Ticker
	if w.cg == nil {
		polling = time.NewTicker(50 * time.Millisecond)
		defer polling.Stop()
		stop = polling.C
	}
	var logs strings.Builder
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				<-w.exited
				res.Logs = logs.String()
				res.Status, res.Error = StatusError, w.crashError()
				return finish(false)
			}
			if m.Op == "log" {
				if logs.Len() < LogCap+1024 {
					logs.WriteString(m.Text)
				}
				continue
			}
			if m.Op != "result" || m.ID != msg.ID {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unexpected message"}
				return finish(false)
			}
			res.Status = m.Status
			res.Logs = logs.String() + m.Logs
			res.MemoryBytes = m.MemoryBytes
			res.Error = m.Error
			if m.OutputFields != nil {
				res.OutputFields = m.OutputFields
			}
			if res.Status != StatusSuccess && res.Status != StatusError {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unknown status"}
			}
			if res.Status == StatusError && res.Error == nil {
				res.Error = &Error{Type: ErrUncaught, Message: "unknown error"}
			}
			return finish(!m.Unhealthy)
		case <-w.exited:
			// Drain what the worker wrote before it died.
			for m := range w.msgs {
				switch {
				case m.Op == "log" && logs.Len() < LogCap+1024:
					logs.WriteString(m.Text)
				case m.Op == "result" && m.ID == msg.ID:
					res.Logs = logs.String() + m.Logs
					res.Status, res.Error = m.Status, m.Error
					if m.OutputFields != nil {
						res.OutputFields = m.OutputFields
					}
					return finish(false)
				}
			}
			res.Logs = logs.String()
			res.Status, res.Error = StatusError, w.crashError()
			return finish(false)
		case <-timer.C:
			w.kill()
			res.Logs = logs.String()
			res.Status = StatusError
			res.Error = &Error{Type: ErrTimeout, Message: fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())}
			return finish(false)
		case <-stop:
			if rss := treeRSS(w.cmd.Process.Pid); rss > int64(w.memMB)<<20 {
				w.kill()
				res.Logs = logs.String()
				res.Status = StatusError
				res.Error = &Error{Type: ErrMemoryLimit, Message: fmt.Sprintf("the code used more than %d MB of memory and was stopped", w.memMB)}
				res.MemoryBytes = rss
				return finish(false)
			}
		case <-ctx.Done():
			w.kill()
			return res, false, fmt.Errorf("sandbox: invocation cancelled: %w", ctx.Err())
		}
	}
}
