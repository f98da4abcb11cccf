//go:build soak

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// soakClient sends requests that may fail while the server is down.
type soakClient struct {
	url, token string
	http       *http.Client
}

// errDown is a request that got no answer (the server was killed or is
// starting): its effect is unknown.
var errDown = errors.New("no answer")

func (c *soakClient) try(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errDown, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errDown, err)
	}
	var v map[string]any
	json.Unmarshal(out, &v)
	return resp.StatusCode, v, nil
}

// soakLedger is what the server acknowledged.
type soakLedger struct {
	mu       sync.Mutex
	contacts map[string]int // email → n, for creates answered 201
	enrolled map[string]bool
	// updates: record email → the highest counter acknowledged, and the
	// highest sent (acknowledged or not).
	acked, sent map[string]int
	errors      atomic.Int64 // 5xx answers
	answers     atomic.Int64
}

// TestSoak enrolls contacts continuously into a flow with custom code for
// SOAK_DURATION (default 3m) while other clients search, read, update and
// list flows, and kills the server with SIGKILL at random moments,
// restarting it each time. Then it checks that nothing acknowledged was
// lost and nothing was done twice: every created contact exists, every
// acknowledged enrollment completed with exactly one flow write of each
// property and one successful run of each code action, every
// acknowledged update is there, and no answer was a 5xx.
func TestSoak(t *testing.T) {
	duration := 3 * time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		duration = d
	}
	bin := buildSpoke(t)
	dir, addr := t.TempDir(), freeAddr(t)
	var srvMu sync.Mutex
	s := startServer(t, bin, dir, addr)
	defer func() {
		srvMu.Lock()
		defer srvMu.Unlock()
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	}()
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "n", "label": "N", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	s.do("POST", "/crm/v3/properties/contacts", map[string]any{"name": "counter", "label": "Counter", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201)
	flowID := s.createFlow(crashFlow)
	c := &soakClient{url: s.url, token: s.token, http: &http.Client{Timeout: 30 * time.Second}}
	l := &soakLedger{contacts: map[string]int{}, enrolled: map[string]bool{}, acked: map[string]int{}, sent: map[string]int{}}
	// Records the updaters change, created before the load starts.
	var updIDs []string
	for i := range 20 {
		email := fmt.Sprintf("u%d@soak.example", i)
		out := s.do("POST", "/crm/v3/objects/contacts", map[string]any{"properties": map[string]string{"email": email}}, 201)
		updIDs = append(updIDs, out["id"].(string))
		l.acked[out["id"].(string)], l.sent[out["id"].(string)] = 0, 0
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	check := func(status int) {
		l.answers.Add(1)
		if status >= 500 {
			l.errors.Add(1)
		}
	}
	// The enroller: batches of contacts, created then enrolled by id.
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			var inputs []map[string]any
			var emails []string
			for range 20 {
				email := fmt.Sprintf("k%d@soak.example", next)
				inputs = append(inputs, map[string]any{"properties": map[string]string{"email": email, "n": strconv.Itoa(next)}})
				emails = append(emails, email)
				next++
			}
			status, out, err := c.try("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			check(status)
			if status != 201 {
				continue
			}
			var ids []string
			l.mu.Lock()
			for i, r := range out["results"].([]any) {
				ids = append(ids, r.(map[string]any)["id"].(string))
				n, _ := strconv.Atoi(r.(map[string]any)["properties"].(map[string]any)["n"].(string))
				l.contacts[emails[i]] = n
			}
			l.mu.Unlock()
			for {
				status, _, err := c.try("POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"objectIds": ids})
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue // enrolling again is harmless: an enrolled record is skipped
				}
				check(status)
				if status == 202 {
					l.mu.Lock()
					for _, id := range ids {
						l.enrolled[id] = true
					}
					l.mu.Unlock()
				}
				break
			}
		}
	}()
	// Mixed load: searches, reads, flow listings and updates.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				var status int
				var err error
				switch rng.IntN(4) {
				case 0:
					status, _, err = c.try("POST", "/crm/v3/objects/contacts/search", map[string]any{
						"filterGroups": []any{map[string]any{"filters": []any{map[string]any{"propertyName": "score", "operator": "GT", "value": strconv.Itoa(rng.IntN(300))}}}},
						"sorts":        []string{"-createdate"}, "limit": 50})
				case 1:
					status, _, err = c.try("GET", "/crm/v3/objects/contacts?limit=100&properties=score,jobtitle", nil)
				case 2:
					status, _, err = c.try("GET", "/automation/v4/flows/"+flowID+"/executions?limit=50", nil)
				case 3:
					id := updIDs[w*5+rng.IntN(5)] // each updater owns five records
					l.mu.Lock()
					l.sent[id]++
					v := l.sent[id]
					l.mu.Unlock()
					status, _, err = c.try("PATCH", "/crm/v3/objects/contacts/"+id, map[string]any{"properties": map[string]string{"counter": strconv.Itoa(v)}})
					if err == nil && status == 200 {
						l.mu.Lock()
						l.acked[id] = max(l.acked[id], v)
						l.mu.Unlock()
					}
				}
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				check(status)
			}
		}()
	}
	// The killer.
	kills := 0
	end := time.Now().Add(duration)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for time.Now().Before(end) {
		time.Sleep(time.Duration(3000+rng.IntN(9000)) * time.Millisecond)
		srvMu.Lock()
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		kills++
		s = startServer(t, bin, dir, addr)
		srvMu.Unlock()
	}
	close(stop)
	wg.Wait()
	t.Logf("%d kills, %d answers, %d contacts created, %d enrolled", kills, l.answers.Load(), len(l.contacts), len(l.enrolled))
	if l.errors.Load() > 0 {
		t.Errorf("%d answers were 5xx", l.errors.Load())
	}

	// Let the engine finish.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		counts := s.enrollmentCounts(flowID)
		if counts["ACTIVE"] == 0 {
			t.Logf("enrollments: %v", counts)
			if counts["FAILED"] > 0 {
				t.Errorf("%d enrollments failed", counts["FAILED"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enrollments still active: %v", counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every enrollment is of a distinct record, and every acknowledged one is there.
	perRecord := map[string]int{}
	after := ""
	for {
		page := s.do("GET", "/automation/v4/flows/"+flowID+"/enrollments?limit=1000&after="+after, nil, 200)
		for _, r := range page["results"].([]any) {
			perRecord[r.(map[string]any)["objectId"].(string)]++
		}
		p, ok := page["paging"].(map[string]any)
		if !ok {
			break
		}
		after = p["next"].(map[string]any)["after"].(string)
	}
	for id := range l.enrolled {
		if perRecord[id] != 1 {
			t.Errorf("record %s: %d enrollments, want 1", id, perRecord[id])
		}
	}
	for id, n := range perRecord {
		if n != 1 {
			t.Errorf("record %s: %d enrollments", id, n)
		}
	}
	// Every acknowledged contact exists; every enrolled one was written once per property.
	var emails []string
	for e := range l.contacts {
		emails = append(emails, e)
	}
	for from := 0; from < len(emails); from += 100 {
		var inputs []map[string]any
		for _, e := range emails[from:min(from+100, len(emails))] {
			inputs = append(inputs, map[string]any{"id": e})
		}
		out := s.do("POST", "/crm/v3/objects/contacts/batch/read", map[string]any{"idProperty": "email", "inputs": inputs,
			"properties": []string{"email", "n", "score", "jobtitle"}, "propertiesWithHistory": []string{"score", "jobtitle"}}, 200)
		if got := len(out["results"].([]any)); got != len(inputs) {
			t.Errorf("%d of %d acknowledged contacts are missing", len(inputs)-got, len(inputs))
		}
		for _, r := range out["results"].([]any) {
			rec := r.(map[string]any)
			if perRecord[rec["id"].(string)] == 0 {
				continue // created, but its enrollment request got no answer
			}
			props := rec["properties"].(map[string]any)
			n := l.contacts[props["email"].(string)]
			if props["score"] != strconv.Itoa(n*3) || props["jobtitle"] != "done-"+strconv.Itoa(n*3) {
				t.Errorf("record %v: score %v jobtitle %v, want %d", rec["id"], props["score"], props["jobtitle"], n*3)
			}
			hist := rec["propertiesWithHistory"].(map[string]any)
			for _, name := range []string{"score", "jobtitle"} {
				writes := 0
				for _, h := range hist[name].([]any) {
					if h.(map[string]any)["sourceType"] == "AUTOMATION_PLATFORM" {
						writes++
					}
				}
				if writes != 1 {
					t.Errorf("record %v: %d flow writes of %s, want 1", rec["id"], writes, name)
				}
			}
		}
	}
	// One successful run of each code action per enrollment.
	for _, action := range []string{"1", "3"} {
		succeeded := 0
		after := ""
		for {
			page := s.do("GET", "/automation/v4/flows/"+flowID+"/executions?actionId="+action+"&status=SUCCESS&limit=1000&after="+after, nil, 200)
			succeeded += len(page["results"].([]any))
			p, ok := page["paging"].(map[string]any)
			if !ok {
				break
			}
			after = p["next"].(map[string]any)["after"].(string)
		}
		if succeeded != len(perRecord) {
			t.Errorf("action %s: %d successful runs for %d enrollments", action, succeeded, len(perRecord))
		}
	}
	// Every acknowledged update is there (or a later one that was sent).
	for _, id := range updIDs {
		out := s.do("GET", "/crm/v3/objects/contacts/"+id+"?properties=counter", nil, 200)
		v, _ := strconv.Atoi(fmt.Sprint(out["properties"].(map[string]any)["counter"]))
		if v < l.acked[id] || v > l.sent[id] {
			t.Errorf("record %s: counter %d, acknowledged %d, sent up to %d", id, v, l.acked[id], l.sent[id])
		}
	}
}
