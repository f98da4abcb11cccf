package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"modernc.org/sqlite"

	"github.com/spokehq/spoke"
)

// Search limits: spoke's, named here for this package's callers.
const (
	MaxSearchLimit   = spoke.MaxSearchLimit
	MaxFilterGroups  = spoke.MaxFilterGroups
	MaxGroupFilters  = spoke.MaxGroupFilters
	MaxSearchQuery   = spoke.MaxSearchQuery
	MaxFilterValues  = spoke.MaxFilterValues
	MaxFilterArgs    = spoke.MaxFilterArgs
	MaxSorts         = spoke.MaxSorts
	DefaultPageLimit = spoke.DefaultPageLimit
)

func init() {
	// spoke_token(value, pattern) implements CONTAINS_TOKEN: pattern matches
	// a whole word of value, case-insensitively; * in pattern matches any
	// run of characters.
	err := sqlite.RegisterDeterministicScalarFunction("spoke_token", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		v, ok1 := args[0].(string)
		p, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return int64(0), nil
		}
		if containsToken(v, p) {
			return int64(1), nil
		}
		return int64(0), nil
	})
	if err != nil {
		panic(err)
	}
}

func containsToken(value, pattern string) bool {
	value, pattern = strings.ToLower(value), strings.ToLower(strings.TrimSpace(pattern))
	if pattern == "" {
		return false
	}
	if strings.Contains(pattern, "*") {
		if glob(pattern, value) {
			return true
		}
		for _, w := range strings.Fields(value) {
			if glob(pattern, w) {
				return true
			}
		}
		return false
	}
	if value == pattern {
		return true
	}
	for _, w := range strings.FieldsFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if w == pattern {
			return true
		}
	}
	for _, w := range strings.Fields(value) {
		if w == pattern {
			return true
		}
	}
	return false
}

// glob matches s against a pattern where * matches any run of characters.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// searchable lists the properties the free-text query looks in.
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

