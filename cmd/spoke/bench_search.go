package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/postgres"
)

func init() { benchSuites["search"] = benchSearch }

// searchStore is what the search benchmark needs of a store.
type searchStore interface {
	spoke.RecordService
	spoke.PropertyService
}

// benchSearch measures search latency through the store's SearchRecords
// over many contacts (1,000,000 by default), loaded with batch upserts by
// email through the store (WriteRecords, as the API's batch upsert does),
// on SQLite and, with --database, on PostgreSQL; there it also compares
// the jsonb records table with a table of typed columns (--typed).
func benchSearch(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	n := fs.Int("contacts", 1000000, "contacts to load")
	conc := fs.Int("concurrency", 4, "concurrent loading clients (batches of 100 upserts)")
	samples := fs.Int("samples", 200, "searches per measurement (fewer if -max-time runs out first, at least 5)")
	maxTime := fs.Duration("max-time", 15*time.Second, "time limit of one measurement")
	database := fs.String("database", "", "also measure PostgreSQL: a postgres:// URL (its role needs CREATEDB) or pgtest (a throwaway server)")
	withSQLite := fs.Bool("sqlite", true, "measure SQLite (before PostgreSQL)")
	typed := fs.Bool("typed", true, "with --database: also compare the jsonb records table with a table of typed columns holding the same contacts")
	keep := fs.Bool("keep", false, "with --database URL: keep the PostgreSQL database (its name is printed) for a look at its plans")
	var pgSettings multiFlag
	fs.Var(&pgSettings, "pg-setting", "with --database pgtest: a server `name=value` setting (repeatable)")
	return runSuite(fs, args, func() error {
		fmt.Printf("# spoke bench search: %d contacts, %d loading clients, up to %d samples or %s per search, %s\n\n", *n, *conc, *samples, *maxTime, time.Now().UTC().Format(time.RFC3339))
		cfg := searchBench{n: *n, conc: *conc, samples: *samples, maxTime: *maxTime}
		var lite []benchRow
		if *withSQLite {
			db, acct, closeStore, err := openBenchStore(ctx, "spoke-bench-search-")
			if err != nil {
				return err
			}
			lite, err = cfg.run(ctx, db, acct, nil)
			closeStore()
			if err != nil {
				return fmt.Errorf("sqlite: %w", err)
			}
			if *database == "" {
				printRows(lite, nil)
				return nil
			}
		}
		if *database == "" {
			return fmt.Errorf("nothing to measure: -sqlite=false without --database")
		}
		pg, err := startBenchPG(*database, pgSettings)
		if err != nil {
			return err
		}
		defer pg.stop()
		name := benchDBName("search")
		url, err := pg.create(ctx, name, "")
		if err != nil {
			return err
		}
		if *keep && *database != "pgtest" {
			fmt.Printf("keeping database %s\n\n", name)
		} else {
			defer pg.drop(name)
		}
		pdb, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		defer pdb.Close()
		pdb.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		acct, _, err := pdb.DefaultAccount(ctx)
		if err != nil {
			return err
		}
		rows, err := cfg.run(ctx, pdb, acct, func() error {
			// What autovacuum does to a table after a bulk load, done now
			// rather than whenever it comes round to it.
			_, err := pdb.Pool().Exec(ctx, `VACUUM (ANALYZE) records`)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		fmt.Printf("PostgreSQL: %s\n\n", pg.desc)
		printRows(rows, lite)
		if *typed {
			return cfg.typedComparison(ctx, pdb, acct)
		}
		return nil
	})
}

// printRows prints a suite's rows, beside SQLite's when lite is not nil.
func printRows(rows, lite []benchRow) {
	if lite == nil {
		fmt.Println("| measurement | result |")
		fmt.Println("|---|---|")
		for _, r := range rows {
			fmt.Printf("| %s | %s |\n", r.label, r.value)
		}
		fmt.Println()
		return
	}
	fmt.Println("| measurement | SQLite | PostgreSQL |")
	fmt.Println("|---|---|---|")
	for i, r := range rows {
		fmt.Printf("| %s | %s | %s |\n", r.label, lite[i].value, r.value)
	}
	fmt.Println()
}

type searchBench struct {
	n, conc, samples int
	maxTime          time.Duration
}

// Words of the generated contacts.
var (
	benchFirstNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Ken", "Dennis", "Frances", "John",
		"Margaret", "Niklaus", "Radia", "Tim", "Linus", "Guido", "Bjarne", "Sophie", "Leslie", "Shafi"}
	benchLastNames = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Thompson", "Ritchie", "Allen", "McCarthy",
		"Hamilton", "Wirth", "Perlman", "Berners-Lee", "Torvalds", "van Rossum", "Stroustrup", "Wilson", "Lamport", "Goldwasser"}
	benchCompanyWords = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell"}
)

