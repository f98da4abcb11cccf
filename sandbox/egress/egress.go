// Package egress is the host-side HTTP proxy through which sandboxed custom
// code reaches the network.
//
// A sandbox has its own network namespace with no route out; the only way out
// is a Unix socket, bound into the sandbox, on which a [Proxy] listens. The
// proxy speaks HTTP CONNECT (for HTTPS and any tunnelled TCP) and absolute-form
// HTTP requests (for plain HTTP). It resolves names itself and refuses to dial
// loopback, private, link-local, multicast, cloud-metadata and other
// special-purpose addresses, including names that resolve to them, except
// Spoke's own API and host:port pairs an operator allows explicitly. Each
// listener carries a [Policy] that may further restrict egress to an account's
// allowlist. Every refusal is logged with the word EGRESS_DENIED, the host and
// the rule that refused it, and is answered with a 403 whose body says the
// same, so the code sees a clear error.
package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"code.dny.dev/ssrf"
)

// Rules name why a connection was refused. They appear in log lines and in the
// error the sandboxed code sees.
const (
	RuleLoopback         = "loopback"
	RulePrivate          = "private-network"
	RuleLinkLocal        = "link-local"
	RuleMetadata         = "cloud-metadata"
	RuleMulticast        = "multicast"
	RuleUnspecified      = "unspecified-address"
	RuleSpecialPurpose   = "special-purpose-address"
	RuleAccountAllowlist = "account-allowlist"
	RuleBadTarget        = "bad-target"
	RuleDryRun           = "dry-run"
	RuleSpokeInternal    = "spoke-internal"
)

// DeniedHeader is set on every 403 the proxy returns for a refused target, so
// a client can tell a policy refusal from an upstream 403.
const DeniedHeader = "X-Spoke-Egress"

// Config configures a [Proxy]. The zero value refuses every non-public
// address and allows every public one.
type Config struct {
	// SpokeAPI is the host:port of Spoke's own API. Connections to it are
	// always allowed, whatever address it resolves to and whatever an
	// account's allowlist says.
	SpokeAPI string
	// ReadOnlySpokeAPI is the host:port of a listener serving Spoke's API
	// that refuses writes. Under a ReadOnlyAPI policy, connections to
	// SpokeAPI go there instead, or are refused if it is empty.
	ReadOnlySpokeAPI string
	// Allow lists host:port pairs (names or IP addresses) that an operator
	// allows even when they resolve to a refused address. An account's
	// allowlist still applies to them.
	Allow []string
	// Deny lists host:port pairs refused whatever Allow and SpokeAPI say,
	// such as the address serving Spoke's metrics. An entry whose host is
	// the unspecified address (0.0.0.0 or ::) refuses its port on every
	// loopback address and every address of the machine's interfaces, as a
	// server listening there answers on all of them.
	Deny []string
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// DialTimeout bounds one upstream dial; zero means 10 seconds.
	DialTimeout time.Duration
	// Logger receives one line per refused connection; nil means
	// slog.Default().
	Logger *slog.Logger
	// CA, when set together with SpokeAPI, makes the proxy terminate TLS
	// for [HubSpotHosts] on port 443 with leaf certificates it signs, and
	// send the HTTP requests inside to Spoke's API (the read-only one under
	// a ReadOnlyAPI policy). Plain-HTTP requests to those names go there
	// too. Without it, those names are ordinary hosts.
	CA *CA
	// SpokeAPITLS says that SpokeAPI speaks HTTPS rather than HTTP. The
	// read-only API is always plain HTTP on loopback.
	SpokeAPITLS bool
	// Redirect, when set, is the host:port of a server that receives every
	// connection to a host other than Spoke's API in place of that host,
	// after the name-level rules. `spoke test` points it at its stub of
	// external services, so that test runs never leave the machine. The
	// server sees the original host in the TLS server name or the Host
	// header.
	Redirect string
}

// Policy is what a single listener enforces on top of the proxy's [Config].
type Policy struct {
	// AccountAllow, when not empty, restricts egress to these hosts. An entry
	// is "host", "host:port" or "*.domain" (any subdomain of domain).
	AccountAllow []string
	// OnDeny, when set, is called for every refused connection, for example
	// to add the refusal to the log of the invocation that caused it.
	OnDeny func(Denial)
	// ReadOnlyAPI sends connections to Spoke's API to the proxy's
	// ReadOnlySpokeAPI, for dry runs that must not write.
	ReadOnlyAPI bool
}

// Denial describes one refused connection.
type Denial struct {
	// Host is the requested host and port.
	Host string
	// Rule names the rule that refused it (one of the Rule constants).
	Rule string
	// Detail explains the refusal, for example which address a name
	// resolved to.
	Detail string
	// Time is when the connection was refused.
	Time time.Time
}

