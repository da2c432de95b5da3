package compare_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compare"
	"github.com/strangler/strangler/compare/mapping"
	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/compare/store"
	"github.com/strangler/strangler/internal/testenv"
)

// small makes chunks and leaves tiny so that bisection and several chunks happen on
// test-sized tables.
func small(src, tgt string, tables ...mapping.Table) compare.DataConfig {
	return compare.DataConfig{Source: src, Target: tgt, Tables: tables, StartChunkRows: 40, MinChunkRows: 20, MaxChunkRows: 60,
		RowThreshold: 8, Bisect: 4, Workers: 2, MaxSamples: 1000, RecheckTimes: 0}
}

func run(t *testing.T, cfg compare.DataConfig) *report.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := compare.RunData(ctx, cfg)
	require.NoError(t, err)
	return r
}

func keysOf(ks []report.Key) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}

func changedOf(cs []report.Change) map[string][]string {
	out := map[string][]string{}
	for _, c := range cs {
		var cols []string
		for col := range c.Columns {
			cols = append(cols, col)
		}
		sort.Strings(cols)
		out[c.Key.String()] = cols
	}
	return out
}

// Differences of every kind between two MariaDB tables of identical schema, one per type,
// found to the row and the column, with exact counts.
func TestPlantedDifferencesMariaDB(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	schema := `(
		id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
		name VARCHAR(40) NOT NULL,
		note VARCHAR(40) NULL,
		amount DECIMAL(12,2) NOT NULL,
		ratio DOUBLE NULL,
		at DATETIME(6) NOT NULL,
		ts TIMESTAMP(6) NULL,
		d DATE NULL,
		dur TIME NULL,
		flag TINYINT NOT NULL,
		raw VARBINARY(16) NULL,
		kind ENUM('a','b','c') NOT NULL,
		doc JSON NULL
	) DEFAULT CHARSET=utf8mb4`
	db.Exec(t, "CREATE TABLE src "+schema, "CREATE TABLE tgt "+schema,
		`INSERT INTO src SELECT seq, CONCAT('n', seq), IF(seq % 5 = 0, NULL, CONCAT('note ', seq)), seq / 100, seq / 7,
			'2024-01-01 00:00:00' + INTERVAL seq SECOND, '2024-06-01 12:00:00' + INTERVAL seq MINUTE, '2024-01-01' + INTERVAL seq DAY,
			SEC_TO_TIME(seq), seq % 2, UNHEX(HEX(seq)), ELT(1 + seq % 3, 'a', 'b', 'c'), JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('x', seq))
			FROM seq_1_to_400`,
		"INSERT INTO tgt SELECT * FROM src",
		"INSERT INTO src VALUES (18446744073709551615, 'max', NULL, 1, NULL, '2030-01-01', NULL, NULL, NULL, 0, NULL, 'a', NULL)",
		"INSERT INTO tgt VALUES (18446744073709551615, 'max', NULL, 1, NULL, '2030-01-01', NULL, NULL, NULL, 0, NULL, 'a', NULL)",
		// missing: in the source only
		"DELETE FROM tgt WHERE id IN (3, 250)",
		// extra: in the target only
		"INSERT INTO tgt SELECT 1000 + id, name, note, amount, ratio, at, ts, d, dur, flag, raw, kind, doc FROM src WHERE id IN (1, 2)",
		"INSERT INTO tgt VALUES (18446744073709551614, 'big', NULL, 1, NULL, '2030-01-01', NULL, NULL, NULL, 0, NULL, 'a', NULL)",
		// changed, one column each
		"UPDATE tgt SET name = 'N10' WHERE id = 10",                                               // text, case only
		"UPDATE tgt SET note = '' WHERE id = 20",                                                  // NULL (id 20 % 5 = 0) against empty string
		"UPDATE tgt SET amount = amount + 0.01 WHERE id = 30",                                     // a cent
		"UPDATE tgt SET at = at + INTERVAL 1 MICROSECOND WHERE id = 40",                           // a microsecond
		"UPDATE tgt SET ts = ts + INTERVAL 1 SECOND WHERE id = 50",                                // TIMESTAMP
		"UPDATE tgt SET d = d + INTERVAL 1 DAY WHERE id = 60",                                     // DATE
		"UPDATE tgt SET dur = NULL WHERE id = 70",                                                 // TIME against NULL
		"UPDATE tgt SET flag = 1 - flag WHERE id = 80",                                            // integer
		"UPDATE tgt SET raw = X'00' WHERE id = 90",                                                // binary
		"UPDATE tgt SET kind = IF(kind = 'a', 'b', 'a') WHERE id = 100",                           // enum
		"UPDATE tgt SET doc = JSON_SET(doc, '$.n', 0) WHERE id = 110",                             // JSON
		"UPDATE tgt SET ratio = ratio + 0.001 WHERE id = 120",                                     // double
		"UPDATE tgt SET name = 'x', amount = 0 WHERE id = 18446744073709551615",                   // two columns, max unsigned key
		"UPDATE tgt SET doc = JSON_OBJECT('tags', JSON_ARRAY('x', 130), 'n', 130) WHERE id = 130", // same JSON, other key order: equal
	)
	r := run(t, small(db.Addr, db.Addr, mapping.Table{Source: "src", Target: "tgt"}))
	require.Len(t, r.Tables, 1)
	tb := r.Tables[0]
	require.Equal(t, report.Mismatch, tb.Verdict, tb.Error)
	require.Equal(t, report.Mismatch, r.Verdict)
	require.Equal(t, int64(401), tb.SourceRows)
	require.Equal(t, int64(402), tb.TargetRows)
	require.Equal(t, report.Counts{Missing: 2, Extra: 3, Changed: 13}, tb.Counts)
	require.Equal(t, []string{`{"id":250}`, `{"id":3}`}, keysOf(tb.Missing))
	require.Equal(t, []string{`{"id":1001}`, `{"id":1002}`, `{"id":18446744073709551614}`}, keysOf(tb.Extra))
	require.Equal(t, map[string][]string{
		`{"id":10}`: {"name"}, `{"id":20}`: {"note"}, `{"id":30}`: {"amount"}, `{"id":40}`: {"at"}, `{"id":50}`: {"ts"},
		`{"id":60}`: {"d"}, `{"id":70}`: {"dur"}, `{"id":80}`: {"flag"}, `{"id":90}`: {"raw"}, `{"id":100}`: {"kind"},
		`{"id":110}`: {"doc"}, `{"id":120}`: {"ratio"}, `{"id":18446744073709551615}`: {"amount", "name"},
	}, changedOf(tb.Changed))
	// Values are encoded as in CDC events.
	b, err := json.Marshal(tb.Changed)
	require.NoError(t, err)
	js := string(b)
	require.Contains(t, js, `"note":{"source":null,"target":""}`)
	require.Contains(t, js, `"amount":{"source":"0.30","target":"0.31"}`)
	require.Contains(t, js, `"at":{"source":"2024-01-01T00:00:40.000000","target":"2024-01-01T00:00:40.000001"}`)
	require.Contains(t, js, `"ts":{"source":"2024-06-01T12:50:00.000000Z","target":"2024-06-01T12:50:01.000000Z"}`)
	require.Contains(t, js, `"raw":{"source":"Wg==","target":"AA=="}`) // binary as base64: 0x5A against 0x00
	require.Greater(t, tb.Chunks, int64(3), "several chunks")
	require.Less(t, tb.Parity, 100.0)
	validate(t, report.Build([]report.Run{*r}, report.Policy{}, time.Now()))
}

