package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// Run with: go test ./sandbox -run '^$' -bench . -benchtime 2000x
// (see BENCHMARKS.md for the figures and the exact command).

var trivial = map[string]string{
	"node":   `exports.main = async (event, callback) => { callback({ outputFields: { id: event.object.objectId } }); };`,
	"python": "def main(event):\n    return {'outputFields': {'id': event['object']['objectId']}}\n",
}

var runtimes = map[string]string{"node": sandbox.RuntimeNode, "python": sandbox.RuntimePython}

// latencies records per-invocation times and reports p50 and p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	q := func(p float64) float64 { return float64(l[int(p*float64(len(l)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

func benchPool(b *testing.B, cfg sandbox.Config) *sandbox.Pool {
	b.Helper()
	p, err := sandbox.NewPool(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func mustInvoke(b *testing.B, p *sandbox.Pool, inv sandbox.Invocation) sandbox.Result {
	res, err := p.Invoke(context.Background(), inv)
	if err != nil {
		b.Fatal(err)
	}
	if res.Status != sandbox.StatusSuccess {
		b.Fatalf("%+v\n%s", res.Error, res.Logs)
	}
	return res
}

// BenchmarkWarm measures a trivial invocation on a warm worker: the
// sandbox's whole overhead, round trip included.
func BenchmarkWarm(b *testing.B) {
	for _, lang := range []string{"node", "python"} {
		b.Run(lang, func(b *testing.B) {
			p := benchPool(b, sandbox.Config{SpareWorkers: -1})
			inv := sandbox.Invocation{Runtime: runtimes[lang], Code: trivial[lang], Version: "warm", Event: event()}
			mustInvoke(b, p, inv)
			lat := make(latencies, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				mustInvoke(b, p, inv)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			lat.report(b)
		})
	}
}

// BenchmarkFirstInvocation measures the first invocation of a new version
// when a spare worker is ready (the interpreter is already started).
func BenchmarkFirstInvocation(b *testing.B) {
	for _, lang := range []string{"node", "python"} {
		b.Run(lang, func(b *testing.B) {
			// Room for every version's worker, so that spares are never
			// starved by warm workers (the pool does not evict warm
			// workers to make spares).
			p := benchPool(b, sandbox.Config{SpareWorkers: 1, SpareRuntimes: []string{runtimes[lang]}, MaxWorkers: b.N + 2, MaxMemoryMB: (b.N + 2) * sandbox.DefaultMemoryMB})
			lat := make(latencies, 0, b.N)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for p.Stats().Spares < 1 {
					time.Sleep(time.Millisecond)
				}
				b.StartTimer()
				t0 := time.Now()
				mustInvoke(b, p, sandbox.Invocation{Runtime: runtimes[lang], Code: trivial[lang], Version: fmt.Sprint("first-", i), Event: event()})
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			lat.report(b)
		})
	}
}

// BenchmarkColdStart measures the first invocation of a new version with no
// spare: bubblewrap, the interpreter and the bootstrap start on demand.
func BenchmarkColdStart(b *testing.B) {
	for _, lang := range []string{"node", "python"} {
		b.Run(lang, func(b *testing.B) {
			p := benchPool(b, sandbox.Config{SpareWorkers: -1, MaxWorkers: 2})
			lat := make(latencies, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				mustInvoke(b, p, sandbox.Invocation{Runtime: runtimes[lang], Code: trivial[lang], Version: fmt.Sprint("cold-", i), Event: event()})
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			lat.report(b)
		})
	}
}

// BenchmarkThroughput measures trivial invocations of one version with
// every core busy: several warm workers serve concurrent callers.
func BenchmarkThroughput(b *testing.B) {
	for _, lang := range []string{"node", "python"} {
		b.Run(lang, func(b *testing.B) {
			p := benchPool(b, sandbox.Config{SpareWorkers: -1, MaxWorkers: 4})
			inv := sandbox.Invocation{Runtime: runtimes[lang], Code: trivial[lang], Version: "tp", Event: event()}
			// Warm up four workers.
			done := make(chan struct{})
			for i := 0; i < 4; i++ {
				go func() { mustInvoke(b, p, inv); done <- struct{}{} }()
			}
			for i := 0; i < 4; i++ {
				<-done
			}
			var n atomic.Int64
			b.SetParallelism(2)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mustInvoke(b, p, inv)
					n.Add(1)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "inv/s")
		})
	}
}

// BenchmarkPandas measures a warm Python invocation that builds and
// aggregates a small DataFrame.
func BenchmarkPandas(b *testing.B) {
	code := `
import pandas as pd

def main(event):
    df = pd.DataFrame({"stage": ["won", "lost", "won", "open"] * 25, "amount": range(100)})
    by = df.groupby("stage")["amount"].sum()
    return {"outputFields": {"won": int(by["won"]), "deals": int(len(df))}}
`
	p := benchPool(b, sandbox.Config{SpareWorkers: -1})
	inv := sandbox.Invocation{Runtime: sandbox.RuntimePython, Code: code, Version: "pandas", Event: event()}
	t0 := time.Now()
	mustInvoke(b, p, inv)
	first := time.Since(t0)
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		mustInvoke(b, p, inv)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	lat.report(b)
	// The first invocation starts a worker and imports pandas.
	b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
}

// BenchmarkHubAPI measures an invocation making one GET to Spoke's API,
// straight to its URL over plain HTTP and through https://api.hubapi.com
// (the egress proxy's TLS termination): the cost of the interception.
func BenchmarkHubAPI(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"results":[]}`)
	}))
	defer srv.Close()
	code := map[string]string{
		"node": `const axios = require('axios');
exports.main = async () => { const r = await axios.get(process.env.BASE + '/crm/v3/objects/contacts'); return { outputFields: { s: r.status } }; };`,
		"python": "import os, requests\ndef main(event):\n    return {'outputFields': {'s': requests.get(os.environ['BASE'] + '/crm/v3/objects/contacts').status_code}}\n",
	}
	for _, lang := range []string{"node", "python"} {
		for _, base := range []string{srv.URL, "https://api.hubapi.com"} {
			name := lang + "/direct-http"
			if base != srv.URL {
				name = lang + "/api.hubapi.com"
			}
			b.Run(name, func(b *testing.B) {
				p := benchPool(b, sandbox.Config{APIURL: srv.URL, SpareWorkers: -1})
				inv := sandbox.Invocation{Runtime: runtimes[lang], Code: code[lang], Version: "hubapi", Event: event(), Secrets: map[string]string{"BASE": base}}
				mustInvoke(b, p, inv)
				lat := make(latencies, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					mustInvoke(b, p, inv)
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				lat.report(b)
			})
		}
	}
}