// benchContact returns the properties of contact i: its email (domain one
// of 1,000, so 0.1% of contacts share one), names, a company whose last
// word is one of 10,000 numbers (0.01% share it), a city (one of 10,000,
// 0.01% each) and a score (one of 1,000 values, 0.1% each).
func benchContact(i int) map[string]string {
	return map[string]string{
		"email":          fmt.Sprintf("user%d@d%d.example", i, i%1000),
		"firstname":      benchFirstNames[i%len(benchFirstNames)],
		"lastname":       benchLastNames[(i/len(benchFirstNames))%len(benchLastNames)],
		"company":        fmt.Sprintf("%s %s %d", benchCompanyWords[i%10], benchCompanyWords[(i/10)%10], i%10000),
		"city":           fmt.Sprintf("City %d", i%10000),
		"score":          strconv.Itoa(i % 1000),
		"lifecyclestage": "lead",
	}
}

// searchCase is one measured search: the request for sample i, the
// total it must report, and the page size.
type searchCase struct {
	label string
	req   func(rng *rand.Rand) (spoke.SearchRequest, int)
}

func (b searchBench) cases() []searchCase {
	filter := func(f spoke.Filter, limit int) spoke.SearchRequest {
		return spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f}}}, Limit: limit}
	}
	// count returns how many of the n contacts have i%mod == r.
	count := func(mod, r int) int {
		c := b.n / mod
		if r < b.n%mod {
			c++
		}
		return c
	}
	return []searchCase{
		{"email EQ (1 match, limit 10)", func(rng *rand.Rand) (spoke.SearchRequest, int) {
			i := rng.IntN(b.n)
			return filter(spoke.Filter{PropertyName: "email", Operator: "EQ", Value: fmt.Sprintf("user%d@d%d.example", i, i%1000)}, 10), 1
		}},
		{fmt.Sprintf("score BETWEEN lo AND lo+9 (1%%, ~%d matches, limit 100)", b.n/100), func(rng *rand.Rand) (spoke.SearchRequest, int) {
			lo := rng.IntN(990)
			total := 0
			for v := lo; v <= lo+9; v++ {
				total += count(1000, v)
			}
			return filter(spoke.Filter{PropertyName: "score", Operator: "BETWEEN", Value: strconv.Itoa(lo), HighValue: strconv.Itoa(lo + 9)}, 100), total
		}},
		{fmt.Sprintf("score GT 998 (0.1%%, ~%d matches, limit 100)", b.n/1000), func(rng *rand.Rand) (spoke.SearchRequest, int) {
			return filter(spoke.Filter{PropertyName: "score", Operator: "GT", Value: "998"}, 100), count(1000, 999)
		}},
		{fmt.Sprintf("company CONTAINS_TOKEN a number (~%d matches, limit 10)", max(b.n/10000, 1)), func(rng *rand.Rand) (spoke.SearchRequest, int) {
			k := rng.IntN(min(b.n, 10000))
			return filter(spoke.Filter{PropertyName: "company", Operator: "CONTAINS_TOKEN", Value: strconv.Itoa(k)}, 10), count(10000, k)
		}},
		{fmt.Sprintf("city EQ (case-insensitive, ~%d matches, limit 10)", max(b.n/10000, 1)), func(rng *rand.Rand) (spoke.SearchRequest, int) {
			k := rng.IntN(min(b.n, 10000))
			return filter(spoke.Filter{PropertyName: "city", Operator: "EQ", Value: fmt.Sprintf("city %d", k)}, 10), count(10000, k)
		}},
		{fmt.Sprintf("email CONTAINS_TOKEN *@domain (wildcard, ~%d matches, limit 10)", max(b.n/1000, 1)), func(rng *rand.Rand) (spoke.SearchRequest, int) {
			k := rng.IntN(min(b.n, 1000))
			return filter(spoke.Filter{PropertyName: "email", Operator: "CONTAINS_TOKEN", Value: fmt.Sprintf("*@d%d.example", k)}, 10), count(1000, k)
		}},
	}
}