// The same edit on two rows of the same length changes their CRC32s by the same bits (a CRC
// is linear), so an XOR of plain CRC32s, pt-table-checksum's digest, cancels the two out and
// sees nothing. The digest here must not: both rows are found.
func TestSameEditOnTwoRowsIsFound(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE e_src (id INT NOT NULL PRIMARY KEY, v VARCHAR(10) NOT NULL, w CHAR(3) NOT NULL)",
		"CREATE TABLE e_tgt LIKE e_src",
		"INSERT INTO e_src SELECT seq, ELT(1 + seq % 3, 'abc', 'def', 'ghi'), 'xyz' FROM seq_1_to_30",
		"INSERT INTO e_tgt SELECT * FROM e_src",
		// 'c' to 'd' and 'f' to 'a' both flip the bits 0x07 of the same byte of equal-length rows.
		"UPDATE e_tgt SET v = 'abd' WHERE id = 3",
		"UPDATE e_tgt SET v = 'dea' WHERE id = 4")
	var a, b uint64
	text := "CRC32(CONCAT_WS(X'1F', id, v, w))"
	require.NoError(t, db.DB.QueryRow("SELECT BIT_XOR("+text+") FROM e_src WHERE id IN (3, 4)").Scan(&a))
	require.NoError(t, db.DB.QueryRow("SELECT BIT_XOR("+text+") FROM e_tgt WHERE id IN (3, 4)").Scan(&b))
	require.Equal(t, a, b, "the trap is real: XORed CRC32s of the two sides are equal")

	r := run(t, small(db.Addr, db.Addr, mapping.Table{Source: "e_src", Target: "e_tgt"}))
	tb := r.Tables[0]
	require.Equal(t, report.Counts{Changed: 2}, tb.Counts, tb.Error)
	require.Equal(t, map[string][]string{`{"id":3}`: {"v"}, `{"id":4}`: {"v"}}, changedOf(tb.Changed))
}

