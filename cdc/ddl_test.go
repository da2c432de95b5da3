package cdc_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

// ddlScript creates a table and takes it through every kind of DDL, writing a row after
// each step. Every row must come out with the columns of its time.
var ddlScript = []string{
	"CREATE TABLE p (id INT PRIMARY KEY, a VARCHAR(10), b INT)",
	"INSERT INTO p VALUES (1, 'a1', 1)",
	"ALTER TABLE p ADD COLUMN c VARCHAR(5) DEFAULT '7' AFTER a",            // added, in the middle
	"INSERT INTO p (id, a, c, b) VALUES (2, 'a2', '8', 2)",                 //
	"ALTER TABLE p DROP COLUMN b",                                          // dropped
	"INSERT INTO p VALUES (3, 'a3', '9')",                                  //
	"ALTER TABLE p RENAME COLUMN a TO alpha",                               // renamed
	"INSERT INTO p VALUES (4, 'a4', '10')",                                 //
	"ALTER TABLE p MODIFY c BIGINT UNSIGNED",                               // retyped
	"INSERT INTO p VALUES (5, 'a5', 18446744073709551615)",                 //
	"RENAME TABLE p TO q",                                                  // table renamed
	"INSERT INTO q VALUES (6, 'a6', 12)",                                   //
	"CREATE TABLE r LIKE q",                                                // table created from another
	"INSERT INTO r VALUES (7, 'a7', 13)",                                   //
	"DROP TABLE q",                                                         // table dropped
	"CREATE TABLE q (id INT PRIMARY KEY, other TEXT, e ENUM('x','y'))",     // and created anew, other shape
	"INSERT INTO q VALUES (8, 'x', 'y')",                                   //
	"ALTER TABLE q ADD COLUMN IF NOT EXISTS e2 SET('m','n') DEFAULT 'm,n'", // MariaDB syntax
	"INSERT INTO q (id, other, e) VALUES (9, 'z', 'x')",                    //
}

// ddlWant is each row as it must come out: table, then column=value in column order.
var ddlWant = []struct {
	table string
	cols  []string
	vals  []string
}{
	{"p", []string{"id", "a", "b"}, []string{"1", `"a1"`, "1"}},
	{"p", []string{"id", "a", "c", "b"}, []string{"2", `"a2"`, `"8"`, "2"}},
	{"p", []string{"id", "a", "c"}, []string{"3", `"a3"`, `"9"`}},
	{"p", []string{"id", "alpha", "c"}, []string{"4", `"a4"`, `"10"`}},
	{"p", []string{"id", "alpha", "c"}, []string{"5", `"a5"`, "18446744073709551615"}},
	{"q", []string{"id", "alpha", "c"}, []string{"6", `"a6"`, "12"}},
	{"r", []string{"id", "alpha", "c"}, []string{"7", `"a7"`, "13"}},
	{"q", []string{"id", "other", "e"}, []string{"8", `"x"`, `"y"`}},
	{"q", []string{"id", "other", "e", "e2"}, []string{"9", `"z"`, `"x"`, `"m,n"`}},
}

func requireDDLEvents(t *testing.T, evs []ev) {
	t.Helper()
	require.Len(t, evs, len(ddlWant))
	for i, w := range ddlWant {
		e := evs[i]
		require.Equal(t, w.table, e.Source.Table, "row %d: %s", i+1, e.raw)
		require.Len(t, e.After, len(w.cols), "row %d has the columns of its time: %s", i+1, e.raw)
		for j, c := range w.cols {
			require.Equal(t, w.vals[j], e.val("after", c), "row %d column %s: %s", i+1, c, e.raw)
		}
	}
	// Column order is the table's order at the time.
	require.Regexp(t, `"after":\{"id":2,"a":"a2","c":"8","b":2\}`, string(evs[1].raw))
}

