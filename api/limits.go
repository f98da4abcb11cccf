package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of serve's request limits.
const (
	// DefaultBodyTimeout is how long a request body may take to arrive:
	// MaxBodyBytes at 350 KB/s, far above what an API client needs.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultMaxConns caps open connections: a few hundred slow clients
	// hold a few hundred of them, and others are still served.
	DefaultMaxConns = 1024
)

// LimitBodies bounds how long a request body may take to arrive, with a
// read deadline on the connection from the moment the handler starts, and
// its size, with MaxBodyBytes. A body that has not arrived in time fails
// the handler's read with a timeout error (and the connection is closed
// after the answer). The deadline is lifted once the body has been read,
// because net/http's background read of an idle connection would take a
// deadline that passes during a long handler for a dead client and
// cancel the request's context.
func LimitBodies(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			// No body: no deadline (it would cut a long handler's
			// context, as above).
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if timeout > 0 && rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(func() { b.rc.SetReadDeadline(time.Time{}) })
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = &bodyTimeoutError{err}
	}
	return n, err
}

// bodyTimeoutError says a request body did not arrive in time.
type bodyTimeoutError struct{ err error }

func (e *bodyTimeoutError) Error() string {
	return "the request body did not arrive in time"
}

func (e *bodyTimeoutError) Unwrap() error { return e.err }

// LimitListener caps ln at n open connections; further connections wait
// in the kernel's accept queue until one closes. n <= 0 means no cap.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return netutil.LimitListener(ln, n)
}