// Columns of the same family but other declared sizes (INT against BIGINT UNSIGNED,
// VARCHAR(20) utf8mb3 against TEXT utf8mb4, DECIMAL(8,2) against DECIMAL(14,2), DATETIME(3)
// against TIMESTAMP(3), BINARY against VARBINARY) compare by their stored text, and equal
// values match while planted differences are found.
func TestSameFamilyTypesCompareAsStored(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t,
		`CREATE TABLE f_old (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb3 NULL, price DECIMAL(8,2) NOT NULL,
			at DATETIME(3) NOT NULL, tag VARBINARY(4) NULL)`,
		`CREATE TABLE f_new (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name TEXT CHARACTER SET utf8mb4 NULL, price DECIMAL(14,2) NOT NULL,
			at TIMESTAMP(3) NOT NULL, tag BLOB NULL)`,
		`INSERT INTO f_old SELECT seq, IF(seq % 4 = 0, NULL, CONCAT('nâme ', seq)), seq / 3, '2024-05-01 10:00:00.125' + INTERVAL seq MINUTE,
			IF(seq % 5 = 0, NULL, UNHEX(LPAD(HEX(seq), 4, '0'))) FROM seq_1_to_200`,
		"INSERT INTO f_new SELECT * FROM f_old",
		"UPDATE f_new SET name = '' WHERE id = 8",                            // NULL against ''
		"UPDATE f_new SET price = price + 0.01 WHERE id = 50",                // a cent
		"UPDATE f_new SET at = at + INTERVAL 1000 MICROSECOND WHERE id = 90", // a millisecond
		"UPDATE f_new SET name = 'nâme 12', tag = NULL WHERE id = 121",       // two columns: a character less, a value to NULL
	)
	r := run(t, small(db.Addr, db.Addr, mapping.Table{Source: "f_old", Target: "f_new"}))
	tb := r.Tables[0]
	require.Equal(t, report.Counts{Changed: 4}, tb.Counts, tb.Error)
	require.Equal(t, map[string][]string{`{"id":8}`: {"name"}, `{"id":50}`: {"price"}, `{"id":90}`: {"at"}, `{"id":121}`: {"name", "tag"}},
		changedOf(tb.Changed))
}

