package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// user is what the layout knows of the signed-in token.
type user struct {
	sess *session
}

// Can reports whether the token has scope, to show or hide what it
// cannot use.
func (u user) Can(scope string) bool { return u.sess != nil && u.sess.token.HasScope(scope) }

// CSRF is the token the page's forms and scripts send back.
func (u user) CSRF() string {
	if u.sess == nil {
		return ""
	}
	return u.sess.csrf
}

// Name names the token.
func (u user) Name() string {
	if u.sess == nil {
		return ""
	}
	return u.sess.token.Name
}

var funcs = template.FuncMap{
	// when renders a time for the browser to show in its own zone; the
	// text inside is UTC for a browser without scripts.
	"when": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`, t.UTC().Format(time.RFC3339Nano), t.UTC().Format("2006-01-02 15:04:05 UTC")))
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	// pct100 is a share as a percentage for a form field: 0.2 → "20".
	"pct100": func(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) },
	"ms": func(f float64) string {
		if f >= 1000 {
			return fmt.Sprintf("%.2f s", f/1000)
		}
		return fmt.Sprintf("%.0f ms", f)
	},
	"mb": func(b int64) string {
		if b == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	},
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
	"add64": func(a, b int64) int64 { return a + b },
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	},
	"jsonAttr": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"typeLabel": typeLabel,
	"lower":     strings.ToLower,
	"statusClass": func(s string) string {
		switch s {
		case "SUCCESS", spoke.EnrollmentCompleted:
			return "ok"
		case "ERROR", spoke.EnrollmentFailed:
			return "bad"
		case spoke.EnrollmentCancelled, spoke.EnrollmentUnenrolled, "SKIPPED":
			return "off"
		}
		return "wait"
	},
	// spokeFailure reports whether an error type is one of Spoke's own
	// failures (its sandbox or store), which the engine retries, rather
	// than the workflow's.
	"spokeFailure": func(typ string) bool {
		switch typ {
		case "SANDBOX_UNAVAILABLE", "STORE_UNAVAILABLE":
			return true
		}
		return false
	},
	"waitLabel": func(w string) string {
		switch w {
		case spoke.WaitDelay:
			return "waiting for a delay"
		case spoke.WaitRetry:
			return "waiting to retry"
		case spoke.WaitQuota:
			return "waiting for quota"
		}
		return strings.ToLower(w)
	},
	"add":  func(a, b int) int { return a + b },
	"list": func(v ...string) []string { return v },
}

// objectTypes are the CRM objects the UI shows, in menu order.
var objectTypes = []string{"contacts", "companies", "deals", "tickets"}

func typeLabel(name string) string {
	if t, ok := spoke.LookupObjectType(name); ok {
		name = t.Name
	}
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// parsePages parses each page with the layout.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		pages[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return pages
}

// render writes a page. data's "Title" names it; the layout gets the
// signed-in user and the object types for the menu.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, code int, page string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = user{sess}
	data["ObjectTypes"] = objectTypes
	data["Path"] = r.URL.Path
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.Logger.Error("render page", "page", page, "err", err)
		http.Error(w, "The page could not be drawn; the error is in Spoke's log.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	buf.WriteTo(w)
}