// run loads the contacts into db (account acct), calls settle if given,
// and measures each search case.
func (b searchBench) run(ctx context.Context, db searchStore, acct int64, settle func() error) ([]benchRow, error) {
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "score", Label: "Score",
		Type: spoke.TypeNumber, GroupName: "contactinformation"}); err != nil {
		return nil, err
	}
	var out []benchRow
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	start := time.Now()
	err := inBatches(b.n, 100, b.conc, func(from, to int) error {
		inputs := make([]spoke.RecordInput, 0, to-from)
		for i := from; i < to; i++ {
			p := benchContact(i)
			inputs = append(inputs, spoke.RecordInput{IDProperty: "email", ID: p["email"], Properties: p})
		}
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpsert, inputs, src)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	load := time.Since(start)
	out = append(out, benchRow{label: fmt.Sprintf("load %d contacts (store batch upserts by email, 100 per call, %d clients)", b.n, b.conc),
		value: fmt.Sprintf("%s, %.0f records/s", load.Round(time.Second), float64(b.n)/load.Seconds()), num: float64(b.n) / load.Seconds()})
	if settle != nil {
		t := time.Now()
		if err := settle(); err != nil {
			return nil, err
		}
		out = append(out, benchRow{label: "settle after the load (PostgreSQL: VACUUM ANALYZE records)", value: time.Since(t).Round(time.Millisecond).String()})
	} else {
		out = append(out, benchRow{label: "settle after the load (PostgreSQL: VACUUM ANALYZE records)", value: "-"})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// The first search of each kind may ask for an index (the stores'
	// on-demand search indexes: SQLite creates one within the search,
	// PostgreSQL in the background) or warm the cache: it is reported
	// apart, and the measurements start once the indexes are built.
	cases := b.cases()
	first := make([]time.Duration, len(cases))
	for i, c := range cases {
		req, want := c.req(rng)
		t := time.Now()
		res, err := db.SearchRecords(ctx, acct, "contacts", req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.label, err)
		}
		first[i] = time.Since(t)
		if res.Total != want {
			return nil, fmt.Errorf("%s: total %d, want %d", c.label, res.Total, want)
		}
	}
	if w, ok := db.(interface{ WaitSearchIndexes(context.Context) error }); ok {
		t := time.Now()
		if err := w.WaitSearchIndexes(ctx); err != nil {
			return nil, err
		}
		out = append(out, benchRow{label: "wait for the search indexes the first searches asked for (PostgreSQL: CONTAINS_TOKEN's and EQ's, built in the background)",
			value: time.Since(t).Round(time.Millisecond).String()})
	} else {
		out = append(out, benchRow{label: "wait for the search indexes the first searches asked for (PostgreSQL: CONTAINS_TOKEN's and EQ's, built in the background)", value: "-"})
	}
	for ci, c := range cases {
		var lat []time.Duration
		deadline := time.Now().Add(b.maxTime)
		for len(lat) < b.samples && (len(lat) < 5 || time.Now().Before(deadline)) {
			req, want := c.req(rng)
			t := time.Now()
			res, err := db.SearchRecords(ctx, acct, "contacts", req)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.label, err)
			}
			lat = append(lat, time.Since(t))
			if res.Total != want {
				return nil, fmt.Errorf("%s: total %d, want %d", c.label, res.Total, want)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		out = append(out, benchRow{label: c.label + " p50 / p99 (first)", value: fmt.Sprintf("**%s** / %s (%s), %d samples",
			ms(pct(lat, .5)), ms(pct(lat, .99)), ms(first[ci]), len(lat)), num: float64(pct(lat, .5).Microseconds()) / 1000})
	}
	return out, nil
}

