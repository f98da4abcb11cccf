package sandbox_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// TestOversizedResultCostsItsLimit has the code write a 50 MB result frame
// straight to the protocol pipe: the host must refuse it from its length,
// without reading or decoding it, and report OUTPUT_VALUES_TOO_LARGE.
// It is not parallel, so that the allocation figure is the invocation's.
func TestOversizedResultCostsItsLimit(t *testing.T) {
	pool(t) // started before the allocation figures are taken
	for _, rt := range []string{"PYTHON39", "NODE20X"} {
		code := `
import os, struct
def main(event):
    n = 50 << 20
    os.write(4, struct.pack(">I", n) + b'{"op":"result","outputFields":{"x":"')
    chunk = b"y" * (1 << 20)
    for _ in range(50):
        os.write(4, chunk)
    return {"outputFields": {}}
`
		if rt == "NODE20X" {
			code = `const fs = require('fs');
exports.main = async () => {
  const n = 50 << 20, h = Buffer.alloc(4); h.writeUInt32BE(n);
  fs.writeSync(4, Buffer.concat([h, Buffer.from('{"op":"result","outputFields":{"x":"')]));
  const chunk = Buffer.alloc(1 << 20, 'y');
  for (let i = 0; i < 50; i++) fs.writeSync(4, chunk);
  return { outputFields: {} };
};`
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res := run(t, rt, code, func(inv *sandbox.Invocation) { inv.MemoryMB = 256 })
		runtime.ReadMemStats(&after)
		wantError(t, res, sandbox.ErrOutputTooLarge, "results are limited to")
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: refusing a 50 MB result allocated %d MB on the host", rt, alloc>>20)
		}
	}
}

// TestLargeOutputs checks the output limits on results the bootstraps
// build: a 7 MB result, and one field over MaxOutputFields.
func TestLargeOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runtime, code string
		typ                 sandbox.ErrorType
		msg                 string
		fields              int
	}{
		{name: "python 7 MB", runtime: "PYTHON39", code: `
def main(event):
    return {"outputFields": {"f%d" % i: "x" * 60000 for i in range(99)} | {"last": "x" * 1000000}}
`, typ: sandbox.ErrOutputTooLarge, msg: "results are limited to"},
		{name: "node too many fields", runtime: "NODE20X", code: `exports.main = async () => {
  const o = {}; for (let i = 0; i <= 100; i++) o['f' + i] = i;
  return { outputFields: o };
};`, typ: sandbox.ErrOutputTooLarge, msg: "101 output fields; at most 100"},
		{name: "python too many fields", runtime: "PYTHON39", code: `
def main(event):
    return {"outputFields": {"f%d" % i: {"nested": [1, {"a": "b:c"}]} for i in range(5000)}}
`, typ: sandbox.ErrOutputTooLarge, msg: "5000 output fields"},
		{name: "node at the limit", runtime: "NODE20X", code: `exports.main = async () => {
  const o = {}; for (let i = 0; i < 100; i++) o['f:' + i] = 'a"b\\:{' + i;
  return { outputFields: o };
};`, fields: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tc.runtime, tc.code, func(inv *sandbox.Invocation) { inv.MemoryMB = 256; inv.Timeout = 20 * time.Second })
			if tc.typ == "" {
				wantSuccess(t, res)
				if len(res.OutputFields) != tc.fields {
					t.Fatalf("%d outputs, want %d", len(res.OutputFields), tc.fields)
				}
				if v := res.OutputFields["f:7"]; v != `a"b\:{7` {
					t.Fatalf("f:7 = %q", v)
				}
				return
			}
			wantError(t, res, tc.typ, tc.msg)
			if strings.Contains(res.Error.Message, "xxxx") {
				t.Fatalf("message carries the output: %.200s", res.Error.Message)
			}
		})
	}
}