// Keys of several types: composite with a case-insensitive string part, a string key in a
// case-insensitive collation (byte order is used on both sides), and empty tables.
func TestKeysOfSeveralTypesAndEmptyTables(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t,
		"CREATE TABLE c1 (region VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, n INT NOT NULL, v INT, PRIMARY KEY (region, n))",
		"CREATE TABLE c2 LIKE c1",
		"INSERT INTO c1 SELECT ELT(1 + seq % 4, 'eu', 'EU2', 'us', 'Asia'), seq, seq FROM seq_1_to_300",
		"INSERT INTO c2 SELECT * FROM c1",
		"UPDATE c2 SET v = -1 WHERE region = 'us' AND n = 2",
		"DELETE FROM c2 WHERE region = 'Asia' AND n = 3",
		"CREATE TABLE s1 (code VARCHAR(20) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, v INT)",
		"CREATE TABLE s2 LIKE s1",
		"INSERT INTO s1 SELECT CONCAT(ELT(1 + seq % 3, 'a', 'B', 'é'), seq), seq FROM seq_1_to_200",
		"INSERT INTO s2 SELECT * FROM s1",
		"UPDATE s2 SET v = 0 WHERE code = 'B100'",
		"INSERT INTO s2 VALUES ('Zzz', 1)",
		"CREATE TABLE e1 (id INT PRIMARY KEY)", "CREATE TABLE e2 (id INT PRIMARY KEY)",
	)
	r := run(t, small(db.Addr, db.Addr,
		mapping.Table{Source: "c1", Target: "c2"}, mapping.Table{Source: "s1", Target: "s2"}, mapping.Table{Source: "e1", Target: "e2"}))
	require.Len(t, r.Tables, 3)
	c, s, e := r.Tables[0], r.Tables[1], r.Tables[2]
	require.Equal(t, report.Counts{Missing: 1, Changed: 1}, c.Counts, c.Error)
	require.Equal(t, []string{`{"region":"Asia","n":3}`}, keysOf(c.Missing))
	require.Equal(t, map[string][]string{`{"region":"us","n":2}`: {"v"}}, changedOf(c.Changed))
	require.Equal(t, report.Counts{Extra: 1, Changed: 1}, s.Counts, s.Error)
	require.Equal(t, []string{`{"code":"Zzz"}`}, keysOf(s.Extra))
	require.Equal(t, report.Match, e.Verdict)
	require.Equal(t, int64(0), e.SourceRows)
	require.Equal(t, 100.0, e.Parity)
}

func TestTableWithoutKeyIsRefused(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE nokey (a INT, b INT)", "CREATE TABLE ok1 (id INT PRIMARY KEY)", "INSERT INTO ok1 VALUES (1)")
	r := run(t, small(db.Addr, db.Addr, mapping.Table{Source: "nokey"}, mapping.Table{Source: "ok1"}))
	require.Equal(t, report.Error, r.Verdict)
	require.Equal(t, report.Error, r.Tables[0].Verdict)
	require.Contains(t, r.Tables[0].Error, "no primary key or NOT NULL unique key")
	require.Contains(t, r.Tables[0].Error, "key: [col, ...]")
	require.Equal(t, report.Match, r.Tables[1].Verdict, "the other tables are still compared")
	// Declaring the key in the mapping makes it comparable.
	r = run(t, small(db.Addr, db.Addr, mapping.Table{Source: "nokey", Key: []string{"a"}}))
	require.Equal(t, report.Match, r.Verdict, r.Tables[0].Error)
}

