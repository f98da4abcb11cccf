package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// listPaging is HubSpot's ForwardPaging on a GET list endpoint:
// {"next": {"after": "…", "link": "https://host/path?…&after=…"}}.
type listPaging struct {
	Next pageLink `json:"next"`
}

// pageLink is HubSpot's NextPage.
type pageLink struct {
	After string `json:"after"`
	Link  string `json:"link,omitempty"`
}

// afterParam reads the after cursor of a list paged by a numeric id, 0
// when the query has none.
func afterParam(r *http.Request) (int64, error) {
	a := r.URL.Query().Get("after")
	if a == "" {
		return 0, nil
	}
	after, err := strconv.ParseInt(a, 10, 64)
	if err != nil || after < 0 {
		return 0, spoke.Invalidf("Query parameter after must be the cursor from paging.next.after, got %q.", a)
	}
	return after, nil
}

// listQuery reads the query of a GET list of records or owners: limit
// (def unless given, 1 to max), archived and the after cursor, checked in
// that order.
func listQuery(r *http.Request, def, max int) (limit int, archived bool, after int64, err error) {
	if limit, err = intParam(r, "limit", def, 1, max); err != nil {
		return
	}
	if archived, err = boolParam(r, "archived"); err != nil {
		return
	}
	after, err = afterParam(r)
	return
}

// nextPageLink returns the paging of a list whose next page starts after
// the given cursor. Its link is an absolute URL, as HubSpot sends it
// ("https://api.hubapi.com/crm/v3/objects/contacts?limit=2&after=102"):
// the request's URL with the same query parameters in the same order and
// after replaced.
func (s *Server) nextPageLink(r *http.Request, after string) *listPaging {
	var q []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "after" {
			continue
		}
		q = append(q, part)
	}
	q = append(q, "after="+url.QueryEscape(after))
	link := s.origin(r) + r.URL.EscapedPath() + "?" + strings.Join(q, "&")
	return &listPaging{Next: pageLink{After: after, Link: link}}
}

// origin is the scheme and host clients reach the API at: the request's
// own, or with TrustProxyHeaders those a reverse proxy reports in
// X-Forwarded-Proto and X-Forwarded-Host. The headers are ignored unless
// trusted, since any client can send them.
func (s *Server) origin(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.TrustProxyHeaders {
		if p := firstHeaderValue(r, "X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstHeaderValue(r, "X-Forwarded-Host"); validHost(h) {
			host = h
		}
	}
	return scheme + "://" + host
}

// firstHeaderValue is the first of a header's comma-separated values, as
// the proxy nearest the client wrote it, lower-cased for the protocol.
func firstHeaderValue(r *http.Request, name string) string {
	v, _, _ := strings.Cut(r.Header.Get(name), ",")
	v = strings.TrimSpace(v)
	if name == "X-Forwarded-Proto" {
		v = strings.ToLower(v)
	}
	return v
}

// validHost reports whether h can stand as the host[:port] of a URL.
func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/?#@\\ \t") {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h
}