// runScript writes the DDL script, with the given binlog_row_metadata.
func runScript(t *testing.T, db *testenv.MySQLDatabase, metadata string, stmts []string) {
	t.Helper()
	write := func() error {
		for _, s := range stmts {
			if _, err := db.DB.Exec(s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	if metadata == "MINIMAL" {
		db.WithMinimalRowMetadata(t, write)
		return
	}
	require.NoError(t, write())
}

// TestColumnsAcrossDDL: a start before a table's CREATE (as --start earliest over a
// binlog holding it) and a restart from a checkpoint taken before the ALTERs both give
// every row the columns of its time, whether the binlog carries column names (FULL) or
// not (MINIMAL, where the schema history does the work).
func TestColumnsAcrossDDL(t *testing.T) {
	t.Parallel()
	for _, metadata := range []string{"FULL", "MINIMAL"} {
		t.Run(metadata+"/one run from before CREATE", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			runScript(t, h.db, metadata, ddlScript)
			// The daemon starts after all the DDL: its catalog from information_schema
			// is today's, and must not be used for yesterday's rows.
			stop := testenv.StartAt(t, h.db.DB)
			cfg := h.config()
			cfg.StopAt = stop
			require.NoError(t, startDaemon(t, cfg).wait(t, 60*time.Second))
			requireDDLEvents(t, readFileEvents(t, h.out))
		})
		t.Run(metadata+"/restart from a checkpoint taken before the ALTERs", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			runScript(t, h.db, metadata, ddlScript[:2])
			mid := testenv.StartAt(t, h.db.DB)
			runScript(t, h.db, metadata, ddlScript[2:])
			end := testenv.StartAt(t, h.db.DB)

			cfg := h.config()
			cfg.StopAt = mid
			require.NoError(t, startDaemon(t, cfg).wait(t, 60*time.Second))
			require.Len(t, readFileEvents(t, h.out), 1)
			// The checkpoint carries the schema as it was at its position.
			raw, err := os.ReadFile(h.checkpoint)
			require.NoError(t, err)
			require.Contains(t, string(raw), `"name": "b"`)

			cfg.StopAt = end
			require.NoError(t, startDaemon(t, cfg).wait(t, 60*time.Second))
			requireDDLEvents(t, readFileEvents(t, h.out))
		})
	}
}

// TestStartEarliest reads a whole binlog from its first file: on a server of its own,
// so the binlog is this test's alone.
func TestStartEarliest(t *testing.T) {
	t.Parallel()
	root := testenv.StartScratchMariaDB(t, "--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL",
		"--binlog-row-metadata=MINIMAL", "--server-id=7")
	admin := testenv.OpenMySQL(t, root)
	_, err := admin.Exec("CREATE DATABASE shop")
	require.NoError(t, err)
	shop := testenv.OpenMySQL(t, root[:len(root)-1]+"/shop")
	for _, s := range ddlScript {
		_, err := shop.Exec(s)
		require.NoError(t, err, s)
	}
	head := currentPos(t, admin)

	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")
	code, output := testenv.RunStrangler(t, 60*time.Second, nil, "cdc", "run", "--source", root, "--server-id", "99",
		"--include", "shop.*", "--sink", "file:"+out, "--checkpoint", "file:"+filepath.Join(dir, "cp.json"),
		"--start", "earliest", "--stop-at", head)
	require.Equal(t, 0, code, output)
	require.Contains(t, output, "binlog_row_metadata is MINIMAL", "the daemon warns that names come from its history")
	requireDDLEvents(t, readFileEvents(t, out))
}

func currentPos(t *testing.T, db *sql.DB) string {
	return testenv.StartAt(t, db)
}

// TestMisconfiguredSourceIsRefused: a source not set up for CDC stops `cdc run` before
// it reads anything, naming each setting and its fix.
func TestMisconfiguredSourceIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		options []string
		want    []string
	}{
		{"binlog off", nil, []string{"log_bin is OFF", "--log-bin"}},
		{"mixed format, minimal image", []string{"--log-bin=binlog", "--binlog-format=MIXED", "--binlog-row-image=MINIMAL", "--server-id=3"},
			[]string{"binlog_format is MIXED", "binlog_format=ROW", "binlog_row_image is MINIMAL", "binlog_row_image=FULL"}},
		{"statement format", []string{"--log-bin=binlog", "--binlog-format=STATEMENT", "--server-id=3"}, []string{"binlog_format is STATEMENT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := testenv.StartScratchMariaDB(t, tt.options...)
			code, out := testenv.RunStrangler(t, 60*time.Second, nil, "cdc", "run", "--source", root, "--server-id", "99", "--sink", "discard",
				"--checkpoint", "file:"+filepath.Join(t.TempDir(), "cp.json"))
			require.NotEqual(t, 0, code)
			require.Contains(t, out, "not set up for change data capture")
			for _, w := range tt.want {
				require.Contains(t, out, w)
			}
		})
	}

	t.Run("missing replication privileges", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		user := testenv.UniqueName("u")
		admin := testenv.OpenMySQL(t, h.db.Root)
		_, err := admin.Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'")
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = admin.Exec("DROP USER '" + user + "'@'%'") })
		_, err = admin.Exec("GRANT SELECT ON *.* TO '" + user + "'@'%'")
		require.NoError(t, err)
		src := fmt.Sprintf("mysql://%s:pw@tcp(%s)/", user, hostPortOf(t, h.db.Root))
		code, out := testenv.RunStrangler(t, 60*time.Second, nil, "cdc", "run", "--source", src, "--server-id", "99", "--sink", "discard",
			"--checkpoint", "file:"+filepath.Join(t.TempDir(), "cp.json"))
		require.NotEqual(t, 0, code)
		require.Contains(t, out, "REPLICATION SLAVE")
		require.Contains(t, out, "GRANT")
		require.NotContains(t, out, ":pw@", "passwords are not printed")
	})
}