// Error formats the denial as the message the sandboxed code sees.
func (d Denial) Error() string {
	return fmt.Sprintf("EGRESS_DENIED: connection to %s refused by Spoke's egress policy (rule %s: %s)", d.Host, d.Rule, d.Detail)
}

// Proxy is a host-side egress proxy. It is safe for concurrent use.
type Proxy struct {
	cfg      Config
	guardian *ssrf.Guardian
	allow    map[string]bool
	denyHP   map[string]bool     // normalised Deny entries
	denyAny  map[uint16]bool     // ports of Deny entries on the unspecified address
	local    map[netip.Addr]bool // the interfaces' addresses, for denyAny
	log      *slog.Logger
}

// New returns a proxy for cfg. It does not listen until [Proxy.Listen].
func New(cfg Config) *Proxy {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	p := &Proxy{
		cfg:      cfg,
		guardian: ssrf.New(ssrf.WithAnyPort()),
		allow:    map[string]bool{},
		log:      cfg.Logger,
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	for _, a := range cfg.Allow {
		p.allow[normHostPort(a)] = true
	}
	p.denyHP, p.denyAny = map[string]bool{}, map[uint16]bool{}
	for _, d := range cfg.Deny {
		n := normHostPort(d)
		p.denyHP[n] = true
		if ap, err := netip.ParseAddrPort(n); err == nil && ap.Addr().IsUnspecified() {
			p.denyAny[ap.Port()] = true
		}
	}
	if len(p.denyAny) > 0 {
		p.local = map[netip.Addr]bool{}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				p.local[pfx.Addr().Unmap()] = true
			}
		}
	}
	return p
}

// denied reports whether a Deny entry refuses ap.
func (p *Proxy) denied(ap netip.AddrPort) bool {
	if len(p.denyHP) == 0 {
		return false
	}
	if p.denyHP[normHostPort(ap.String())] {
		return true
	}
	a := ap.Addr().Unmap()
	return p.denyAny[ap.Port()] && (a.IsLoopback() || a.IsUnspecified() || p.local[a])
}

// normHostPort lower-cases a host:port and strips IPv6 brackets so that
// entries compare equal to what the proxy sees.
func normHostPort(hp string) string {
	host, port, err := net.SplitHostPort(strings.TrimSpace(hp))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(hp))
	}
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	return net.JoinHostPort(strings.ToLower(host), port)
}

// Listener serves the proxy on one Unix socket with one [Policy].
type Listener struct {
	ln    net.Listener
	proxy *Proxy
	pol   Policy
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// Listen starts serving the proxy with pol on a new Unix socket at path.
// The caller decides who may connect to it (the socket's mode and its
// directory's). Close the returned Listener to stop it and every tunnel it
// carries.
func (p *Proxy) Listen(path string, pol Policy) (*Listener, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("egress: listen on %s: %w", path, err)
	}
	l := &Listener{ln: ln, proxy: p, pol: pol, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// SetPolicy replaces the listener's policy for connections accepted from now
// on.
func (l *Listener) SetPolicy(pol Policy) {
	l.mu.Lock()
	l.pol = pol
	l.mu.Unlock()
}

func (l *Listener) policy() Policy {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pol
}

// Close stops the listener and closes every connection it accepted.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.done = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Listener) track(c net.Conn, add bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if add {
		if l.done {
			return false
		}
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
	return true
}

func (l *Listener) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if !l.track(c, true) {
			c.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.track(c, false)
			defer c.Close()
			l.handle(c)
		}()
	}
}

// handle serves one client connection: a CONNECT tunnel, or a sequence of
// absolute-form HTTP requests.
func (l *Listener) handle(c net.Conn) {
	br := bufio.NewReader(c)
	var tr *http.Transport
	defer func() {
		if tr != nil {
			tr.CloseIdleConnections()
		}
	}()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		pol := l.policy()
		if req.Method == http.MethodConnect {
			l.tunnel(c, br, req, pol)
			return
		}
		if req.URL != nil && req.URL.Host == "" && req.URL.Path == ResolvePath {
			l.resolve(c, req, pol)
			return
		}
		if req.URL == nil || req.URL.Host == "" {
			writeStatus(c, http.StatusBadRequest, "egress proxy: request target must be absolute\n", nil)
			return
		}
		if tr == nil {
			tr = &http.Transport{
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return l.proxy.dial(ctx, addr, l.policy())
				},
				DisableCompression:  true,
				MaxIdleConnsPerHost: 2,
			}
		}
		if !l.forward(c, req, tr, pol) {
			return
		}
	}
}