// Two schemas holding the same information compare equal: renames, wider types, cents
// against decimals, enum labels against codes, trimming and case, time zones, an
// expression, ignored columns and row filters.
func TestMappingBetweenDifferentSchemas(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t,
		`CREATE TABLE legacy_orders (id INT NOT NULL PRIMARY KEY, cust VARCHAR(50) NOT NULL, total_cents BIGINT NOT NULL,
			status ENUM('new','paid','shipped') NOT NULL, email VARCHAR(100) NOT NULL, placed DATETIME NOT NULL,
			first_name VARCHAR(20) NOT NULL, last_name VARCHAR(20) NOT NULL, price DECIMAL(12,2) NOT NULL, legacy_flag INT, deleted TINYINT NOT NULL)`,
		`CREATE TABLE orders_v2 (order_id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(100) NOT NULL, total DECIMAL(14,4) NOT NULL,
			status_code CHAR(1) NOT NULL, email VARCHAR(200) NOT NULL, placed_utc DATETIME(6) NOT NULL, full_name VARCHAR(50) NOT NULL,
			price DECIMAL(14,4) NOT NULL, created_by VARCHAR(10))`,
		`INSERT INTO legacy_orders SELECT seq, CONCAT('cust', seq), seq * 123, ELT(1 + seq % 3, 'new', 'paid', 'shipped'),
			CONCAT(' User', seq, '@Example.com '), '2024-03-01 10:00:00' + INTERVAL seq HOUR, 'Ada', CONCAT('L', seq), seq / 4, seq, seq = 7
			FROM seq_1_to_150`,
		`INSERT INTO orders_v2 SELECT id, cust, total_cents / 100, ELT(1 + id % 3, 'N', 'P', 'S'), LOWER(TRIM(email)),
			placed - INTERVAL 2 HOUR, CONCAT(first_name, ' ', last_name), price, 'svc' FROM legacy_orders WHERE deleted = 0`,
		"UPDATE orders_v2 SET total = total + 0.01 WHERE order_id = 42", // a cent off
	)
	m := mapping.Table{
		Source: "legacy_orders", Target: "orders_v2",
		SourceFilter: "deleted = 0",
		Ignore:       []string{"legacy_flag", "deleted", "first_name", "last_name"},
		IgnoreTarget: []string{"created_by"},
		Columns: []mapping.Column{
			{Source: "id", Target: "order_id"},
			{Source: "cust", Target: "customer"},
			{Source: "total_cents", Target: "total", SourceNormalize: mapping.Normalize{Cents: true}},
			{Source: "status", Target: "status_code", SourceNormalize: mapping.Normalize{Map: map[string]string{"new": "N", "paid": "P", "shipped": "S"}}},
			{Source: "email", Normalize: mapping.Normalize{Trim: true, Case: "lower"}},
			{Source: "placed", Target: "placed_utc", SourceNormalize: mapping.Normalize{TimeZone: "+02:00"}},
			{SourceExpr: "CONCAT(first_name, ' ', last_name)", Target: "full_name"},
		},
	}
	r := run(t, small(db.Addr, db.Addr, m))
	tb := r.Tables[0]
	require.Equal(t, report.Mismatch, tb.Verdict, tb.Error)
	require.Equal(t, int64(149), tb.SourceRows, "the filter drops the deleted row")
	require.Equal(t, report.Counts{Changed: 1}, tb.Counts)
	require.Equal(t, map[string][]string{`{"id":42}`: {"total_cents"}}, changedOf(tb.Changed))
	require.Equal(t, "5166", fmt.Sprint(tb.Changed[0].Columns["total_cents"].Source), "the stored cents are shown")
	require.Equal(t, "51.6700", fmt.Sprint(tb.Changed[0].Columns["total_cents"].Target))
	require.Empty(t, tb.NotCompared)

	// A source column with no counterpart is an error that says how to fix it.
	m.Ignore = []string{"legacy_flag", "deleted"}
	r = run(t, small(db.Addr, db.Addr, m))
	require.Equal(t, report.Error, r.Tables[0].Verdict)
	require.Contains(t, r.Tables[0].Error, "first_name, last_name have no counterpart")
}

