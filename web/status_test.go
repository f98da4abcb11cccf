package web

import (
	"errors"
	"net/http"
	"testing"

	"github.com/spokehq/spoke"
)

// TestErrorStatus checks the status and words of a page that failed: the
// store's error codes map as the API maps them, and a database that is
// down says so (503) rather than failing as Spoke's bug (500).
func TestErrorStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err    error
		status int
		msg    string
	}{
		{spoke.DatabaseUnavailable(errors.New("dial unix: no such file")), http.StatusServiceUnavailable, "The database is unavailable; retry shortly."},
		{spoke.NotFoundf("No flow 7."), http.StatusNotFound, "No flow 7."},
		{spoke.Invalidf("Bad."), http.StatusBadRequest, "Bad."},
		{errors.New("disk I/O error"), http.StatusInternalServerError, ""},
	} {
		if got := status(c.err); got != c.status {
			t.Errorf("status(%v) = %d, want %d", c.err, got, c.status)
		}
		if c.msg != "" && message(c.err) != c.msg {
			t.Errorf("message(%v) = %q, want %q", c.err, message(c.err), c.msg)
		}
	}
}
