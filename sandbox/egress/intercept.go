package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// intercepts reports whether the proxy sends connections to host to Spoke's
// API rather than to host.
func (p *Proxy) intercepts(host string) bool {
	if p.cfg.CA == nil || p.cfg.SpokeAPI == "" {
		return false
	}
	return slices.Contains(HubSpotHosts, strings.TrimSuffix(strings.ToLower(host), "."))
}

// spokeScheme is the scheme of the API that pol's connections to Spoke reach.
func (p *Proxy) spokeScheme(pol Policy) string {
	if p.cfg.SpokeAPITLS && !pol.ReadOnlyAPI {
		return "https"
	}
	return "http"
}

// bufferedConn is a connection whose first bytes were already read into a
// bufio.Reader (the client may send its TLS hello right after CONNECT).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// intercept serves a CONNECT to one of HubSpotHosts: it answers as that host
// with a certificate signed by the proxy's CA, and relays each HTTP request
// inside, headers untouched, to Spoke's API.
func (l *Listener) intercept(c net.Conn, br *bufio.Reader, host string, pol Policy) {
	p := l.proxy
	target := net.JoinHostPort(host, "443")
	if pol.ReadOnlyAPI && p.cfg.ReadOnlySpokeAPI == "" {
		// Refuse before the tunnel opens, so that the code sees the
		// proxy's 403 rather than a TLS failure.
		d := Denial{Host: target, Rule: RuleDryRun, Detail: "this is a dry run and the server has no read-only API to offer"}
		p.deny(d, pol)
		writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
		return
	}
	// Reach Spoke's API before answering, so that an API that is down
	// fails the CONNECT as it would for any host (a connection error,
	// not an HTTP 502 the code would take for a rate limit).
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.DialTimeout)
	first, err := p.dial(ctx, p.cfg.SpokeAPI, pol)
	cancel()
	if err != nil {
		var d *Denial
		if errors.As(err, &d) {
			writeStatus(c, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
			return
		}
		writeStatus(c, http.StatusBadGateway, fmt.Sprintf("egress proxy: Spoke's API for %s: %v\n", target, err), nil)
		return
	}
	var firstUsed atomic.Bool
	defer func() {
		if !firstUsed.Load() {
			first.Close()
		}
	}()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	tc := tls.Server(&bufferedConn{Conn: c, r: br}, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			// A client that sends no SNI (or another name) still gets the
			// certificate of the host it asked the proxy for.
			return p.cfg.CA.Leaf(host)
		},
	})
	defer tc.Close()
	c.SetDeadline(time.Now().Add(p.cfg.DialTimeout))
	if err := tc.Handshake(); err != nil {
		p.log.Debug("egress: TLS handshake with sandboxed code failed", "host", target, "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	scheme := p.spokeScheme(pol)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if firstUsed.CompareAndSwap(false, true) {
				return first, nil
			}
			return p.dial(ctx, p.cfg.SpokeAPI, pol)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 2,
	}
	defer tr.CloseIdleConnections()
	tbr := bufio.NewReader(tc)
	for {
		req, err := http.ReadRequest(tbr)
		if err != nil {
			return
		}
		req.URL.Scheme = scheme
		req.URL.Host = p.cfg.SpokeAPI
		req.RequestURI = ""
		// req.Host stays the name the code used, and every header the code
		// set (Authorization first of all) goes through as it is.
		resp, err := tr.RoundTrip(req)
		if err != nil {
			var d *Denial
			if errors.As(err, &d) {
				writeStatus(tc, http.StatusForbidden, d.Error()+"\n", map[string]string{DeniedHeader: "EGRESS_DENIED"})
				return
			}
			writeStatus(tc, http.StatusBadGateway, fmt.Sprintf("egress proxy: Spoke's API for %s: %v\n", host, err), nil)
			return
		}
		// One flush per response, so that a small answer leaves in one
		// TLS record rather than a record per header block and body chunk.
		bw := bufio.NewWriterSize(tc, 16<<10)
		werr := resp.Write(bw)
		if werr == nil {
			werr = bw.Flush()
		}
		resp.Body.Close()
		if werr != nil || resp.Close || req.Close {
			return
		}
	}
}