// TestPurgedBinlogIsAnError: a daemon whose checkpoint points into binlogs the source
// has since purged stops with an error that says so, by GTID as by file position, and
// never jumps to the present. On a server of its own, so that purging is harmless.
func TestPurgedBinlogIsAnError(t *testing.T) {
	t.Parallel()
	root := testenv.StartScratchMariaDB(t, "--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL", "--server-id=9")
	admin := testenv.OpenMySQL(t, root)
	for _, s := range []string{"CREATE DATABASE shop", "CREATE TABLE shop.t (id INT PRIMARY KEY)", "INSERT INTO shop.t VALUES (1)"} {
		_, err := admin.Exec(s)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	cp := "file:" + filepath.Join(dir, "cp.json")
	out := filepath.Join(dir, "events.jsonl")
	args := []string{"cdc", "run", "--source", root, "--server-id", "99", "--include", "shop.*", "--sink", "file:" + out, "--checkpoint", cp}
	code, output := testenv.RunStrangler(t, 60*time.Second, nil, append(args, "--start", "earliest", "--stop-at", currentPos(t, admin))...)
	require.Equal(t, 0, code, output)
	require.Len(t, readFileEvents(t, out), 1)

	// While the daemon is away, the source writes on and purges the binlogs it needs.
	for _, s := range []string{"INSERT INTO shop.t VALUES (2)", "FLUSH BINARY LOGS", "INSERT INTO shop.t VALUES (3)", "FLUSH BINARY LOGS"} {
		_, err := admin.Exec(s)
		require.NoError(t, err)
	}
	var last string
	rows, err := admin.Query("SHOW BINARY LOGS")
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var size int64
		require.NoError(t, rows.Scan(&name, &size))
		last = name
	}
	require.NoError(t, rows.Err())
	_, err = admin.Exec("PURGE BINARY LOGS TO '" + last + "'")
	require.NoError(t, err)

	code, output = testenv.RunStrangler(t, 60*time.Second, nil, append(args, "--source-retry-timeout", "5s")...)
	require.NotEqual(t, 0, code, output)
	require.Regexp(t, `(?i)purged|no longer on the source`, output)
	require.Contains(t, output, "--reset-checkpoint")
	require.Len(t, readFileEvents(t, out), 1, "nothing streamed from a later position")
}
