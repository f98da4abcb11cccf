package codetest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// stub answers the external HTTP calls of the code under test from the
// running case's declared responses. The sandbox's egress proxy sends every
// connection for a host other than Spoke's API here (sandbox
// Config.EgressRedirect), so nothing leaves the machine: a call no
// declaration matches is answered 502 and fails the case.
type stub struct {
	ln   net.Listener
	srv  *http.Server
	leaf func(name string) (*tls.Certificate, error)

	mu    sync.Mutex
	stubs []Stub
	calls []Call
}

// Call is one external call the code made.
type Call struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Status is the answer; Matched is false when no declaration matched.
	Status  int  `json:"status"`
	Matched bool `json:"matched"`
}

// UnmatchedHeader marks the stub's answer to an undeclared call.
const UnmatchedHeader = "X-Spoke-Test"

// startStub listens on a loopback port. leaf returns the certificate to
// present for a TLS server name; it must be signed by a CA the sandbox
// trusts. With a nil leaf, HTTPS calls fail their handshake and are
// reported as unmatched.
func startStub(leaf func(name string) (*tls.Certificate, error)) (*stub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("codetest: stub listener: %w", err)
	}
	s := &stub{leaf: leaf}
	s.ln = &sniffListener{Listener: ln, s: s, conns: make(chan net.Conn), done: make(chan struct{})}
	// Handshake failures (a client that gave up) are not the user's
	// concern; failed calls are reported with the case.
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go s.ln.(*sniffListener).acceptLoop()
	go s.srv.Serve(s.ln)
	return s, nil
}

// Addr is the host:port the egress proxy should send connections to.
func (s *stub) Addr() string { return s.ln.Addr().String() }

// Close stops the stub.
func (s *stub) Close() error { return s.srv.Close() }

// begin sets the declarations of the case about to run and forgets the
// calls of the last one.
func (s *stub) begin(stubs []Stub) {
	s.mu.Lock()
	s.stubs, s.calls = stubs, nil
	s.mu.Unlock()
}

// end returns the calls made since begin.
func (s *stub) end() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.calls
	s.stubs, s.calls = nil, nil
	return calls
}

func (s *stub) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// ServeHTTP answers one call from the first matching declaration.
func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: stripDefaultPort(scheme, r.Host), Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	stubs := s.stubs
	s.mu.Unlock()
	for _, st := range stubs {
		if st.Method == r.Method && urlMatches(st.URL, u) {
			s.record(Call{Method: r.Method, URL: u.String(), Status: st.Status, Matched: true})
			for k, v := range st.Headers {
				w.Header().Set(k, v)
			}
			if w.Header().Get("Content-Type") == "" && st.Body != "" {
				if b := strings.TrimSpace(st.Body); b[0] == '{' || b[0] == '[' {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				}
			}
			w.WriteHeader(st.Status)
			io.WriteString(w, st.Body)
			return
		}
	}
	s.record(Call{Method: r.Method, URL: u.String(), Status: http.StatusBadGateway})
	w.Header().Set(UnmatchedHeader, "UNMATCHED")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	fmt.Fprintf(w, "spoke test: no declared response for %s %s; add it to the case's http: list\n", r.Method, u)
}

func stripDefaultPort(scheme, host string) string {
	host = strings.ToLower(host)
	if h, p, err := net.SplitHostPort(host); err == nil && (scheme == "http" && p == "80" || scheme == "https" && p == "443") {
		return h
	}
	return host
}

// urlMatches compares a declared URL with a request's: scheme, host and
// path exactly; the query only when the declaration has one.
func urlMatches(declared string, got *url.URL) bool {
	d, err := url.Parse(declared)
	if err != nil {
		return false
	}
	path := d.Path
	if path == "" {
		path = "/"
	}
	gpath := got.Path
	if gpath == "" {
		gpath = "/"
	}
	if d.Scheme != got.Scheme || stripDefaultPort(d.Scheme, d.Host) != got.Host || path != gpath {
		return false
	}
	if d.RawQuery == "" {
		return true
	}
	dq, gq := d.Query(), got.Query()
	for k, v := range dq {
		if strings.Join(v, "\x00") != strings.Join(gq[k], "\x00") {
			return false
		}
	}
	return len(dq) == len(gq)
}

// sniffListener hands the HTTP server plain connections and TLS ones
// (a first byte of 0x16 is a TLS handshake), since the egress proxy
// tunnels both to the same address.
type sniffListener struct {
	net.Listener
	s     *stub
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *sniffListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.once.Do(func() { close(l.done) })
			return
		}
		go l.sniff(c)
	}
}

func (l *sniffListener) sniff(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	var conn net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		conn = tls.Server(conn, &tls.Config{
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"},
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if l.s.leaf == nil {
					l.s.record(Call{Method: "CONNECT", URL: "https://" + hello.ServerName + "/", Status: 0})
					return nil, fmt.Errorf("spoke test: no certificate authority for HTTPS stubs")
				}
				return l.s.leaf(hello.ServerName)
			},
		})
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		c.Close()
	}
}

func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *sniffListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.done) })
	return err
}

// peekedConn is a connection whose first bytes sit in a bufio.Reader.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
