package engine

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPermanentWebhookError checks which transport failures of a webhook
// fail the enrollment at once and which are retried, with the errors a
// real client returns.
func TestPermanentWebhookError(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()

	get := func(url string) error {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return errors.New("no error")
		}
		return err
	}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"certificate of an unknown authority", get(tlsSrv.URL), true},
		{"no such host", fmt.Errorf("dial: %w", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}), true},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}, false},
		{"connection refused", get(closedURL), false},
	} {
		if got := permanentWebhookError(tc.err); got != tc.permanent {
			t.Errorf("%s (%v): permanent = %v, want %v", tc.name, tc.err, got, tc.permanent)
		}
	}
}