func hostPortOf(u string, defPort string) string {
	if _, _, err := net.SplitHostPort(u); err == nil {
		return u
	}
	return net.JoinHostPort(strings.Trim(u, "[]"), defPort)
}

// forward relays one absolute-form HTTP request. It reports whether the
// client connection may carry another request.
func (l *Listener) forward(c net.Conn, req *http.Request, tr *http.Transport, pol Policy) bool {
	port := "80"
	if req.URL.Scheme == "https" {
		port = "443"
	}
	target := hostPortOf(req.URL.Host, port)
	if l.proxy.intercepts(req.URL.Hostname()) {
		// Plain HTTP to HubSpot's API goes to Spoke's, like HTTPS.
		req.URL.Host = l.proxy.cfg.SpokeAPI
		req.URL.Scheme = l.proxy.spokeScheme(pol)
		target = l.proxy.cfg.SpokeAPI
	}
	if d := l.proxy.check(target, pol); d != nil {
		l.proxy.deny(*d, pol)
		writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
		return false
	}
	req.RequestURI = ""
	req.Header.Del("Proxy-Connection")
	req.Header.Del("Proxy-Authorization")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		var d *Denial
		if errors.As(err, &d) {
			writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
			return false
		}
		writeStatus(c, http.StatusBadGateway, fmt.Sprintf("egress proxy: %s: %v\n", target, err), nil)
		return false
	}
	defer resp.Body.Close()
	if err := resp.Write(c); err != nil {
		return false
	}
	return !resp.Close && !req.Close
}

// tunnel serves a CONNECT request.
func (l *Listener) tunnel(c net.Conn, br *bufio.Reader, req *http.Request, pol Policy) {
	target := req.Host
	if target == "" && req.URL != nil {
		target = req.URL.Host
	}
	if host, port, err := net.SplitHostPort(target); err == nil && port == "443" && l.proxy.intercepts(host) {
		l.intercept(c, br, strings.TrimSuffix(strings.ToLower(host), "."), pol)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.proxy.cfg.DialTimeout)
	up, err := l.proxy.dial(ctx, target, pol)
	cancel()
	if err != nil {
		var d *Denial
		if errors.As(err, &d) {
			writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
			return
		}
		writeStatus(c, http.StatusBadGateway, fmt.Sprintf("egress proxy: %s: %v\n", target, err), nil)
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			up.Write(b)
			br.Discard(n)
		}
		io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, up)
		if uc, ok := c.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}

func writeStatus(w io.Writer, code int, body string, hdr map[string]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n", code, http.StatusText(code), len(body))
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	io.WriteString(w, b.String())
}

// deny logs a refusal and reports it to the listener's policy.
func (p *Proxy) deny(d Denial, pol Policy) {
	d.Time = time.Now()
	p.log.Warn("EGRESS_DENIED", "host", d.Host, "rule", d.Rule, "detail", d.Detail)
	if pol.OnDeny != nil {
		pol.OnDeny(d)
	}
}

// check applies the name-level rules (Spoke API, account allowlist, metadata
// names) to target. It returns nil when address-level checks should follow.
func (p *Proxy) check(target string, pol Policy) *Denial {
	host, port, err := net.SplitHostPort(target)
	if err != nil || host == "" {
		return &Denial{Host: target, Rule: RuleBadTarget, Detail: "the target must be host:port"}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return &Denial{Host: target, Rule: RuleBadTarget, Detail: "bad port"}
	}
	norm := normHostPort(target)
	if p.denyHP[norm] {
		return &Denial{Host: target, Rule: RuleSpokeInternal, Detail: "an address Spoke serves to the host only"}
	}
	if p.cfg.SpokeAPI != "" && norm == normHostPort(p.cfg.SpokeAPI) {
		return nil
	}
	if len(pol.AccountAllow) > 0 && !matchAllowlist(pol.AccountAllow, strings.ToLower(host), port) {
		return &Denial{Host: target, Rule: RuleAccountAllowlist, Detail: "the host is not in the account's egress allowlist"}
	}
	lh := strings.TrimSuffix(strings.ToLower(host), ".")
	if lh == "metadata.google.internal" || lh == "metadata" || lh == "instance-data" || strings.HasSuffix(lh, ".metadata.google.internal") {
		return &Denial{Host: target, Rule: RuleMetadata, Detail: "cloud metadata service"}
	}
	return nil
}

