package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// searchable lists the properties the free-text query looks in, as on
// SQLite.
var searchable = map[string][]string{
	"contacts":  {"firstname", "lastname", "email", "phone", "company", "website"},
	"companies": {"name", "domain", "website", "phone"},
	"deals":     {"dealname"},
	"tickets":   {"subject", "content"},
}

// column describes how a property is compared in SQL.
type column struct {
	expr string
	kind int
	prop *spoke.Property
}

const (
	kindText   = iota // case-insensitive string comparison
	kindNumber        // numeric
	kindMillis        // a computed date column in epoch ms
	kindSorted        // canonical strings that sort like their values (date, datetime)
)

// quoteLiteral quotes s as an SQL string literal. Property names are
// validated identifiers, but quoting keeps any name safe.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// valueExpr is the SQL expression of a property's stored value.
func valueExpr(name string) string { return "(properties->>" + quoteLiteral(name) + ")" }

// numberExpr is the SQL expression of a number property's value
// (spoke_num, which reads a value that is not a number as 0).
func numberExpr(name string) string { return "spoke_num(" + valueExpr(name) + ")" }

func (db *DB) column(t spoke.ObjectType, defs map[string]*spoke.Property, name string) (column, error) {
	switch name {
	case spoke.PropObjectID:
		return column{expr: "id", kind: kindNumber}, nil
	case spoke.PropCreateDate:
		return column{expr: "created_at", kind: kindMillis}, nil
	case "lastmodifieddate", "hs_lastmodifieddate":
		return column{expr: "updated_at", kind: kindMillis}, nil
	}
	p, ok := defs[name]
	if !ok {
		return column{}, &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR",
			Message: fmt.Sprintf("There was a problem with the request. Property \"%s\" does not exist on %s.", name, t.Name),
			Context: map[string][]string{"propertyName": {name}}}
	}
	c := column{expr: valueExpr(name), kind: kindText, prop: p}
	switch p.Type {
	case spoke.TypeNumber:
		c.expr, c.kind = numberExpr(name), kindNumber
	case spoke.TypeDate, spoke.TypeDateTime:
		c.expr, c.kind = valueExpr(name)+` COLLATE "C"`, kindSorted
	}
	return c, nil
}

// arg converts a filter value to the SQL argument compared with c.
func (c column) arg(name, v string) (any, error) {
	bad := func(what string) error {
		return spoke.Invalidf("Filter on %s: %q is not a valid %s.", name, v, what)
	}
	switch c.kind {
	case kindNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, bad("number")
		}
		return f, nil
	case kindMillis:
		t, ok := spoke.ParseTime(v)
		if !ok {
			return nil, bad("date (use epoch milliseconds or ISO 8601)")
		}
		return t.UnixMilli(), nil
	case kindSorted:
		t, ok := spoke.ParseTime(v)
		if !ok {
			return nil, bad("date (use epoch milliseconds or ISO 8601)")
		}
		if c.prop.Type == spoke.TypeDate {
			return t.Format("2006-01-02"), nil
		}
		return spoke.FormatTime(t), nil
	}
	if c.prop != nil && c.prop.Type == spoke.TypeBool {
		if n, err := c.prop.NormalizeValue(v); err == nil {
			return n, nil
		}
	}
	return strings.ToLower(v), nil
}

// lhs is the expression compared with arg: lower-cased for text.
func (c column) lhs() string {
	if c.kind == kindText {
		return "lower(" + c.expr + ")"
	}
	return c.expr
}

// params numbers a query's arguments as $1, $2, ...
type params struct{ args []any }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// castFor names the type a parameter compared with c must have, so
// PostgreSQL does not have to guess it.
func (c column) cast() string {
	switch c.kind {
	case kindNumber:
		return "::float8"
	case kindMillis:
		return "::bigint"
	}
	return "::text"
}

// tokenRegexp is CONTAINS_TOKEN's pattern with * as a wildcard, as a
// regular expression anchored on a whole word (or the whole value).
func tokenRegexp(pattern string) string {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "^" + strings.Join(parts, ".*") + "$"
}

