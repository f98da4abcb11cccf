package egress_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spokehq/spoke/sandbox/egress"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestResolve(t *testing.T) {
	t.Parallel()
	p := egress.New(egress.Config{
		SpokeAPI: "127.0.0.1:8080",
		Allow:    []string{"10.1.2.3:5432", "LocalHost:9000"},
		Logger:   quiet(),
	})
	tests := []struct {
		target string
		allow  []string
		rule   string // "" means allowed
	}{
		{"127.0.0.1:80", nil, egress.RuleLoopback},
		{"[::1]:80", nil, egress.RuleLoopback},
		{"localhost:80", nil, egress.RuleLoopback},
		{"10.0.0.1:80", nil, egress.RulePrivate},
		{"192.168.1.1:443", nil, egress.RulePrivate},
		{"172.16.0.1:443", nil, egress.RulePrivate},
		{"[fd00::1]:443", nil, egress.RulePrivate},
		{"169.254.169.254:80", nil, egress.RuleMetadata},
		{"[fd00:ec2::254]:80", nil, egress.RuleMetadata},
		{"metadata.google.internal:80", nil, egress.RuleMetadata},
		{"169.254.1.1:80", nil, egress.RuleLinkLocal},
		{"[fe80::1]:80", nil, egress.RuleLinkLocal},
		{"224.0.0.1:80", nil, egress.RuleMulticast},
		{"0.0.0.0:80", nil, egress.RuleUnspecified},
		{"100.64.0.1:80", nil, egress.RuleSpecialPurpose},
		{"[::ffff:127.0.0.1]:80", nil, egress.RuleLoopback},
		{"93.184.216.34:443", nil, ""},
		{"127.0.0.1:8080", nil, ""},                     // Spoke's API
		{"127.0.0.1:8080", []string{"example.com"}, ""}, // Spoke's API despite the allowlist
		{"10.1.2.3:5432", nil, ""},                      // operator-allowed
		{"localhost:9000", nil, ""},                     // operator-allowed by name
		{"10.1.2.3:5433", nil, egress.RulePrivate},      // other port
		{"93.184.216.34:443", []string{"example.com"}, egress.RuleAccountAllowlist},
		{"10.1.2.3:5432", []string{"example.com"}, egress.RuleAccountAllowlist},
		{"93.184.216.34:443", []string{"93.184.216.34"}, ""},
		{"93.184.216.34:443", []string{"93.184.216.34:80"}, egress.RuleAccountAllowlist},
		{"api.example.org:443", []string{"*.example.org"}, egress.RuleAccountAllowlist + "|resolve"},
		{"nonsense", nil, egress.RuleBadTarget},
	}
	for _, tt := range tests {
		t.Run(tt.target+fmt.Sprint(tt.allow), func(t *testing.T) {
			t.Parallel()
			_, err := p.Resolve(context.Background(), tt.target, egress.Policy{AccountAllow: tt.allow})
			var d *egress.Denial
			switch {
			case strings.HasSuffix(tt.rule, "|resolve"):
				// Passes the allowlist; resolving the name may fail offline.
				if errors.As(err, &d) {
					t.Fatalf("denied %+v, want the allowlist to pass", d)
				}
			case tt.rule == "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			default:
				if !errors.As(err, &d) || d.Rule != tt.rule {
					t.Fatalf("got %v, want rule %s", err, tt.rule)
				}
				if !strings.Contains(d.Error(), "EGRESS_DENIED") || !strings.Contains(d.Error(), tt.target) {
					t.Fatalf("message %q", d.Error())
				}
			}
		})
	}
}

// connectVia sends one CONNECT through the listener at sock and returns the
// status line, the headers and the connection.
func connectVia(t *testing.T, sock, target string) (*http.Response, net.Conn) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return resp, c
}

