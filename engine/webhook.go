package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox/egress"
)

// WebhookClient returns an HTTP client whose connections go through the
// egress proxy's rules (SSRF guard, operator allowlist), like sandboxed
// code's.
func WebhookClient(p *egress.Proxy) *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.DialContext(ctx, network, addr, egress.Policy{})
		},
		MaxIdleConnsPerHost: 16,
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// runWebhook sends the enrolled record to the action's URL. 429 and 5xx
// answers are retried like rate-limited code; other 4xx fail the action.
func (e *Engine) runWebhook(ctx context.Context, f *spoke.Flow, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	u, err := url.Parse(act.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: fmt.Sprintf("webhookUrl %q is not an http(s) URL.", act.WebhookURL)}
		return
	}
	q := u.Query()
	for _, p := range act.QueryParams {
		v, aerr := e.resolve(&p.Value, en, rec, t)
		if aerr != nil {
			o.err = aerr
			return
		}
		q.Set(p.Name, v)
	}
	u.RawQuery = q.Encode()
	method := strings.ToUpper(act.Method)
	if method == "" {
		method = http.MethodPost
	}
	props := map[string]string{}
	for k, v := range rec.Properties {
		props[k] = v
	}
	for _, n := range []string{spoke.PropObjectID, spoke.PropCreateDate, t.LastModifiedProperty} {
		props[n], _ = rec.Value(t, n)
	}
	body, _ := json.Marshal(map[string]any{
		"objectId": rec.ID, "objectType": objectTypeName(t), "properties": props,
		"origin": map[string]any{"portalId": en.AccountID, "flowId": f.ID, "actionId": act.ActionID, "enrollmentId": en.ID},
	})
	var rd io.Reader
	if method != http.MethodGet && method != http.MethodDelete {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Spoke-Webhooks/1.0")
	// The receiver can tell a delivery repeated after a crash from a new
	// one (draft-ietf-httpapi-idempotency-key-header).
	req.Header.Set("Idempotency-Key", idempotencyKey(f, en, act))
	o.exec.Inputs = map[string]any{"method": method, "url": u.String()}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		var d *egress.Denial
		if errors.As(err, &d) {
			o.err = &spoke.ActionError{Type: "EGRESS_DENIED", Message: d.Error()}
			return
		}
		o.err = &spoke.ActionError{Type: "WEBHOOK_FAILED", Message: err.Error()}
		// A name that does not exist or a certificate that does not verify
		// will not fix itself within the retries: fail now, so the flow's
		// owner sees it. Refused connections and timeouts are retried.
		o.retryable = !permanentWebhookError(err)
		return
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	o.exec.Outputs = map[string]any{"status": resp.StatusCode}
	o.exec.Logs = fmt.Sprintf("%s %s -> %d\n%s", method, u.Redacted(), resp.StatusCode, snippet)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		o.err = &spoke.ActionError{Type: string("RATE_LIMITED"), Message: fmt.Sprintf("The webhook answered %d; it will be retried.", resp.StatusCode)}
		o.retryable = true
	case resp.StatusCode >= 400:
		o.err = &spoke.ActionError{Type: "WEBHOOK_FAILED", Message: fmt.Sprintf("The webhook answered %d.", resp.StatusCode)}
	}
}

// permanentWebhookError reports whether a webhook's transport error is a
// configuration error (unknown host, TLS certificate) rather
// than a transient one.
func permanentWebhookError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsNotFound
	}
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}
