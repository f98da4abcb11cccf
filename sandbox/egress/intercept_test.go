package egress_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spokehq/spoke/internal/dnstest"
	"github.com/spokehq/spoke/sandbox/egress"
)

// recorder is an HTTP server that records what reaches it.
type recorder struct {
	name string
	mu   sync.Mutex
	seen []string // "METHOD host path auth"
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, strings.Join([]string{req.Method, req.Host, req.URL.RequestURI(), req.Header.Get("Authorization")}, " "))
	r.mu.Unlock()
	fmt.Fprintf(w, "%s %s", r.name, req.URL.Path)
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return ""
	}
	return r.seen[len(r.seen)-1]
}

// tlsVia opens a CONNECT tunnel to host:443 and a TLS session in it that
// trusts only roots.
func tlsVia(t *testing.T, sock, host string, roots *x509.CertPool) (*tls.Conn, error) {
	t.Helper()
	resp, c := connectVia(t, sock, host+":443")
	if resp.StatusCode != 200 {
		c.Close()
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("CONNECT: %d %s", resp.StatusCode, body)
	}
	tc := tls.Client(c, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

func TestIntercept(t *testing.T) {
	t.Parallel()
	api := &recorder{name: "api"}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	ro := &recorder{name: "read-only"}
	roSrv := httptest.NewServer(ro)
	defer roSrv.Close()
	ca, err := egress.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	p := egress.New(egress.Config{SpokeAPI: strings.TrimPrefix(apiSrv.URL, "http://"), ReadOnlySpokeAPI: strings.TrimPrefix(roSrv.URL, "http://"), CA: ca, Logger: quiet()})
	dir := t.TempDir()
	l, err := p.Listen(filepath.Join(dir, "rw.sock"), egress.Policy{AccountAllow: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lro, err := p.Listen(filepath.Join(dir, "ro.sock"), egress.Policy{ReadOnlyAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lro.Close()

	for _, tc := range []struct {
		sock, host string
		rec        *recorder
	}{
		{"rw.sock", "api.hubapi.com", api},
		{"rw.sock", "API.HubSpot.com", api},
		{"ro.sock", "api.hubapi.com", ro},
	} {
		conn, err := tlsVia(t, filepath.Join(dir, tc.sock), tc.host, roots)
		if err != nil {
			t.Fatalf("%s via %s: %v", tc.host, tc.sock, err)
		}
		if got := conn.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != strings.ToLower(tc.host) {
			t.Errorf("certificate names %v", got)
		}
		br := bufio.NewReader(conn)
		// Two requests on one connection: keep-alive works inside.
		for _, path := range []string{"/crm/v3/objects/contacts?limit=1", "/crm/v3/objects/deals"} {
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer pat-1\r\n\r\n", path, tc.host)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := tc.rec.name + " " + strings.SplitN(path, "?", 2)[0]
			if string(b) != want {
				t.Errorf("%s via %s: body %q, want %q", tc.host, tc.sock, b, want)
			}
			if got, want := tc.rec.last(), "GET "+tc.host+" "+path+" Bearer pat-1"; got != want {
				t.Errorf("upstream saw %q, want %q", got, want)
			}
		}
		conn.Close()
	}

	// Plain HTTP to the same names goes to Spoke too.
	c, err := net.Dial("unix", filepath.Join(dir, "rw.sock"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST http://api.hubapi.com/crm/v3/objects/contacts HTTP/1.1\r\nHost: api.hubapi.com\r\nAuthorization: Bearer pat-2\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()
	if err != nil || resp.StatusCode != 200 || api.last() != "POST api.hubapi.com /crm/v3/objects/contacts Bearer pat-2" {
		t.Errorf("plain HTTP: %v %v, upstream saw %q", resp, err, api.last())
	}

	// Without a read-only API a dry run is refused before the tunnel opens.
	noRO := egress.New(egress.Config{SpokeAPI: strings.TrimPrefix(apiSrv.URL, "http://"), CA: ca, Logger: quiet()})
	l2, err := noRO.Listen(filepath.Join(dir, "dry.sock"), egress.Policy{ReadOnlyAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, err := tlsVia(t, filepath.Join(dir, "dry.sock"), "api.hubapi.com", roots); err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), egress.RuleDryRun) {
		t.Errorf("dry run without a read-only API: %v", err)
	}

	// When Spoke's API is down the CONNECT fails, as for any host, rather
	// than the code seeing an HTTP 502 inside the tunnel.
	downLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downLn.Close()
	down := egress.New(egress.Config{SpokeAPI: downLn.Addr().String(), CA: ca, Logger: quiet()})
	l4, err := down.Listen(filepath.Join(dir, "down.sock"), egress.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	defer l4.Close()
	resp, c = connectVia(t, filepath.Join(dir, "down.sock"), "api.hubapi.com:443")
	c.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("CONNECT with Spoke's API down got %d, want 502", resp.StatusCode)
	}

	// Without a CA (or without Spoke's API) the names are ordinary hosts:
	// the account allowlist refuses them.
	plain := egress.New(egress.Config{SpokeAPI: strings.TrimPrefix(apiSrv.URL, "http://"), Logger: quiet()})
	l3, err := plain.Listen(filepath.Join(dir, "plain.sock"), egress.Policy{AccountAllow: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	resp, c = connectVia(t, filepath.Join(dir, "plain.sock"), "api.hubapi.com:443")
	c.Close()
	if resp.StatusCode != 403 {
		t.Errorf("without a CA, CONNECT api.hubapi.com got %d, want the allowlist's 403", resp.StatusCode)
	}
}

// lookupVia asks the listener at sock to resolve name.
func lookupVia(t *testing.T, sock, name string) (int, []string, string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s?name=%s HTTP/1.1\r\nHost: spoke\r\n\r\n", egress.ResolvePath, name)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var ans egress.ResolveAnswer
	json.Unmarshal(b, &ans)
	return resp.StatusCode, ans.Addresses, string(b)
}

func TestLookupName(t *testing.T) {
	t.Parallel()
	dns, err := dnstest.New(map[string][]string{
		"public.example.test":  {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"private.example.test": {"10.1.2.3"},
		"mixed.example.test":   {"10.1.2.4", "93.184.215.15"},
		"db.example.test":      {"10.1.2.5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	var mu sync.Mutex
	var denied []egress.Denial
	p := egress.New(egress.Config{Resolver: dns.Resolver(), Allow: []string{"db.example.test:5432"}, Logger: quiet()})
	dir := t.TempDir()
	l, err := p.Listen(filepath.Join(dir, "e.sock"), egress.Policy{OnDeny: func(d egress.Denial) { mu.Lock(); denied = append(denied, d); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	la, err := p.Listen(filepath.Join(dir, "a.sock"), egress.Policy{AccountAllow: []string{"*.example.test:443"}})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	sock := filepath.Join(dir, "e.sock")
	for _, tc := range []struct {
		sock, name string
		status     int
		want       string // addresses joined, or a word of the body
	}{
		{sock, "public.example.test", 200, "93.184.215.14,2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{sock, "PUBLIC.example.test.", 200, "93.184.215.14,2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{sock, "mixed.example.test", 200, "93.184.215.15"},
		{sock, "db.example.test", 200, "10.1.2.5"},
		{sock, "private.example.test", 403, egress.RulePrivate},
		{sock, "localhost", 403, egress.RuleLoopback},
		{sock, "metadata.google.internal", 403, egress.RuleMetadata},
		{sock, "10.0.0.1", 403, egress.RulePrivate},
		{sock, "nowhere.example.test", 404, "nowhere.example.test"},
		{filepath.Join(dir, "a.sock"), "public.example.test", 200, "93.184.215.14,2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{filepath.Join(dir, "a.sock"), "public.example.org", 403, egress.RuleAccountAllowlist},
	} {
		status, addrs, body := lookupVia(t, tc.sock, tc.name)
		if status != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, status, body, tc.status)
			continue
		}
		if status == 200 && strings.Join(addrs, ",") != tc.want || status != 200 && !strings.Contains(body, tc.want) {
			t.Errorf("%s: %v %q, want %q", tc.name, addrs, body, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(denied) != 4 || denied[0].Host != "private.example.test" {
		t.Errorf("OnDeny got %+v", denied)
	}
}
