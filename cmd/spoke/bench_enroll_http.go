package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/sqlite"
)

// benchCity marks the contacts the HTTP path creates, so that the progress
// search finds exactly them.
const benchCity = "Benchville"

// benchEnrollHTTP measures the path a new user takes, through the public
// API on loopback: create m contacts with batch create, enroll them by
// objectIds in calls of 1,000, and watch progress with a search (city EQ
// AND score HAS_PROPERTY, with its total) once a second. It prints its rows
// beside allMatching's rate (allRate, measured in the same run over
// existing contacts); the engine is running.
func benchEnrollHTTP(ctx context.Context, db *sqlite.DB, eng *engine.Engine, acct int64, f *spoke.Flow, m, existing int, allRate float64) error {
	c, stop, err := serveBench(ctx, db, acct, "bench-engine-token", &api.Server{Records: db, Properties: db, Associations: db, Tokens: db, Flows: db, FlowChecker: db,
		Engine: eng, EngineStore: db, Secrets: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer stop()

	// Create the contacts as a user would: batch create, 100 per call, 4
	// clients. They do not meet the flow's criteria (no hs_lead_status), so
	// nothing enrolls them until the objectIds calls.
	start := time.Now()
	ids := make([]string, m)
	err = inBatches(m, 100, 4, func(from, to int) error {
		inputs := make([]map[string]any, 0, 100)
		for i := from; i < to; i++ {
			inputs = append(inputs, map[string]any{"properties": map[string]string{"email": fmt.Sprintf("h%d@bench.example", i),
				"firstname": fmt.Sprintf("F%d", i%97), "lastname": "Bench", "employees": strconv.Itoa(i % 60), "city": benchCity}})
		}
		out, err := c.do("POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": inputs}, 201)
		var res struct {
			Results []struct {
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
			} `json:"results"`
		}
		if err == nil {
			err = json.Unmarshal(out, &res)
		}
		if err == nil && len(res.Results) != len(inputs) {
			err = fmt.Errorf("batch create answered %d results for %d inputs", len(res.Results), len(inputs))
		}
		if err != nil {
			return err
		}
		for _, r := range res.Results {
			i, err := strconv.Atoi(r.Properties["email"][1 : len(r.Properties["email"])-len("@bench.example")])
			if err != nil || i < from || i >= to {
				return fmt.Errorf("batch create answered unexpected email %q", r.Properties["email"])
			}
			ids[i] = r.ID
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("| create %d contacts over HTTP (batch create, 100 per call, 4 clients) | %s |\n", m, time.Since(start).Round(time.Millisecond))

	// The user's progress search, polled once a second from the first
	// enrollment call until it counts every contact.
	search := map[string]any{"filterGroups": []any{map[string]any{"filters": []any{
		map[string]any{"propertyName": "city", "operator": "EQ", "value": benchCity},
		map[string]any{"propertyName": "score", "operator": "HAS_PROPERTY"}}}}}
	type poll struct {
		took  time.Duration
		total int
		at    time.Duration
	}
	var polls []poll
	watchDone := make(chan error, 1)
	stopWatch := make(chan struct{})
	start = time.Now()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				watchDone <- nil
				return
			case <-tick.C:
			}
			t0 := time.Now()
			out, err := c.do("POST", "/crm/v3/objects/contacts/search", search, 200)
			var res struct {
				Total int `json:"total"`
			}
			if err == nil {
				err = json.Unmarshal(out, &res)
			}
			if err != nil {
				watchDone <- err
				return
			}
			polls = append(polls, poll{took: time.Since(t0), total: res.Total, at: time.Since(start)})
			if res.Total == m {
				watchDone <- nil
				return
			}
		}
	}()

	self0, workers0 := cpuTimes()
	for from := 0; from < m; from += 1000 {
		body := map[string]any{"objectIds": ids[from:min(from+1000, m)]}
		out, err := c.do("POST", "/automation/v4/flows/"+f.ID+"/enrollments", body, 202)
		if err != nil {
			close(stopWatch)
			return err
		}
		var res struct {
			Enrolled []string `json:"enrolled"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Enrolled) != min(1000, m-from) {
			close(stopWatch)
			return fmt.Errorf("enrollment call at %d enrolled %d (%v): %s", from, len(res.Enrolled), err, truncateBytes(out, 200))
		}
	}
	enrolled := time.Since(start)
	if err := waitIdle(ctx, db); err != nil {
		close(stopWatch)
		return err
	}
	total := time.Since(start)
	self1, workers1 := cpuTimes()
	// Every enrollment completed, so the next poll must count them all.
	select {
	case err := <-watchDone:
		if err != nil {
			return err
		}
	case <-time.After(3 * time.Second):
		close(stopWatch)
		<-watchDone
		return fmt.Errorf("the progress search counted %d of %d completed contacts", polls[len(polls)-1].total, m)
	}
	seen := time.Since(start)
	if len(polls) > 0 && polls[len(polls)-1].total == m {
		seen = polls[len(polls)-1].at
	}
	fmt.Printf("| enroll %d by objectIds over HTTP (%d calls of 1000, one after another) | %s, %.0f µs per id |\n",
		m, (m+999)/1000, enrolled.Round(time.Millisecond), float64(enrolled.Microseconds())/float64(m))
	fmt.Printf("| objectIds over HTTP to all %d completed, progress searched once a second | %s, **%.0f enrollments/s**, %.2fx allMatching's %.0f/s |\n",
		m, total.Round(time.Millisecond), float64(m)/total.Seconds(), float64(m)/total.Seconds()/allRate, allRate)
	fmt.Printf("| the same run as the progress search saw it (1 s polls) | %s, %.0f enrollments/s |\n", seen.Round(time.Millisecond), float64(m)/seen.Seconds())
	took := make([]time.Duration, len(polls))
	for i, p := range polls {
		took[i] = p.took
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	fmt.Printf("| progress search (city EQ, score HAS_PROPERTY, with total; %d contacts) p50 / max of %d polls during the run | %s / %s |\n",
		existing+m, len(took), ms(pct(took, .5)), ms(pct(took, 1)))
	fmt.Printf("| CPU per enrollment over HTTP: spoke / Node workers | %.0f µs / %.0f µs |\n",
		float64((self1-self0).Microseconds())/float64(m), float64((workers1-workers0).Microseconds())/float64(m))
	return nil
}

// waitIdle returns once no enrollment is active, and fails if any failed.
// It polls with queries the partial index of active enrollments answers, so
// the harness does not compete with the engine for the database.
func waitIdle(ctx context.Context, db *sqlite.DB) error {
	for {
		var active int
		if err := db.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM enrollments WHERE status = 'ACTIVE'`).Scan(&active); err != nil {
			return err
		}
		if active == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var failed int
	if err := db.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM enrollments WHERE status = 'FAILED'`).Scan(&failed); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d enrollments failed", failed)
	}
	return nil
}
