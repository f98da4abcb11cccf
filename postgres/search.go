package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
// letters and digits); * matches any run of characters.
func tokenSQL(expr string, pattern string, p *params) string {
	pattern = strings.ToLower(strings.TrimSpace(pattern))
	if pattern == "" {
		return "false"
	}
	v := "lower(" + expr + ")"
	if strings.Contains(pattern, "*") {
		re := p.add(tokenRegexp(pattern))
		return "(" + v + " ~ " + re + " OR EXISTS (SELECT 1 FROM regexp_split_to_table(" + v + `, '\s+') w WHERE w ~ ` + re + "))"
	}
	x := p.add(pattern)
	return "(" + v + " = " + x + " OR " + x + ` = ANY(regexp_split_to_array(` + v + `, '[^[:alnum:]]+')) OR ` + x + ` = ANY(regexp_split_to_array(` + v + `, '\s+')))`
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
		return "coalesce(" + tokenSQL(c.expr, f.Value, p) + ", false)", nil
	case "NOT_CONTAINS_TOKEN":
		return "NOT coalesce(" + tokenSQL(c.expr, f.Value, p) + ", false)", nil
	}
	return "", spoke.Invalidf("Unknown filter operator %q on %s; use one of EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN.", f.Operator, f.PropertyName)
}

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
	var order []string
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
		order = append(order, c.lhs()+dir)
	}
	order = append(order, "id ASC")
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE `+cond, p.args...).Scan(&total); err != nil {
		return nil, fmt.Errorf("count %s: %w", t.Name, err)
	}
	res := &spoke.SearchResult{Total: total}
	if req.After >= total {
		return res, nil
	}
	limit, offset := p.add(req.Limit), p.add(req.After)
	rows, err := db.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE `+cond+` ORDER BY `+strings.Join(order, ", ")+` LIMIT `+limit+` OFFSET `+offset, p.args...)
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

// valueIndexSQL returns the statement creating the partial expression
// index that serves range filters and sorts on a number, date or datetime
// property, or "" for other types.
func valueIndexSQL(objectType string, p *spoke.Property) string {
	var expr string
	switch p.Type {
	case spoke.TypeNumber:
		expr = numberExpr(p.Name)
	case spoke.TypeDate, spoke.TypeDateTime:
		expr = valueExpr(p.Name) + ` COLLATE "C"`
	default:
		return ""
	}
	name := "records_value_" + objectType + "_" + p.Name
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON records ((%s)) WHERE object_type = %s AND NOT archived`,
		strings.ReplaceAll(name, `"`, ``), expr, quoteLiteral(objectType))
}
