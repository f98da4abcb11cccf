package api

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRequests runs writers and readers at once: no request may
// fail with a 5xx (SQLITE_BUSY, a deadlock on the single writer) and
// every upsert of the same email must land on one record.
func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	company := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`).json(t)["id"].(string)
	const workers, rounds = 12, 10
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*4)
	send := func(method, path, body string) int {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, e.url+path, rd)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := e.client.Do(req)
		if err != nil {
			errs <- err.Error()
			return 0
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			errs <- fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return res.StatusCode
	}
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				send("POST", "/crm/v3/objects/contacts/batch/upsert", fmt.Sprintf(`{"inputs":[{"idProperty":"email","id":"shared%d@example.com","properties":{"firstname":"w%d"}}]}`, i%3, w))
				send("POST", "/crm/v3/objects/contacts", fmt.Sprintf(`{"properties":{"email":"w%d-%d@example.com"},"associations":[{"to":{"id":"%s"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`, w, i, company))
				send("POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"CONTAINS_TOKEN","value":"*@example.com"}]}],"limit":50}`)
				send("GET", "/crm/v3/objects/contacts?limit=20&propertiesWithHistory=firstname", "")
				send("GET", "/crm/v4/objects/companies/"+company+"/associations/contacts", "")
			}
		}(w)
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // generous: -race on a loaded machine is slow
		buf := make([]byte, 1<<20)
		t.Fatalf("concurrent requests did not finish in 2m: deadlock?\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r := e.do("POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"CONTAINS_TOKEN","value":"shared*"}]}]}`)
	expect(t, r, 200, "", `"total":3`)
	r = e.do("POST", "/crm/v3/objects/contacts/search", `{}`)
	expect(t, r, 200, "", fmt.Sprintf(`"total":%d`, 3+workers*rounds))
}