// MariaDB against PostgreSQL: the new service moved to another engine, with its own
// types. Equal data compares equal; planted differences are found.
func TestMariaDBAgainstPostgreSQL(t *testing.T) {
	t.Parallel()
	my := testenv.NewMySQLDatabase(t)
	pg := testenv.NewPGDatabase(t)
	my.Exec(t,
		`CREATE TABLE customers (id INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL, balance_cents INT NOT NULL,
			tier ENUM('gold','silver') NOT NULL, active TINYINT(1) NOT NULL, joined DATETIME(3) NOT NULL, prefs JSON NULL,
			score FLOAT NULL, code VARCHAR(12) COLLATE utf8mb4_general_ci NOT NULL, UNIQUE KEY (code)) DEFAULT CHARSET=utf8mb4`,
		`INSERT INTO customers SELECT seq, CONCAT('Cüstomer ', seq), seq * 250 + 1, IF(seq % 2, 'gold', 'silver'), seq % 3 = 0,
			'2023-12-31 23:00:00.5' + INTERVAL seq DAY, IF(seq % 4 = 0, NULL, JSON_OBJECT('lang', 'fr', 'n', seq * 1.5)),
			seq / 8, CONCAT(ELT(1 + seq % 2, 'a', 'B'), seq) FROM seq_1_to_250`)
	pg.Exec(t,
		`CREATE TABLE clients (client_id BIGINT PRIMARY KEY, name TEXT NOT NULL, balance NUMERIC(12,2) NOT NULL, tier SMALLINT NOT NULL,
			active BOOLEAN NOT NULL, joined TIMESTAMPTZ NOT NULL, prefs JSONB, score REAL, code TEXT NOT NULL UNIQUE)`)
	rows, err := my.DB.Query(`SELECT id, name, balance_cents, tier, active, DATE_FORMAT(joined, '%Y-%m-%d %H:%i:%s.%f'), prefs, score, code FROM customers`)
	require.NoError(t, err)
	for rows.Next() {
		var id, cents int64
		var name, tier, joined, code string
		var active bool
		var prefs, score *string
		require.NoError(t, rows.Scan(&id, &name, &cents, &tier, &active, &joined, &prefs, &score, &code))
		tierCode := map[string]int{"gold": 1, "silver": 2}[tier]
		switch id {
		case 77:
			name = "Cüstomer seventy-seven" // planted
		case 200:
			cents++ // a cent
		case 12:
			joined = strings.Replace(joined, ".500000", ".500001", 1) // a microsecond
		case 99:
			continue // missing
		}
		_, err := pg.DB.Exec(`INSERT INTO clients VALUES ($1, $2, $3::numeric / 100, $4, $5, $6::timestamp AT TIME ZONE 'UTC', $7::jsonb, $8::real, $9)`,
			id, name, cents, tierCode, active, joined, prefs, score, code)
		require.NoError(t, err)
	}
	require.NoError(t, rows.Err())
	pg.Exec(t, `INSERT INTO clients VALUES (5000, 'new only', 0, 1, true, now(), NULL, NULL, 'zz')`)
	// Same JSON in another form: keys in another order, 1.50 written with a trailing zero.
	pg.Exec(t, `UPDATE clients SET prefs = '{"n": 1.50, "lang": "fr"}' WHERE client_id = 1`)

	m := mapping.Table{Source: "customers", Target: "clients", Key: []string{"id"}, Columns: []mapping.Column{
		{Source: "id", Target: "client_id"},
		{Source: "balance_cents", Target: "balance", SourceNormalize: mapping.Normalize{Cents: true}},
		{Source: "tier", SourceNormalize: mapping.Normalize{Map: map[string]string{"gold": "1", "silver": "2"}}},
	}}
	r := run(t, small(my.Addr, pg.Addr, m))
	tb := r.Tables[0]
	require.Equal(t, report.Mismatch, tb.Verdict, tb.Error)
	require.Equal(t, report.Counts{Missing: 1, Extra: 1, Changed: 3}, tb.Counts)
	require.Equal(t, []string{`{"id":99}`}, keysOf(tb.Missing))
	require.Equal(t, []string{`{"id":5000}`}, keysOf(tb.Extra))
	require.Equal(t, map[string][]string{`{"id":77}`: {"name"}, `{"id":200}`: {"balance_cents"}, `{"id":12}`: {"joined"}}, changedOf(tb.Changed))
	validate(t, report.Build([]report.Run{*r}, report.Policy{}, time.Now()))

	// Keyed by a string column in a case-insensitive collation on MariaDB and C.UTF-8 on
	// PostgreSQL: ranges agree because both sides use byte order.
	m.Key = []string{"code"}
	r = run(t, small(my.Addr, pg.Addr, m))
	tb = r.Tables[0]
	require.Equal(t, report.Counts{Missing: 1, Extra: 1, Changed: 3}, tb.Counts, tb.Error)
	require.Equal(t, []string{`{"code":"zz"}`}, keysOf(tb.Extra))

	// And from PostgreSQL back to MariaDB.
	back := mapping.Table{Source: "clients", Target: "customers", Key: []string{"client_id"}, Columns: []mapping.Column{
		{Source: "client_id", Target: "id"},
		{Source: "balance", Target: "balance_cents", TargetNormalize: mapping.Normalize{Cents: true}},
		{Source: "tier", TargetNormalize: mapping.Normalize{Map: map[string]string{"gold": "1", "silver": "2"}}},
	}}
	r = run(t, small(pg.Addr, my.Addr, back))
	require.Equal(t, report.Counts{Missing: 1, Extra: 1, Changed: 3}, r.Tables[0].Counts, r.Tables[0].Error)
}

