package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// cookieName holds a session id; the token itself never leaves the server.
const cookieName = "spoke_session"

// sessionTTL is how long a session lasts without use.
const sessionTTL = 12 * time.Hour

// session is a signed-in browser: the private-app token it signed in with
// and the CSRF token its pages carry.
type session struct {
	id      string
	secret  string // the token's secret, sent to the API in-process
	token   *spoke.Token
	csrf    string
	expires time.Time
}

// checkCSRF reports whether r carries the session's CSRF token, in the
// X-CSRF-Token header (scripts) or the csrf form field (forms), and did
// not come from another site.
func (s *session) checkCSRF(r *http.Request) bool {
	if !sameOrigin(r) {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// sameOrigin refuses a request whose Origin (or, failing that, the
// browser's Sec-Fetch-Site) says another site sent it.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin" || site == "none"
}

// sessions keeps the signed-in sessions in memory: a restart signs
// everyone out, which costs a paste of the token.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	now  func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, now: now}
}

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// start creates a session for a token and sets its cookie.
func (ss *sessions) start(w http.ResponseWriter, r *http.Request, secret string, tok *spoke.Token) *session {
	sess := &session{id: randomID(), secret: secret, token: tok, csrf: randomID(), expires: ss.now().Add(sessionTTL)}
	ss.mu.Lock()
	now := ss.now()
	for id, old := range ss.byID {
		if now.After(old.expires) {
			delete(ss.byID, id)
		}
	}
	ss.byID[sess.id] = sess
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sess.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return sess
}

// get returns the request's live session, extending it, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess := ss.byID[c.Value]
	if sess == nil {
		return nil
	}
	if ss.now().After(sess.expires) {
		delete(ss.byID, c.Value)
		return nil
	}
	sess.expires = ss.now().Add(sessionTTL)
	return sess
}

// end deletes a session and its cookie.
func (ss *sessions) end(w http.ResponseWriter, sess *session) {
	ss.mu.Lock()
	delete(ss.byID, sess.id)
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if s.sessions.get(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	// A fresh sign-in lands on "/", which picks the first page the token
	// may see, unless it was sent here from a page.
	s.render(w, r, nil, http.StatusOK, "signin.html", map[string]any{"Title": "Sign in", "Next": safeNext(r.URL.Query().Get("next"))})
}

// signIn checks the pasted token. The form has no session yet, so login
// CSRF is refused by origin: a cross-site form cannot sign a browser in.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	data := map[string]any{"Title": "Sign in", "Next": next}
	if !sameOrigin(r) {
		data["Error"] = "This sign-in form did not come from Spoke's own page."
		s.render(w, r, nil, http.StatusForbidden, "signin.html", data)
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	if secret == "" {
		data["Error"] = "Paste a private-app token (make run prints the admin token)."
		s.render(w, r, nil, http.StatusBadRequest, "signin.html", data)
		return
	}
	tok, err := s.Tokens.Authenticate(r.Context(), secret)
	if err != nil {
		code := status(err)
		data["Error"] = "That token is not valid for this Spoke."
		if code >= 500 {
			s.Logger.Error("sign in", "err", err)
			data["Error"] = message(err)
		}
		s.render(w, r, nil, http.StatusUnauthorized, "signin.html", data)
		return
	}
	s.sessions.start(w, r, secret, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.sessions.end(w, sess)
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in redirect on the UI's own pages.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/"
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