// matchAllowlist reports whether host:port matches one of the entries; an
// empty port (a name lookup) matches entries with any port.
func matchAllowlist(list []string, host, port string) bool {
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		eh, ep := e, ""
		if h, p, err := net.SplitHostPort(e); err == nil {
			eh, ep = h, p
		}
		if ep != "" && port != "" && ep != port {
			continue
		}
		if strings.HasPrefix(eh, "*.") {
			if strings.HasSuffix(host, eh[1:]) {
				return true
			}
			continue
		}
		if eh == host {
			return true
		}
	}
	return false
}

// classify returns the rule refusing addr, or "" if addr is allowed.
func (p *Proxy) classify(addr netip.Addr) (rule, detail string) {
	a := addr.Unmap()
	switch {
	case a == netip.MustParseAddr("169.254.169.254") || a == netip.MustParseAddr("fd00:ec2::254") || a == netip.MustParseAddr("100.100.100.200"):
		return RuleMetadata, "a cloud metadata address"
	case a.IsLoopback():
		return RuleLoopback, "a loopback address"
	case a.IsUnspecified():
		return RuleUnspecified, "the unspecified address"
	case a.IsLinkLocalUnicast():
		return RuleLinkLocal, "a link-local address"
	case a.IsPrivate():
		return RulePrivate, "a private address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return RuleMulticast, "a multicast address"
	}
	if err := p.guardian.SafeAddr(a); err != nil {
		return RuleSpecialPurpose, "a special-purpose address"
	}
	return "", ""
}

// Resolve applies every rule to target (host:port) under pol and returns the
// addresses that may be dialled, or the [Denial] that refuses it. It does not
// log or report the denial.
func (p *Proxy) Resolve(ctx context.Context, target string, pol Policy) ([]netip.AddrPort, error) {
	if d := p.check(target, pol); d != nil {
		return nil, d
	}
	host, portStr, _ := net.SplitHostPort(target)
	port64, _ := strconv.ParseUint(portStr, 10, 16)
	port := uint16(port64)
	norm := normHostPort(target)
	exempt := p.allow[norm] || (p.cfg.SpokeAPI != "" && norm == normHostPort(p.cfg.SpokeAPI))

	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		ips, err := p.cfg.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ip := range ips {
			addrs = append(addrs, ip.Unmap())
		}
	}
	var out []netip.AddrPort
	var first *Denial
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, port)
		if p.denied(ap) {
			if first == nil {
				first = &Denial{Host: target, Rule: RuleSpokeInternal, Detail: ap.String() + " is an address Spoke serves to the host only"}
			}
			continue
		}
		if exempt || p.allow[normHostPort(ap.String())] {
			out = append(out, ap)
			continue
		}
		if rule, detail := p.classify(a); rule != "" {
			if first == nil {
				if a.String() != strings.Trim(host, "[]") {
					detail = host + " resolves to " + a.String() + ", " + detail
				} else {
					detail = a.String() + " is " + detail
				}
				first = &Denial{Host: target, Rule: rule, Detail: detail}
			}
			continue
		}
		out = append(out, ap)
	}
	if len(out) == 0 {
		if first != nil {
			return nil, first
		}
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return out, nil
}

// dial resolves target under pol and connects to the first reachable allowed
// address. A refusal is logged, reported to pol.OnDeny and returned as a
// *Denial.
func (p *Proxy) dial(ctx context.Context, target string, pol Policy) (net.Conn, error) {
	if pol.ReadOnlyAPI && p.cfg.SpokeAPI != "" && normHostPort(target) == normHostPort(p.cfg.SpokeAPI) {
		if p.cfg.ReadOnlySpokeAPI == "" {
			d := Denial{Host: target, Rule: RuleDryRun, Detail: "this is a dry run and the server has no read-only API to offer"}
			p.deny(d, pol)
			return nil, &d
		}
		d := net.Dialer{Timeout: p.cfg.DialTimeout}
		return d.DialContext(ctx, "tcp", p.cfg.ReadOnlySpokeAPI)
	}
	if p.cfg.Redirect != "" && !(p.cfg.SpokeAPI != "" && normHostPort(target) == normHostPort(p.cfg.SpokeAPI)) {
		if d := p.check(target, pol); d != nil {
			p.deny(*d, pol)
			return nil, d
		}
		d := net.Dialer{Timeout: p.cfg.DialTimeout}
		return d.DialContext(ctx, "tcp", p.cfg.Redirect)
	}
	addrs, err := p.Resolve(ctx, target, pol)
	if err != nil {
		var d *Denial
		if errors.As(err, &d) {
			p.deny(*d, pol)
		}
		return nil, err
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	var lastErr error
	for _, ap := range addrs {
		c, err := d.DialContext(ctx, "tcp", ap.String())
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("dial %s: %w", target, lastErr)
}
