package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowServer serves the API as `spoke serve` does: bodies limited to
// bodyTimeout, at most maxConns connections. It returns the address.
func slowServer(t *testing.T, bodyTimeout time.Duration, maxConns int) string {
	t.Helper()
	s := newTestStore(t)
	db := s.db
	srv := &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db,
		Logger: s.logger}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: LimitBodies(srv.Handler(), bodyTimeout), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(LimitListener(ln, maxConns))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// startSlowBody opens a connection and sends a request whose body
// announces 1000 bytes and sends 2; it returns the connection.
func startSlowBody(t *testing.T, addr, token string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	fmt.Fprintf(c, "POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"", auth)
	return c
}

// answerWithin reads the response on c, failing unless it comes within d,
// and returns its status.
func answerWithin(t *testing.T, c net.Conn, d time.Duration) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", d, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestUnauthenticatedSlowBodyCutAtOnce checks that a request without a
// valid token is answered 401 without waiting for its body, and its
// connection closed.
func TestUnauthenticatedSlowBodyCutAtOnce(t *testing.T) {
	t.Parallel()
	addr := slowServer(t, time.Minute, 0)
	for _, token := range []string{"", "not-a-token"} {
		c := startSlowBody(t, addr, token)
		defer c.Close()
		if got := answerWithin(t, c, 2*time.Second); got != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d, want 401", token, got)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("token %q: the connection stays open after the 401: %v", token, err)
		}
	}
}

// TestSlowBodyTimesOut checks that an authenticated body that does not
// arrive within the body timeout is cut.
func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	addr := slowServer(t, 300*time.Millisecond, 0)
	c := startSlowBody(t, addr, adminToken)
	defer c.Close()
	if got := answerWithin(t, c, 5*time.Second); got != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", got)
	}
}

// TestSlowClientsDoNotStarveOthers opens a few hundred connections that
// send a body slowly, as a slowloris would, and checks that a normal
// client is still answered quickly: with the default cap they all fit,
// and when slow bodies fill a small cap, the body timeout frees it.
func TestSlowClientsDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		maxConns int
		slow     int
		within   time.Duration
	}{
		{"default cap", DefaultMaxConns, 300, 2 * time.Second},
		{"slow bodies fill the cap", 16, 16, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := slowServer(t, time.Second, tc.maxConns)
			var conns []net.Conn
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range tc.slow {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := startSlowBody(t, addr, adminToken)
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
				}()
			}
			wg.Wait()
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			time.Sleep(100 * time.Millisecond) // let the server accept them
			start := time.Now()
			client := &http.Client{Timeout: tc.within}
			req, _ := http.NewRequest("GET", "http://"+addr+"/crm/v3/objects/contacts?limit=1", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("a normal client was not answered within %s beside %d slow bodies: %v", tc.within, tc.slow, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(body), "results") {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			t.Logf("answered in %s beside %d slow bodies", time.Since(start), tc.slow)
		})
	}
}
