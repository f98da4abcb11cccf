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

// maxFrame bounds one protocol message from a worker. Logs come in lines
// the bootstraps cap at LogCap per invocation, and a result is at most
// MaxResultBytes; a longer frame (which the code itself may forge, since it
// can write to the pipe) is refused from its 4-byte length alone.
const maxFrame = MaxResultBytes

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
	Op           string          `json:"op"`
	ID           uint64          `json:"id"`
	Version      string          `json:"version"`
	Status       Status          `json:"status"`
	OutputFields json.RawMessage `json:"outputFields"` // see decodeOutputs
	Error        *Error          `json:"error"`
	Logs         string          `json:"logs"`
	MemoryBytes  int64           `json:"memoryBytes"`
	Unhealthy    bool            `json:"unhealthy"`
	Leftover     bool            `json:"leftover"` // a thread of the code's outlived the invocation
	Text         string          `json:"text"`     // a log line, for op "log"

	// frameSize is the length of a frame over maxFrame, for op "oversize",
	// which readLoop makes up in place of the frame it refused to read.
	frameSize uint32
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
			// Report it to the invocation (msgs has room for one message
			// when nobody is reading), then stop the worker: reading on
			// would cost the frame's size, and skipping it would leave a
			// pipe the code can still write to out of step.
			select {
			case w.msgs <- workerMsg{Op: "oversize", frameSize: n}:
			default:
			}
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
			if m.Op == "oversize" {
				res.Logs = logs.String()
				res.Status, res.Error = StatusError, oversizeError(m.frameSize)
				return finish(false)
			}
			if m.Op != "result" || m.ID != msg.ID {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unexpected message"}
				return finish(false)
			}
			res.Status = m.Status
			res.Logs = logs.String() + m.Logs
			res.MemoryBytes = m.MemoryBytes
			res.Error = m.Error
			if res.Status != StatusSuccess && res.Status != StatusError {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unknown status"}
			}
			if res.Status == StatusError && res.Error == nil {
				res.Error = &Error{Type: ErrUncaught, Message: "unknown error"}
			}
			if res.Status == StatusSuccess {
				fields, ferr := decodeOutputs(m.OutputFields)
				if ferr != nil {
					res.Status, res.Error = StatusError, ferr
				} else if fields != nil {
					res.OutputFields = fields
				}
			}
			w.leftover = m.Leftover
			return finish(!m.Unhealthy) // Invoke retires a worker with leftovers
		case <-w.exited:
			// Drain what the worker wrote before it died.
			for m := range w.msgs {
				switch {
				case m.Op == "log" && logs.Len() < LogCap+1024:
					logs.WriteString(m.Text)
				case m.Op == "oversize":
					res.Logs = logs.String()
					res.Status, res.Error = StatusError, oversizeError(m.frameSize)
					return finish(false)
				case m.Op == "result" && m.ID == msg.ID:
					res.Logs = logs.String() + m.Logs
					res.Status, res.Error = m.Status, m.Error
					if res.Status == StatusSuccess {
						fields, ferr := decodeOutputs(m.OutputFields)
						if ferr != nil {
							res.Status, res.Error = StatusError, ferr
						} else if fields != nil {
							res.OutputFields = fields
						}
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

// oversizeError is the error of a result message over maxFrame bytes.
func oversizeError(n uint32) *Error {
	return &Error{Type: ErrOutputTooLarge, Message: fmt.Sprintf("the result is %d bytes long; results are limited to %d bytes (6 MB)", n, MaxResultBytes)}
}

// decodeOutputs decodes a result's outputFields, refusing more than
// MaxOutputFields fields before it builds the map (a 6 MB message of tiny
// fields would otherwise cost far more than 6 MB to decode). It returns nil
// fields for an absent or null outputFields.
func decodeOutputs(raw json.RawMessage) (map[string]any, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if n := countMembers(raw); n > MaxOutputFields {
		return nil, &Error{Type: ErrOutputTooLarge, Message: fmt.Sprintf("the code returned %d output fields; at most %d are allowed", n, MaxOutputFields)}
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, &Error{Type: ErrInvalidOutput, Message: "outputFields is not a JSON object"}
	}
	return fields, nil
}

// countMembers counts the members of the JSON object raw by scanning it:
// colons outside strings at nesting depth 1. It does not validate raw.
func countMembers(raw []byte) int {
	n, depth, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ':' && depth == 1:
			n++
		}
	}
	return n
}