// Rows change on both sides while the comparison runs, the target lagging the source by a
// replication delay: no false mismatch; a real difference is still found.
func TestLiveChangesAreRecheckedNotReported(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE live_src (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20))", "CREATE TABLE live_tgt LIKE live_src",
		"INSERT INTO live_src SELECT seq, 0, 'x' FROM seq_1_to_20000", "INSERT INTO live_tgt SELECT * FROM live_src",
		"UPDATE live_tgt SET note = 'real' WHERE id = 2500") // a real mismatch
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		// Update a source row, replicate it to the target 150 ms later (the CDC delay).
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			id := 1 + (i*7919)%20000
			if id == 2500 {
				continue
			}
			if _, err := db.DB.ExecContext(ctx, "UPDATE live_src SET v = v + 1 WHERE id = ?", id); err != nil {
				return
			}
			writes.Add(1)
			wg.Add(1)
			go func(id int) {
				defer wg.Done()
				time.Sleep(150 * time.Millisecond)
				_, _ = db.DB.Exec("UPDATE live_tgt t JOIN live_src s USING (id) SET t.v = s.v WHERE id = ?", id)
			}(id)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for writes.Load() < 50 { // the writer is under way before the comparison starts
		time.Sleep(10 * time.Millisecond)
	}
	cfg := small(db.Addr, db.Addr, mapping.Table{Source: "live_src", Target: "live_tgt"})
	cfg.MaxChunkRows, cfg.RowThreshold = 200, 50
	cfg.RecheckAfter, cfg.RecheckTimes = 400*time.Millisecond, 3
	r := run(t, cfg)
	cancel()
	wg.Wait()
	tb := r.Tables[0]
	require.Greater(t, writes.Load(), int64(100), "rows changed during the run")
	t.Logf("%d writes, %d rows caught in flight and converged", writes.Load(), tb.Counts.InFlight)
	require.Empty(t, tb.Error)
	require.Equal(t, int64(0), tb.Counts.Missing+tb.Counts.Extra)
	require.Equal(t, map[string][]string{`{"id":2500}`: {"note"}}, changedOf(tb.Changed), "only the real difference is reported")
	require.Equal(t, int64(1), tb.Counts.Changed)
}