// tokenSQL is CONTAINS_TOKEN as SQL, with the SQLite store's semantics:
// the lower-cased, trimmed pattern matches the whole value or one of its
// words (split on whitespace, or, without a wildcard, on anything but
// letters and digits); * matches any run of characters. Without a
// wildcard that is `spoke_tokens(value) @> ARRAY[pattern]`, which a token
// index of the property answers (search_index.go). With one, a word must
// match the pattern's regular expression; the words the pattern implies
// whole (guaranteedTokens) are required first, so that the index narrows
// the rows the expression is tried on. Its value is NULL when the property
// has none.
func tokenSQL(expr string, pattern string, p *params) string {
	pattern = strings.ToLower(strings.TrimSpace(pattern))
	if pattern == "" {
		return "false"
	}
	if !strings.Contains(pattern, "*") {
		return "spoke_tokens(" + expr + ") @> ARRAY[" + p.add(pattern) + "::text]"
	}
	v := "lower(" + expr + ")"
	re := p.add(tokenRegexp(pattern))
	match := "(" + v + " ~ " + re + " OR EXISTS (SELECT 1 FROM regexp_split_to_table(" + v + `, '\s+') w WHERE w ~ ` + re + "))"
	if words := guaranteedTokens(pattern); len(words) > 0 {
		return "(spoke_tokens(" + expr + ") @> " + p.add(words) + "::text[] AND " + match + ")"
	}
	return match
}

// guaranteedTokens returns the runs of letters and digits of a wildcard
// pattern that any word it matches must contain whole: a run of a literal
// part bounded on both sides by a character that is not a letter or digit,
// or by the start or end of the pattern. (A run next to a * may be part of
// a longer run in the value.) Such a run is then one of the value's
// spoke_tokens. Only ASCII letters and digits count, and a run touching any
// other byte above ASCII is skipped, so that PostgreSQL's [:alnum:] (which
// depends on the database's locale) cannot disagree.
func guaranteedTokens(pattern string) []string {
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	var out []string
	seen := map[string]bool{}
	parts := strings.Split(pattern, "*")
	for pi, part := range parts {
		for i := 0; i < len(part); {
			if !isAlnum(part[i]) {
				i++
				continue
			}
			j := i
			for j < len(part) && isAlnum(part[j]) {
				j++
			}
			// Bounded before: the pattern's start, or a literal ASCII
			// character that is not a letter or digit.
			before := (i == 0 && pi == 0) || (i > 0 && part[i-1] < 0x80)
			after := (j == len(part) && pi == len(parts)-1) || (j < len(part) && part[j] < 0x80)
			if before && after && !seen[part[i:j]] {
				seen[part[i:j]] = true
				out = append(out, part[i:j])
			}
			i = j
		}
	}
	return out
}

