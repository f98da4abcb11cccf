package egress_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spokehq/spoke/sandbox/egress"
)

// TestRedirect sends every connection for a host other than Spoke's API to
// one server, after the name-level rules, and answers name lookups without
// resolving anything.
func TestRedirect(t *testing.T) {
	t.Parallel()
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "stub saw "+r.Host+r.URL.Path)
	}))
	defer stub.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "api")
	}))
	defer api.Close()
	// A resolver that cannot answer: a lookup would fail the test.
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	}}
	p := egress.New(egress.Config{SpokeAPI: strings.TrimPrefix(api.URL, "http://"), Redirect: strings.TrimPrefix(stub.URL, "http://"),
		Resolver: noDNS, Logger: quiet()})
	sock := filepath.Join(t.TempDir(), "egress.sock")
	l, err := p.Listen(sock, egress.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	get := func(target string) string {
		t.Helper()
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req, _ := http.NewRequest("GET", target, nil)
		if err := req.WriteProxy(c); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + ": " + string(b)
	}
	if got := get("http://api.example.com/x"); got != "200 OK: stub saw api.example.com/x" {
		t.Errorf("external host: %q", got)
	}
	if got := get("http://10.0.0.1/private"); got != "200 OK: stub saw 10.0.0.1/private" {
		t.Errorf("a private address goes to the stub too (nothing is dialled): %q", got)
	}
	if got := get(api.URL + "/crm"); got != "200 OK: api" {
		t.Errorf("Spoke's API: %q", got)
	}
	if got := get("http://metadata.google.internal/computeMetadata"); !strings.HasPrefix(got, "403 Forbidden: EGRESS_DENIED") {
		t.Errorf("metadata name: %q", got)
	}
	// CONNECT tunnels to the stub.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT api.example.com:80 HTTP/1.1\r\nHost: api.example.com:80\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	io.WriteString(c, "GET /tunnelled HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "stub saw api.example.com/tunnelled" {
		t.Errorf("through the tunnel: %q", b)
	}
	addrs, err := p.LookupName(context.Background(), "api.example.com", egress.Policy{})
	if err != nil || len(addrs) != 1 || addrs[0] != egress.RedirectAddr {
		t.Errorf("lookup under Redirect: %v %v", addrs, err)
	}
}
