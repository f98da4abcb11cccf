package egress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ResolvePath is the origin-form path of a name lookup over the proxy's
// socket: "GET /.spoke/resolve?name=example.com HTTP/1.1". The answer is a
// 200 with {"addresses":["93.184.215.14",...]}, a 404 with {"error":...}
// when the name does not exist, or the proxy's 403 refusal. The sandbox's
// runtimes answer dns.lookup and socket.getaddrinfo with it, since the
// sandbox has no resolver of its own.
const ResolvePath = "/.spoke/resolve"

// RedirectAddr is the answer to every name lookup under Config.Redirect.
var RedirectAddr = netip.MustParseAddr("192.0.2.1")

// ResolveAnswer is the body of a successful lookup.
type ResolveAnswer struct {
	Addresses []string `json:"addresses"`
}

// resolve answers one lookup request.
func (l *Listener) resolve(c net.Conn, req *http.Request, pol Policy) {
	name := req.URL.Query().Get("name")
	ctx, cancel := context.WithTimeout(context.Background(), l.proxy.cfg.DialTimeout)
	addrs, err := l.proxy.LookupName(ctx, name, pol)
	cancel()
	if err != nil {
		var d *Denial
		if errors.As(err, &d) {
			l.proxy.deny(*d, pol)
			writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
			return
		}
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		writeJSON(c, http.StatusNotFound, b)
		return
	}
	ans := ResolveAnswer{Addresses: make([]string, len(addrs))}
	for i, a := range addrs {
		ans.Addresses[i] = a.String()
	}
	b, _ := json.Marshal(ans)
	writeJSON(c, http.StatusOK, b)
}

func writeJSON(c net.Conn, code int, body []byte) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", code, http.StatusText(code), len(body), body)
}

// LookupName resolves name for sandboxed code under the same rules as a
// connection: the account's allowlist (by name, whatever the port), the
// metadata names, and the refused address ranges, whose addresses are left
// out of the answer. Names an operator allows (Config.Allow, any port) and
// Spoke's API host answer in full. A name with no allowed address is refused
// with a *Denial naming the first refused one.
func (p *Proxy) LookupName(ctx context.Context, name string, pol Policy) ([]netip.Addr, error) {
	host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if host == "" || strings.ContainsAny(host, " /:[]") {
		return nil, &Denial{Host: name, Rule: RuleBadTarget, Detail: "not a host name"}
	}
	exempt := p.spokeHost(host) || p.allowedName(host) || p.intercepts(host)
	if !exempt && len(pol.AccountAllow) > 0 && !matchAllowlist(pol.AccountAllow, host, "") {
		return nil, &Denial{Host: host, Rule: RuleAccountAllowlist, Detail: "the host is not in the account's egress allowlist"}
	}
	if d := p.check(net.JoinHostPort(host, "0"), Policy{}); d != nil && d.Rule == RuleMetadata {
		d.Host = host
		return nil, d
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else if p.cfg.Redirect != "" && !exempt {
		// Every connection goes to the redirect server whatever the
		// address, so no name leaves the machine: answer with an address
		// of TEST-NET-1 (RFC 5737).
		return []netip.Addr{RedirectAddr}, nil
	} else {
		ips, err := p.cfg.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ip := range ips {
			addrs = append(addrs, ip.Unmap())
		}
	}
	if exempt {
		return addrs, nil
	}
	var out []netip.Addr
	var first *Denial
	for _, a := range addrs {
		if rule, detail := p.classify(a); rule != "" {
			if first == nil {
				first = &Denial{Host: host, Rule: rule, Detail: host + " resolves to " + a.String() + ", " + detail}
			}
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		if first != nil {
			return nil, first
		}
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return out, nil
}

// spokeHost reports whether host is the host of Spoke's API.
func (p *Proxy) spokeHost(host string) bool {
	if p.cfg.SpokeAPI == "" {
		return false
	}
	h, _, err := net.SplitHostPort(normHostPort(p.cfg.SpokeAPI))
	return err == nil && h == host
}

// allowedName reports whether an operator allows host on some port.
func (p *Proxy) allowedName(host string) bool {
	for hp := range p.allow {
		if h, _, err := net.SplitHostPort(hp); err == nil && h == host {
			return true
		}
	}
	return false
}