func TestProxy(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s", r.URL.Path)
	}))
	defer up.Close()
	upHost := strings.TrimPrefix(up.URL, "http://")
	p := egress.New(egress.Config{Allow: []string{upHost}, Logger: quiet()})
	var mu sync.Mutex
	var denied []egress.Denial
	sock := filepath.Join(t.TempDir(), "egress.sock")
	l, err := p.Listen(sock, egress.Policy{OnDeny: func(d egress.Denial) { mu.Lock(); denied = append(denied, d); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	t.Run("CONNECT allowed", func(t *testing.T) {
		resp, c := connectVia(t, sock, upHost)
		defer c.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		fmt.Fprintf(c, "GET /tunnel HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", upHost)
		b, _ := io.ReadAll(c)
		if !strings.Contains(string(b), "upstream /tunnel") {
			t.Fatalf("tunnel answer %q", b)
		}
	})
	t.Run("CONNECT denied", func(t *testing.T) {
		resp, c := connectVia(t, sock, "10.0.0.1:443")
		defer c.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 403 || resp.Header.Get(egress.DeniedHeader) != "EGRESS_DENIED" || !strings.Contains(string(body), "private-network") {
			t.Fatalf("status %d, header %q, body %q", resp.StatusCode, resp.Header.Get(egress.DeniedHeader), body)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(denied) == 0 || denied[len(denied)-1].Host != "10.0.0.1:443" {
			t.Fatalf("OnDeny got %+v", denied)
		}
	})
	t.Run("absolute-form HTTP", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for _, path := range []string{"/a", "/b"} {
			fmt.Fprintf(c, "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", upHost, path, upHost)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "upstream "+path {
				t.Fatalf("body %q", b)
			}
		}
		fmt.Fprintf(c, "GET http://169.254.169.254/latest/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 403 || resp.Header.Get(egress.DeniedHeader) != "EGRESS_DENIED" {
			t.Fatalf("metadata request got %d", resp.StatusCode)
		}
	})
}

// TestReadOnlyAPI checks where a dry run's connections to Spoke's API go:
// to the read-only listener, or nowhere when there is none.
func TestReadOnlyAPI(t *testing.T) {
	t.Parallel()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ro, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	accepted := make(chan string, 4)
	for _, l := range []net.Listener{api, ro} {
		go func(l net.Listener) {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted <- l.Addr().String()
				c.Close()
			}
		}(l)
	}
	ctx := context.Background()
	with := egress.New(egress.Config{SpokeAPI: api.Addr().String(), ReadOnlySpokeAPI: ro.Addr().String(), Logger: quiet()})
	for _, tc := range []struct {
		pol  egress.Policy
		want string
	}{
		{egress.Policy{}, api.Addr().String()},
		{egress.Policy{ReadOnlyAPI: true}, ro.Addr().String()},
	} {
		c, err := with.DialContext(ctx, "tcp", api.Addr().String(), tc.pol)
		if err != nil {
			t.Fatalf("dial with %+v: %v", tc.pol, err)
		}
		c.Close()
		if got := <-accepted; got != tc.want {
			t.Errorf("with %+v the connection reached %s, want %s", tc.pol, got, tc.want)
		}
	}
	without := egress.New(egress.Config{SpokeAPI: api.Addr().String(), Logger: quiet()})
	_, err = without.DialContext(ctx, "tcp", api.Addr().String(), egress.Policy{ReadOnlyAPI: true})
	var d *egress.Denial
	if !errors.As(err, &d) || d.Rule != egress.RuleDryRun {
		t.Fatalf("dry run without a read-only API: %v, want a %s denial", err, egress.RuleDryRun)
	}
}

// TestDeny checks that Deny entries (Spoke's metrics address) are refused
// even when Allow or SpokeAPI would let them through, and that an entry on
// the unspecified address covers loopback and the machine's interfaces.
func TestDeny(t *testing.T) {
	t.Parallel()
	p := egress.New(egress.Config{
		SpokeAPI: "127.0.0.1:9464",
		Allow:    []string{"127.0.0.1:9465", "localhost:9466"},
		Deny:     []string{"127.0.0.1:9464", "127.0.0.1:9465", "[::]:9466", "0.0.0.0:9467"},
		Logger:   quiet(),
	})
	local := "127.0.0.2"
	if addrs, _ := net.InterfaceAddrs(); len(addrs) > 0 {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				local = ipn.IP.String()
			}
		}
	}
	for _, target := range []string{"127.0.0.1:9464", "127.0.0.1:9465", "localhost:9466", "[::1]:9466", "127.0.0.1:9467", net.JoinHostPort(local, "9467")} {
		_, err := p.Resolve(context.Background(), target, egress.Policy{})
		var d *egress.Denial
		if !errors.As(err, &d) || d.Rule != egress.RuleSpokeInternal {
			t.Errorf("%s: err %v, want rule %s", target, err, egress.RuleSpokeInternal)
		}
	}
	if _, err := p.Resolve(context.Background(), "127.0.0.1:9468", egress.Policy{}); err == nil {
		t.Errorf("127.0.0.1:9468 allowed")
	}
	if _, err := p.Resolve(context.Background(), "8.8.8.8:9467", egress.Policy{}); err != nil {
		t.Errorf("8.8.8.8:9467: %v (a public address on the denied port is not this machine)", err)
	}
}