// typedComparison compares the jsonb records table (the store's) with a
// table of typed columns holding the same contacts, with the indexes that
// serve the same searches: the searches of the benchmark as SQL (a count,
// then a page, as SearchRecords runs them), the space both take, and an
// update of one property of 100,000 contacts. It is a throwaway table
// (dropped at the end), not a store.
func (b searchBench) typedComparison(ctx context.Context, db *postgres.DB, acct int64) error {
	pool := db.Pool()
	exec := func(q string, args ...any) error {
		_, err := pool.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	start := time.Now()
	// The typed table's indexes are not partial (the table holds one
	// type), so ANALYZE gathers their expressions' statistics itself.
	for _, q := range []string{
		`DROP TABLE IF EXISTS bench_typed_contacts`,
		`CREATE TABLE bench_typed_contacts (id bigint PRIMARY KEY, account_id bigint NOT NULL, archived boolean NOT NULL,
			email text, firstname text, lastname text, company text, score float8, lifecyclestage text,
			created_at bigint NOT NULL, updated_at bigint NOT NULL, version bigint NOT NULL)`,
		`INSERT INTO bench_typed_contacts SELECT id, account_id, archived, properties->>'email', properties->>'firstname', properties->>'lastname',
			properties->>'company', spoke_num(properties->>'score'), properties->>'lifecyclestage', created_at, updated_at, version
			FROM records WHERE object_type = 'contacts' ORDER BY id`,
		`CREATE UNIQUE INDEX bench_typed_email ON bench_typed_contacts (account_id, lower(email)) WHERE NOT archived`,
		`CREATE INDEX bench_typed_by_account ON bench_typed_contacts (account_id, archived, id)`,
		`CREATE INDEX bench_typed_score ON bench_typed_contacts (score)`,
		`CREATE INDEX bench_typed_company_tok ON bench_typed_contacts USING gin (spoke_tokens(company))`,
		`CREATE INDEX bench_typed_email_tok ON bench_typed_contacts USING gin (spoke_tokens(email))`,
		`VACUUM (ANALYZE) bench_typed_contacts`,
		`VACUUM (ANALYZE) records`,
	} {
		if err := exec(q); err != nil {
			return err
		}
	}
	defer pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS bench_typed_contacts`)
	fmt.Printf("### jsonb records against typed columns (%d contacts; typed table built in %s)\n\n", b.n, time.Since(start).Round(time.Second))

	// Each search as the store runs it: count, then the page sorted from
	// the matches (SearchRecords does so below 20,000 matches; all of
	// these are).
	type sqlCase struct {
		label        string
		jsonb, typed string // conditions after the account's
		args         func(rng *rand.Rand) []any
		limit        int
	}
	cases := []sqlCase{
		{"email EQ", `object_type = 'contacts' AND NOT archived AND unique_value = $2`, `NOT archived AND lower(email) = $2`,
			func(rng *rand.Rand) []any {
				i := rng.IntN(b.n)
				return []any{fmt.Sprintf("user%d@d%d.example", i, i%1000)}
			}, 10},
		{"score BETWEEN (1%)", `object_type = 'contacts' AND NOT archived AND spoke_num(properties->>'score') BETWEEN $2::float8 AND $3::float8`,
			`NOT archived AND score BETWEEN $2::float8 AND $3::float8`,
			func(rng *rand.Rand) []any { lo := rng.IntN(990); return []any{lo, lo + 9} }, 100},
		{"score GT 998 (0.1%)", `object_type = 'contacts' AND NOT archived AND spoke_num(properties->>'score') > $2::float8`,
			`NOT archived AND score > $2::float8`, func(*rand.Rand) []any { return []any{998} }, 100},
		{"company CONTAINS_TOKEN", `object_type = 'contacts' AND NOT archived AND spoke_tokens(properties->>'company') @> ARRAY[$2::text]`,
			`NOT archived AND spoke_tokens(company) @> ARRAY[$2::text]`,
			func(rng *rand.Rand) []any { return []any{strconv.Itoa(rng.IntN(min(b.n, 10000)))} }, 10},
		{"email CONTAINS_TOKEN *@domain", `object_type = 'contacts' AND NOT archived AND spoke_tokens(properties->>'email') @> $2::text[]
			AND (lower(properties->>'email') ~ $3 OR EXISTS (SELECT 1 FROM regexp_split_to_table(lower(properties->>'email'), '\s+') w WHERE w ~ $3))`,
			`NOT archived AND spoke_tokens(email) @> $2::text[]
			AND (lower(email) ~ $3 OR EXISTS (SELECT 1 FROM regexp_split_to_table(lower(email), '\s+') w WHERE w ~ $3))`,
			func(rng *rand.Rand) []any {
				k := rng.IntN(min(b.n, 1000))
				return []any{[]string{fmt.Sprintf("d%d", k), "example"}, fmt.Sprintf(`^.*@d%d\.example$`, k)}
			}, 10},
	}
	measure := func(table, cols, cond string, args func(*rand.Rand) []any, limit int) (time.Duration, error) {
		rng := rand.New(rand.NewPCG(3, 4))
		var lat []time.Duration
		deadline := time.Now().Add(b.maxTime)
		for len(lat) < b.samples && (len(lat) < 5 || time.Now().Before(deadline)) {
			a := append([]any{pgx.QueryExecModeCacheDescribe, acct}, args(rng)...)
			t := time.Now()
			var total int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE account_id = $1 AND `+cond, a...).Scan(&total); err != nil {
				return 0, err
			}
			rows, err := pool.Query(ctx, `SELECT `+cols+` FROM `+table+` WHERE account_id = $1 AND `+cond+` ORDER BY id + 0 LIMIT `+strconv.Itoa(limit), a...)
			if err != nil {
				return 0, err
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return 0, err
			}
			lat = append(lat, time.Since(t))
			if total == 0 || n == 0 {
				return 0, fmt.Errorf("%s: no match for %s", table, cond)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return pct(lat, .5), nil
	}
	fmt.Println("| search (SQL: count, then the page) | jsonb `records` p50 | typed columns p50 |")
	fmt.Println("|---|---|---|")
	for _, c := range cases {
		j, err := measure("records", `id, object_type, properties, created_at, updated_at, archived, coalesce(archived_at, 0), version`, c.jsonb, c.args, c.limit)
		if err != nil {
			return err
		}
		t, err := measure("bench_typed_contacts", `*`, c.typed, c.args, c.limit)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %s |\n", c.label, ms(j), ms(t))
	}

	// Space: the tables with their TOAST and every index; records holds
	// only these contacts.
	var jt, ji, tt, ti int64
	if err := pool.QueryRow(ctx, `SELECT pg_table_size('records'), pg_indexes_size('records'), pg_table_size('bench_typed_contacts'), pg_indexes_size('bench_typed_contacts')`).
		Scan(&jt, &ji, &tt, &ti); err != nil {
		return err
	}
	mib := func(v int64) string { return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20)) }
	fmt.Printf("| table / indexes (records: also the GIN on all properties and the built-in value indexes) | %s / %s | %s / %s |\n", mib(jt), mib(ji), mib(tt), mib(ti))

	// An update of one property of 100,000 contacts, as a flow's set
	// property writes it: the jsonb body is written whole, the typed row
	// too (PostgreSQL writes a new version of a row either way).
	m := min(100000, b.n)
	update := func(q string) (time.Duration, int64, error) {
		var lsn0, lsn1 string
		if err := pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn0); err != nil {
			return 0, 0, err
		}
		t := time.Now()
		if err := exec(q, acct, m); err != nil {
			return 0, 0, err
		}
		el := time.Since(t)
		var wal int64
		if err := pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn1); err != nil {
			return 0, 0, err
		}
		if err := pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint`, lsn1, lsn0).Scan(&wal); err != nil {
			return 0, 0, err
		}
		return el, wal, nil
	}
	jd, jw, err := update(`UPDATE records SET properties = properties || jsonb_build_object('score', (spoke_num(properties->>'score') + 1)::text),
		updated_at = updated_at + 1, version = version + 1 WHERE account_id = $1 AND object_type = 'contacts' AND id <= (SELECT min(id) FROM records) + $2 - 1`)
	if err != nil {
		return err
	}
	td, tw, err := update(`UPDATE bench_typed_contacts SET score = score + 1, updated_at = updated_at + 1, version = version + 1
		WHERE account_id = $1 AND id <= (SELECT min(id) FROM bench_typed_contacts) + $2 - 1`)
	if err != nil {
		return err
	}
	fmt.Printf("| update score of %d contacts (one statement): time, WAL per row | %s, %.0f B | %s, %.0f B |\n\n",
		m, jd.Round(time.Millisecond), float64(jw)/float64(m), td.Round(time.Millisecond), float64(tw)/float64(m))
	return nil
}