func (db *DB) column(t spoke.ObjectType, defs map[string]*propertyDef, name string) (column, error) {
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
		c.kind = kindSorted
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

func (db *DB) filterSQL(t spoke.ObjectType, defs map[string]*propertyDef, f spoke.Filter) (string, []any, error) {
	c, err := db.column(t, defs, f.PropertyName)
	if err != nil {
		return "", nil, err
	}
	one := func() (any, error) { return c.arg(f.PropertyName, f.Value) }
	op := strings.ToUpper(f.Operator)
	cmp := map[string]string{"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
	switch op {
	case "EQ", "LT", "LTE", "GT", "GTE":
		v, err := one()
		if err != nil {
			return "", nil, err
		}
		if op == "EQ" && f.PropertyName == t.UniqueProperty {
			return "unique_value = ?", []any{v}, nil
		}
		return c.lhs() + " " + cmp[op] + " ?", []any{v}, nil
	case "NEQ":
		v, err := one()
		if err != nil {
			return "", nil, err
		}
		return "(" + c.expr + " IS NULL OR " + c.lhs() + " != ?)", []any{v}, nil
	case "BETWEEN":
		lo, err := one()
		if err != nil {
			return "", nil, err
		}
		hi, err := c.arg(f.PropertyName, f.HighValue)
		if err != nil {
			return "", nil, err
		}
		return c.lhs() + " BETWEEN ? AND ?", []any{lo, hi}, nil
	case "IN", "NOT_IN":
		vals := f.Values
		if len(vals) == 0 {
			return "", nil, spoke.Invalidf("Filter %s on %s needs a non-empty values list.", op, f.PropertyName)
		}
		if len(vals) > MaxFilterValues {
			return "", nil, spoke.Invalidf("Filter %s on %s has %d values (at most %d).", op, f.PropertyName, len(vals), MaxFilterValues)
		}
		args := make([]any, len(vals))
		for i, v := range vals {
			if args[i], err = c.arg(f.PropertyName, v); err != nil {
				return "", nil, err
			}
		}
		if op == "IN" {
			return c.lhs() + " IN (" + placeholders(len(vals)) + ")", args, nil
		}
		return "(" + c.expr + " IS NULL OR " + c.lhs() + " NOT IN (" + placeholders(len(vals)) + "))", args, nil
	case "HAS_PROPERTY":
		return c.expr + " IS NOT NULL", nil, nil
	case "NOT_HAS_PROPERTY":
		return c.expr + " IS NULL", nil, nil
	case "CONTAINS_TOKEN":
		return "spoke_token(" + c.expr + ", ?) = 1", []any{f.Value}, nil
	case "NOT_CONTAINS_TOKEN":
		return "coalesce(spoke_token(" + c.expr + ", ?), 0) = 0", []any{f.Value}, nil
	}
	return "", nil, spoke.Invalidf("Unknown filter operator %q on %s; use one of EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN.", f.Operator, f.PropertyName)
}

// SearchRecords implements spoke.RecordService.
func (db *DB) SearchRecords(ctx context.Context, account int64, objectType string, req spoke.SearchRequest) (*spoke.SearchResult, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	defs, err := db.definitions(ctx, account, t.Name)
	if err != nil {
		return nil, err
	}
	if req.Limit == 0 {
		req.Limit = DefaultPageLimit
	}
	switch {
	case req.Limit < 0 || req.Limit > MaxSearchLimit:
		return nil, spoke.Invalidf("limit must be between 1 and %d, got %d.", MaxSearchLimit, req.Limit)
	case req.After < 0:
		return nil, spoke.Invalidf("after must not be negative.")
	case len(req.FilterGroups) > MaxFilterGroups:
		return nil, spoke.Invalidf("Too many filterGroups: %d (at most %d).", len(req.FilterGroups), MaxFilterGroups)
	case len(req.Sorts) > MaxSorts:
		return nil, spoke.Invalidf("Too many sorts: %d (at most %d).", len(req.Sorts), MaxSorts)
	case len(req.Query) > MaxSearchQuery:
		return nil, spoke.Invalidf("query is %d characters long (at most %d).", len(req.Query), MaxSearchQuery)
	}
	// The object type is a literal (from a fixed set), so SQLite can use the
	// partial expression indexes of valueIndexSQL.
	where := []string{"account_id = ?", "object_type = '" + t.Name + "'", "archived = 0"}
	args := []any{account}
	var groups []string
	for gi, g := range req.FilterGroups {
		if len(g.Filters) > MaxGroupFilters {
			return nil, spoke.Invalidf("filterGroups[%d] has %d filters (at most %d).", gi, len(g.Filters), MaxGroupFilters)
		}
		var conds []string
		for _, f := range g.Filters {
			s, a, err := db.filterSQL(t, defs, f)
			if err != nil {
				return nil, err
			}
			conds = append(conds, s)
			args = append(args, a...)
		}
		if len(conds) > 0 {
			groups = append(groups, "("+strings.Join(conds, " AND ")+")")
		}
	}
	if len(args) > MaxFilterArgs {
		return nil, spoke.Invalidf("The filters hold %d values in all (at most %d).", len(args), MaxFilterArgs)
	}
	if len(groups) > 0 {
		where = append(where, "("+strings.Join(groups, " OR ")+")")
	}
	if q := strings.TrimSpace(req.Query); q != "" {
		var ors []string
		for _, name := range searchable[t.Name] {
			ors = append(ors, "instr(lower(json_extract(properties, '"+jsonPath(name)+"')), ?) > 0")
			args = append(args, strings.ToLower(q))
		}
		ors = append(ors, "CAST(id AS TEXT) = ?")
		args = append(args, q)
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	cond := strings.Join(where, " AND ")
	var order []string
	for _, s := range req.Sorts {
		c, err := db.column(t, defs, s.PropertyName)
		if err != nil {
			return nil, err
		}
		dir := " ASC"
		if s.Descending {
			dir = " DESC"
		}
		order = append(order, c.lhs()+dir)
	}
	order = append(order, "id ASC")

	ids, idArgs, err := db.indexedIDs(ctx, t, defs, account, req)
	if err != nil {
		return nil, err
	}
	from := "records" + valueIndexHint(t, defs, req.FilterGroups)
	count, countArgs := `SELECT count(*) FROM `+from+` WHERE `+cond, args
	if ids != "" {
		count, countArgs = `SELECT count(*) FROM (`+ids+`)`, idArgs
	}
	var total int
	if err := db.read.QueryRowContext(ctx, count, countArgs...).Scan(&total); err != nil {
		return nil, fmt.Errorf("count %s: %w", t.Name, err)
	}
	res := &spoke.SearchResult{Total: total}
	if req.After >= total {
		return res, nil
	}
	page, pageArgs := `SELECT `+recordColumns+` FROM `+from+` WHERE `+cond+` ORDER BY `+strings.Join(order, ", ")+` LIMIT ? OFFSET ?`, append(args, req.Limit, req.After)
	if ids != "" && len(req.Sorts) == 0 {
		// In id order, the page's ids come from the indexes too, and only
		// its rows are loaded.
		page, pageArgs = `SELECT `+recordColumns+` FROM records WHERE id IN (SELECT id FROM (`+ids+`) ORDER BY id LIMIT ? OFFSET ?) ORDER BY id`,
			append(idArgs, req.Limit, req.After)
	}
	rows, err := db.read.QueryContext(ctx, page, pageArgs...)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", t.Name, err)
	}
	if res.Records, err = scanRecords(rows); err != nil {
		return nil, err
	}
	if next := req.After + len(res.Records); next < total {
		res.Next = next
	}
	return res, nil
}

// valueIndexHint names the value index a search should use: SQLite has no
// statistics here, so it would guess that "account_id = ? AND object_type
// = ..." finds a few rows and walk a whole object type instead of the
// range. The hint applies to a single filter group with a comparison on a
// number, date or datetime property.
func valueIndexHint(t spoke.ObjectType, defs map[string]*propertyDef, groups []spoke.FilterGroup) string {
	if len(groups) != 1 {
		return ""
	}
	for _, f := range groups[0].Filters {
		switch strings.ToUpper(f.Operator) {
		case "EQ", "LT", "LTE", "GT", "GTE", "BETWEEN":
		default:
			continue
		}
		p, ok := defs[f.PropertyName]
		if !ok || !hasValueIndex(t, p) {
			continue
		}
		return ` INDEXED BY "` + valueIndexName(t.Name, p.Name) + `"`
	}
	return ""
}

// valueIndexName is the name of a property's value index.
func valueIndexName(objectType, property string) string {
	return "records_value_" + objectType + "_" + property
}

// valueExpr is the SQL expression of a property's stored value.
func valueExpr(name string) string {
	return "json_extract(properties, '" + strings.ReplaceAll(jsonPath(name), "'", "''") + "')"
}

// numberExpr is the SQL expression of a number property's value.
func numberExpr(name string) string { return "CAST(" + valueExpr(name) + " AS REAL)" }

// valueIndexSQL returns the statement creating the partial expression
// index that serves range filters and sorts on a number, date or datetime
// property, or "" for other types. Search queries spell the same
// expressions and the object type as a literal, so the planner matches
// them.
func valueIndexSQL(objectType string, p *spoke.Property) string {
	var expr string
	switch p.Type {
	case spoke.TypeNumber:
		expr = numberExpr(p.Name)
	case spoke.TypeDate, spoke.TypeDateTime:
		expr = valueExpr(p.Name)
	default:
		return ""
	}
	// The value comes first: with account_id first, SQLite (without
	// statistics) takes these indexes for any "account_id = ?" query and
	// scans a whole object type.
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON records (%s) WHERE object_type = '%s' AND archived = 0`,
		valueIndexName(objectType, p.Name), expr, objectType)
}

// hasValueIndex reports whether p has a value index: every custom number,
// date or datetime property has one, a HubSpot-defined one only if the
// catalogue asks for it (Property.ValueIndex); computed ones are columns
// of their own.
func hasValueIndex(t spoke.ObjectType, p *propertyDef) bool {
	if p.ReadOnlyValue || t.IsComputedProperty(p.Name) || valueIndexSQL(t.Name, p) == "" {
		return false
	}
	return !p.HubspotDefined || p.ValueIndex
}

// ensureValueIndexes creates the value indexes of the built-in properties.
func (db *DB) ensureValueIndexes(ctx context.Context) error {
	for _, t := range spoke.ObjectTypes {
		for _, p := range spoke.BuiltinProperties(t) {
			if !hasValueIndex(t, p) {
				continue
			}
			if q := valueIndexSQL(t.Name, p); q != "" {
				if _, err := db.write.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("index %s.%s: %w", t.Name, p.Name, err)
				}
			}
		}
	}
	return nil
}