func (db *DB) filterSQL(t spoke.ObjectType, defs map[string]*spoke.Property, f spoke.Filter, p *params) (string, error) {
	c, err := db.column(t, defs, f.PropertyName)
	if err != nil {
		return "", err
	}
	one := func() (any, error) { return c.arg(f.PropertyName, f.Value) }
	op := strings.ToUpper(f.Operator)
	cmp := map[string]string{"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
	switch op {
	case "EQ", "LT", "LTE", "GT", "GTE":
		v, err := one()
		if err != nil {
			return "", err
		}
		if op == "EQ" && f.PropertyName == t.UniqueProperty {
			return "unique_value = " + p.add(v), nil
		}
		return c.lhs() + " " + cmp[op] + " " + p.add(v) + c.cast(), nil
	case "NEQ":
		v, err := one()
		if err != nil {
			return "", err
		}
		return "(" + c.expr + " IS NULL OR " + c.lhs() + " != " + p.add(v) + c.cast() + ")", nil
	case "BETWEEN":
		lo, err := one()
		if err != nil {
			return "", err
		}
		hi, err := c.arg(f.PropertyName, f.HighValue)
		if err != nil {
			return "", err
		}
		return c.lhs() + " BETWEEN " + p.add(lo) + c.cast() + " AND " + p.add(hi) + c.cast(), nil
	case "IN", "NOT_IN":
		vals := f.Values
		if len(vals) == 0 {
			return "", spoke.Invalidf("Filter %s on %s needs a non-empty values list.", op, f.PropertyName)
		}
		if len(vals) > spoke.MaxFilterValues {
			return "", spoke.Invalidf("Filter %s on %s has %d values (at most %d).", op, f.PropertyName, len(vals), spoke.MaxFilterValues)
		}
		marks := make([]string, len(vals))
		for i, v := range vals {
			a, err := c.arg(f.PropertyName, v)
			if err != nil {
				return "", err
			}
			marks[i] = p.add(a) + c.cast()
		}
		if op == "IN" {
			return c.lhs() + " IN (" + strings.Join(marks, ", ") + ")", nil
		}
		return "(" + c.expr + " IS NULL OR " + c.lhs() + " NOT IN (" + strings.Join(marks, ", ") + "))", nil
	case "HAS_PROPERTY":
		if c.prop != nil {
			// The key exists: served by the GIN index on properties.
			return "properties ? " + quoteLiteral(f.PropertyName), nil
		}
		return c.expr + " IS NOT NULL", nil
	case "NOT_HAS_PROPERTY":
		if c.prop != nil {
			return "NOT (properties ? " + quoteLiteral(f.PropertyName) + ")", nil
		}
		return c.expr + " IS NULL", nil
	case "CONTAINS_TOKEN":
		// No coalesce: a NULL (no value) excludes the row as false does,
		// and the bare condition is one the token index can answer.
		return tokenSQL(c.expr, f.Value, p), nil
	case "NOT_CONTAINS_TOKEN":
		return "NOT coalesce(" + tokenSQL(c.expr, f.Value, p) + ", false)", nil
	}
	return "", spoke.Invalidf("Unknown filter operator %q on %s; use one of EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN.", f.Operator, f.PropertyName)
}

// sortMatchesMax is the most matches a search sorts itself rather than
// letting the planner choose (see SearchRecords).
const sortMatchesMax = 20000

// SearchRecords implements spoke.RecordService, with the SQLite store's
// limits and semantics.
func (db *DB) SearchRecords(ctx context.Context, account int64, objectType string, req spoke.SearchRequest) (*spoke.SearchResult, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return nil, err
	}
	if req.Limit == 0 {
		req.Limit = spoke.DefaultPageLimit
	}
	switch {
	case req.Limit < 0 || req.Limit > spoke.MaxSearchLimit:
		return nil, spoke.Invalidf("limit must be between 1 and %d, got %d.", spoke.MaxSearchLimit, req.Limit)
	case req.After < 0:
		return nil, spoke.Invalidf("after must not be negative.")
	case len(req.FilterGroups) > spoke.MaxFilterGroups:
		return nil, spoke.Invalidf("Too many filterGroups: %d (at most %d).", len(req.FilterGroups), spoke.MaxFilterGroups)
	case len(req.Sorts) > spoke.MaxSorts:
		return nil, spoke.Invalidf("Too many sorts: %d (at most %d).", len(req.Sorts), spoke.MaxSorts)
	case len(req.Query) > spoke.MaxSearchQuery:
		return nil, spoke.Invalidf("query is %d characters long (at most %d).", len(req.Query), spoke.MaxSearchQuery)
	}
	p := &params{}
	// The object type is a literal, so the planner can use the partial
	// value indexes (valueIndexSQL), as on SQLite.
	where := []string{"account_id = " + p.add(account), "object_type = " + quoteLiteral(t.Name), "NOT archived"}
	var groups []string
	for gi, g := range req.FilterGroups {
		if len(g.Filters) > spoke.MaxGroupFilters {
			return nil, spoke.Invalidf("filterGroups[%d] has %d filters (at most %d).", gi, len(g.Filters), spoke.MaxGroupFilters)
		}
		var conds []string
		for _, f := range g.Filters {
			s, err := db.filterSQL(t, defs, f, p)
			if err != nil {
				return nil, err
			}
			conds = append(conds, s)
			c, _ := db.column(t, defs, f.PropertyName)
			if c.prop != nil && !c.prop.HubspotDefined && (c.kind == kindNumber || c.kind == kindSorted) {
				// Built after its property's commit; a process that
				// stopped before building it left it to the searches.
				db.wantValueIndex(t.Name, c.prop)
			}
			if c.kind == kindText && c.prop != nil && c.prop.Type != spoke.TypeBool {
				switch strings.ToUpper(f.Operator) {
				case "CONTAINS_TOKEN":
					db.wantTokenIndex(account, t.Name, f.PropertyName)
				case "EQ", "IN":
					// EQ on the unique property uses unique_value.
					if !(strings.EqualFold(f.Operator, "EQ") && f.PropertyName == t.UniqueProperty) {
						db.wantEqIndex(account, t.Name, f.PropertyName)
					}
				}
			}
		}
		if len(conds) > 0 {
			groups = append(groups, "("+strings.Join(conds, " AND ")+")")
		}
	}
	if len(p.args) > spoke.MaxFilterArgs {
		return nil, spoke.Invalidf("The filters hold %d values in all (at most %d).", len(p.args), spoke.MaxFilterArgs)
	}
	if len(groups) > 0 {
		where = append(where, "("+strings.Join(groups, " OR ")+")")
	}
	if q := strings.TrimSpace(req.Query); q != "" {
		var ors []string
		lq := p.add(strings.ToLower(q))
		for _, name := range searchable[t.Name] {
			ors = append(ors, "strpos(lower("+valueExpr(name)+"), "+lq+") > 0")
		}
		ors = append(ors, "id::text = "+p.add(q))
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	cond := strings.Join(where, " AND ")
	type sortKey struct {
		expr, dir string
		number    bool
	}
	var keys []sortKey
	for _, s := range req.Sorts {
		c, err := db.column(t, defs, s.PropertyName)
		if err != nil {
			return nil, err
		}
		// SQLite puts missing values first when ascending; so does this.
		dir := " ASC NULLS FIRST"
		if s.Descending {
			dir = " DESC NULLS LAST"
		}
		keys = append(keys, sortKey{c.lhs(), dir, c.kind == kindNumber || c.kind == kindMillis})
		if c.kind == kindText && c.prop != nil && c.prop.Type != spoke.TypeBool {
			db.wantEqIndex(account, t.Name, s.PropertyName)
		}
	}
	keys = append(keys, sortKey{"id", " ASC", true})
	// A search is planned for its values each time (an unnamed statement)
	// instead of with a prepared statement's generic plan: the values
	// decide which index pays. Planned for any value, `score > 998 ORDER
	// BY id LIMIT 100` walked the whole type in id order looking for the
	// 0.1% that match (80 ms at 100,000 contacts instead of 1).
	args := append([]any{pgx.QueryExecModeCacheDescribe}, p.args...)
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, fmt.Errorf("count %s: %w", t.Name, err)
	}
	res := &spoke.SearchResult{Total: total}
	if req.After >= total {
		return res, nil
	}
	// With few matches, the page is sorted from them, which the filters'
	// indexes find: each sort key is wrapped (+ 0, || '') so that no index
	// can give its order. Otherwise the planner may walk the type in
	// id (or a value index's) order, testing every record on the way, when
	// it guesses more matches than there are: `score BETWEEN 100 AND 109`,
	// 1% of the contacts, read 9,000 records that way (23 ms at 100,000
	// contacts) against 1,000 from the value index. With many matches,
	// walking is the right plan and is left to the planner.
	order := make([]string, len(keys))
	for i, k := range keys {
		switch {
		case total > sortMatchesMax:
			order[i] = k.expr + k.dir
		case k.number:
			order[i] = "(" + k.expr + " + 0)" + k.dir
		default:
			order[i] = "(" + k.expr + " || '')" + k.dir
		}
	}
	limit, offset := p.add(req.Limit), p.add(req.After)
	args = append([]any{pgx.QueryExecModeCacheDescribe}, p.args...)
	rows, err := db.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE `+cond+` ORDER BY `+strings.Join(order, ", ")+` LIMIT `+limit+` OFFSET `+offset, args...)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", t.Name, err)
	}
	if res.Records, err = collectRecords(rows); err != nil {
		return nil, err
	}
	if next := req.After + len(res.Records); next < total {
		res.Next = next
	}
	return res, nil
}

// valueIndexSQL returns the statements creating the partial expression
// index that serves range filters and sorts on a number, date or datetime
// property, and statistics on its expression (exprStatsSQL), or "" for
// other types. It runs at startup for the built-in properties; a custom
// property's is built in the background (wantValueIndex).
func valueIndexSQL(objectType string, p *spoke.Property) string {
	name, expr, ok := valueIndex(objectType, p)
	if !ok {
		return ""
	}
	return valueIndexCreate(name, objectType, expr, false) + "; " + exprStatsSQL(name, expr)
}

// valueIndex returns the name and expression of a property's value
// index, and false for a type that has none.
func valueIndex(objectType string, p *spoke.Property) (name, expr string, ok bool) {
	switch p.Type {
	case spoke.TypeNumber:
		expr = numberExpr(p.Name)
	case spoke.TypeDate, spoke.TypeDateTime:
		expr = valueExpr(p.Name) + ` COLLATE "C"`
	default:
		return "", "", false
	}
	return strings.ReplaceAll("records_value_"+objectType+"_"+p.Name, `"`, ``), expr, true
}

// valueIndexCreate is the CREATE INDEX of a value index, CONCURRENTLY
// (which cannot run in a transaction) or not.
func valueIndexCreate(name, objectType, expr string, concurrently bool) string {
	how := ""
	if concurrently {
		how = "CONCURRENTLY "
	}
	return fmt.Sprintf(`CREATE INDEX %sIF NOT EXISTS "%s" ON records ((%s)) WHERE object_type = %s AND NOT archived`,
		how, name, expr, quoteLiteral(objectType))
}

// exprStatsSQL creates statistics on an indexed expression, named after
// its index. The planner takes no statistics from a partial index, so
// without them it guessed that a third of the records pass `score > 998`
// and that 0.5% hold a token: it then walked the records in id order
// looking for the few that match (80 ms at 100,000 contacts instead of
// 0.3). ANALYZE (autovacuum's, or grew's after bulk growth) fills them.
func exprStatsSQL(index, expr string) string {
	return fmt.Sprintf(`CREATE STATISTICS IF NOT EXISTS "%s" ON (%s) FROM records`, index+"_stats", expr)
}
