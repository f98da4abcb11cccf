package api

import (
	"net/http"
	"net/url"
	"strings"
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