// A run interrupted half-way resumes from the last completed chunk and ends with the same
// counts as a run done in one go.
func TestResumedRun(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE r_src (id INT PRIMARY KEY, v VARCHAR(10))", "CREATE TABLE r_tgt LIKE r_src",
		"INSERT INTO r_src SELECT seq, CONCAT('v', seq) FROM seq_1_to_2000", "INSERT INTO r_tgt SELECT * FROM r_src",
		"UPDATE r_tgt SET v = 'changed' WHERE id IN (10, 1500)", "DELETE FROM r_tgt WHERE id IN (20, 1900)")
	st, err := store.New(context.Background(), db.DB, "strangler_")
	require.NoError(t, err)
	cfg := small(db.Addr, db.Addr, mapping.Table{Source: "r_src", Target: "r_tgt"}, mapping.Table{Source: "r_src", Target: "r_src"})
	cfg.Store = st
	cfg.Workers = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = &cancelAfter{rows: 1000, cancel: cancel}
	r, err := compare.RunData(ctx, cfg)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, "interrupted", r.Status)
	id := r.ID
	tps, err := st.LoadTables(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, tps, 1)
	require.False(t, tps[0].Done)
	require.NotNil(t, tps[0].Resume, "progress was saved")
	done := tps[0].Result.SourceRows
	require.Greater(t, done, int64(0))
	require.Less(t, done, int64(2000))

	cfg.Progress = nil
	cfg.Resume = true
	r = run(t, cfg)
	require.Equal(t, id, r.ID, "the same run goes on")
	tb := r.Tables[0]
	require.True(t, tb.Resumed)
	require.Equal(t, int64(2000), tb.SourceRows, "no chunk counted twice")
	require.Equal(t, report.Counts{Missing: 2, Changed: 2}, tb.Counts)
	require.Equal(t, report.Match, r.Tables[1].Verdict)

	runs, err := st.Runs(context.Background(), store.Query{Kind: "data"})
	require.NoError(t, err)
	require.Equal(t, "done", runs[0].Status)
	require.Equal(t, report.Mismatch, runs[0].Verdict)
	var n int
	require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM strangler_compare_diffs WHERE run_id = ?", id).Scan(&n))
	require.Equal(t, 4, n)
	// Without --resume a new run starts from scratch.
	cfg.Resume = false
	r = run(t, cfg)
	require.NotEqual(t, id, r.ID)
	require.False(t, r.Tables[0].Resumed)
}

type cancelAfter struct {
	mu     sync.Mutex
	seen   int64
	rows   int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Start(string, int64) {}
func (c *cancelAfter) Finish(string)       {}
func (c *cancelAfter) Add(_ string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen += n
	if c.seen >= c.rows {
		c.cancel()
	}
}

// The fix SQL makes the target match: once applied, a second comparison matches.
func TestFixSQLMakesTargetMatch(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE f_src (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(8,2), raw VARBINARY(4), at DATETIME(6))",
		"CREATE TABLE f_tgt (id INT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(8,2), raw VARBINARY(4), at DATETIME(6))",
		`INSERT INTO f_src SELECT seq, CONCAT('it''s ', seq), seq / 3, UNHEX('00FF'), '2024-01-01 00:00:00.5' FROM seq_1_to_100`,
		"INSERT INTO f_tgt SELECT * FROM f_src",
		"DELETE FROM f_tgt WHERE id = 5", "INSERT INTO f_tgt VALUES (500, 'x', 1, NULL, NULL)",
		`UPDATE f_tgt SET label = 'bad\\', raw = NULL WHERE id = 7`)
	m := mapping.Table{Source: "f_src", Target: "f_tgt", Columns: []mapping.Column{{Source: "name", Target: "label"}}}
	var fix strings.Builder
	cfg := small(db.Addr, db.Addr, m)
	cfg.FixSQL = &fix
	r := run(t, cfg)
	require.Equal(t, report.Counts{Missing: 1, Extra: 1, Changed: 1}, r.Tables[0].Counts)
	stmts := strings.Split(strings.TrimSpace(fix.String()), "\n")
	require.Len(t, stmts, 3, fix.String())
	for _, s := range stmts {
		db.Exec(t, s)
	}
	cfg.FixSQL = nil
	r = run(t, cfg)
	require.Equal(t, report.Match, r.Verdict, "%+v", r.Tables[0].Changed)
}

// validate checks a report against docs/compare-report.schema.json.
func validate(t *testing.T, d *report.Document) {
	t.Helper()
	var buf strings.Builder
	require.NoError(t, d.WriteJSON(&buf))
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join(testenv.ModuleRoot(), "docs", "compare-report.schema.json"))
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(buf.String()))
	require.NoError(t, err)
	require.NoError(t, sch.Validate(inst), buf.String())
}
