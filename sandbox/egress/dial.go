package egress

import (
	"context"
	"net"
)

// DialContext dials target (host:port) under the proxy's rules and pol,
// for host-side requests that must obey the same egress policy as
// sandboxed code, such as workflow webhooks. A refused target returns a
// *Denial error.
func (p *Proxy) DialContext(ctx context.Context, network, target string, pol Policy) (net.Conn, error) {
	return p.dial(ctx, target, pol)
}
