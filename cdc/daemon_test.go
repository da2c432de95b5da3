package cdc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/internal/testenv"
)

// TestChangesArriveInOrderWithTheirEnvelope: inserts, updates, deletes, multi-row
// statements and multi-statement transactions come out in commit order, one event per
// row change, with Debezium's envelope, keys, stable ids and transaction order.
func TestChangesArriveInOrderWithTheirEnvelope(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t,
		"CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, status VARCHAR(20) NOT NULL, total DECIMAL(10,2))",
		"CREATE TABLE items (order_id BIGINT UNSIGNED, line INT, sku VARCHAR(10), PRIMARY KEY (order_id, line))",
		"CREATE TABLE notes (body TEXT)", // no key: ordered by table
	)
	d := startDaemon(t, h.config())
	h.db.Exec(t,
		"INSERT INTO orders VALUES (1, 'new', 10.50)",
		"INSERT INTO orders VALUES (2, 'new', 3.00), (3, 'new', NULL)",
		"UPDATE orders SET status = 'paid' WHERE id = 1",
		"DELETE FROM orders WHERE id = 3",
	)
	tx, err := h.db.DB.Begin()
	require.NoError(t, err)
	for _, s := range []string{
		"INSERT INTO items VALUES (2, 1, 'A'), (2, 2, 'B')",
		"UPDATE orders SET status = 'packed', total = 4.00 WHERE id = 2",
		"INSERT INTO items VALUES (2, 3, 'C')",
		"INSERT INTO notes VALUES ('keyless')",
	} {
		_, err := tx.Exec(s)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	h.db.Exec(t, "UPDATE orders SET id = 20 WHERE id = 2") // the key changes

	evs := waitFileEvents(t, h.out, 12, 30*time.Second)
	require.NoError(t, d.stop(t))
	require.Len(t, readFileEvents(t, h.out), 12)

	type want struct{ op, table, key string }
	wants := []want{
		{"c", "orders", `{"id":1}`},
		{"c", "orders", `{"id":2}`},
		{"c", "orders", `{"id":3}`},
		{"u", "orders", `{"id":1}`},
		{"d", "orders", `{"id":3}`},
		{"c", "items", `{"order_id":2,"line":1}`},
		{"c", "items", `{"order_id":2,"line":2}`},
		{"u", "orders", `{"id":2}`},
		{"c", "items", `{"order_id":2,"line":3}`},
		{"c", "notes", `null`},
		{"d", "orders", `{"id":2}`},
		{"c", "orders", `{"id":20}`},
	}
	ids := map[string]bool{}
	for i, w := range wants {
		e := evs[i]
		require.Equal(t, w.op, e.Op, "event %d: %s", i, e.raw)
		require.Equal(t, w.table, e.Source.Table, "event %d", i)
		require.JSONEq(t, w.key, keyJSON(t, e), "event %d", i)
		require.Equal(t, h.db.Name, e.Source.DB)
		require.Equal(t, "mariadb", e.Source.Connector)
		require.NotNil(t, e.Source.GTID, "MariaDB transactions have GTIDs")
		require.Equal(t, *e.Source.GTID, e.Txn.ID)
		require.Equal(t, uint32(1), e.Source.ServerID)
		require.NotEmpty(t, e.Source.File)
		require.NotZero(t, e.Source.Pos)
		require.Equal(t, "false", e.Source.Snapshot)
		require.False(t, ids[e.ID], "ids are unique: %s", e.ID)
		ids[e.ID] = true
	}
	// Values and images.
	require.Equal(t, `"10.50"`, evs[0].val("after", "total"))
	require.Nil(t, evs[0].Before)
	require.Equal(t, `null`, evs[2].val("after", "total"))
	require.Equal(t, `"new"`, evs[3].val("before", "status"))
	require.Equal(t, `"paid"`, evs[3].val("after", "status"))
	require.Nil(t, evs[4].After)
	require.Equal(t, `3`, evs[4].val("before", "id"))

	// One transaction, four statements: one txn id, total order 1..5, per-table order.
	txEvents := evs[5:10]
	for i, e := range txEvents {
		require.Equal(t, txEvents[0].Txn.ID, e.Txn.ID)
		require.Equal(t, int64(i+1), e.Txn.TotalOrder)
		require.Equal(t, fmt.Sprintf("%s/%d", e.Txn.ID, i+1), e.ID)
	}
	require.Equal(t, []int64{1, 2, 1, 3, 1}, []int64{txEvents[0].Txn.DataCollectionOrder, txEvents[1].Txn.DataCollectionOrder, txEvents[2].Txn.DataCollectionOrder, txEvents[3].Txn.DataCollectionOrder, txEvents[4].Txn.DataCollectionOrder})
	// The two rows of one multi-row insert share the rows event, with their index.
	require.Equal(t, evs[1].Source.Pos, evs[2].Source.Pos)
	require.Equal(t, []int{0, 1}, []int{evs[1].Source.Row, evs[2].Source.Row})

	// A change of primary key is a delete under the old key then a create under the new.
	require.Equal(t, evs[10].Txn.ID, evs[11].Txn.ID)
	require.True(t, strings.HasSuffix(evs[10].ID, "/d"), evs[10].ID)
	require.True(t, strings.HasSuffix(evs[11].ID, "/c"), evs[11].ID)
	require.Equal(t, `"packed"`, evs[11].val("after", "status"))
}

func keyJSON(t *testing.T, e ev) string {
	if e.Key == nil {
		return "null"
	}
	b, err := json.Marshal(e.Key)
	require.NoError(t, err)
	return string(b)
}

// TestValuesEndToEnd: the daemon emits values exactly as stored (the decoder's own tests
// cover every type; this proves the wiring: value options of the reader, JSON encoding).
func TestValuesEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, `CREATE TABLE v (
		id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(8,3), dt DATETIME(3), ts TIMESTAMP(6) NULL,
		tm TIME(2), y YEAR, e ENUM('x','y','z'), s SET('x','y','z'), b VARBINARY(8), j JSON,
		f FLOAT, bits BIT(10), txt VARCHAR(20) CHARACTER SET latin1)`)
	d := startDaemon(t, h.config())
	conn, err := h.db.DB.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "SET time_zone = '+05:00'")
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), `INSERT INTO v VALUES (18446744073709551615, -5.1, '2024-02-29 13:14:15.123',
		'2024-02-29 17:14:15.500000', '-100:00:00.5', 2024, 'y', 'x,z', x'00ff10', '{"a": [1, "é"]}', 1.5, b'1000000001', 'café')`)
	require.NoError(t, err)
	evs := waitFileEvents(t, h.out, 1, 30*time.Second)
	require.NoError(t, d.stop(t))
	e := evs[0]
	for col, want := range map[string]string{
		"id":   `18446744073709551615`,
		"d":    `"-5.100"`,
		"dt":   `"2024-02-29T13:14:15.123"`,
		"ts":   `"2024-02-29T12:14:15.500000Z"`,
		"tm":   `"-100:00:00.50"`,
		"y":    `2024`,
		"e":    `"y"`,
		"s":    `"x,z"`,
		"b":    `"AP8Q"`,
		"j":    `{"a":[1,"é"]}`,
		"f":    `1.5`,
		"bits": `513`,
		"txt":  `"café"`,
	} {
		require.Equal(t, want, e.val("after", col), "column %s in %s", col, e.raw)
	}
}

// TestCleanStopSendsNothingTwice: a stop (SIGTERM in the binary) delivers what was read
// and checkpoints it; the next start sends only what came after. With the checkpoint in
// a table of the streamed database itself, the checkpoint's own writes are not streamed.
func TestCleanStopSendsNothingTwice(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"file", "mysql"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
			cfg := h.config()
			if store == "mysql" {
				cfg.Checkpoint = h.db.Addr
			}
			d := startDaemon(t, cfg)
			for i := 1; i <= 50; i++ {
				h.db.Exec(t, fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", i, i))
			}
			waitFileEvents(t, h.out, 50, 30*time.Second)
			require.NoError(t, d.stop(t))

			for i := 51; i <= 80; i++ {
				h.db.Exec(t, fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", i, i))
			}
			d = startDaemon(t, cfg)
			evs := waitFileEvents(t, h.out, 80, 30*time.Second)
			require.NoError(t, d.stop(t))
			evs = readFileEvents(t, h.out)
			require.Len(t, evs, 80, "nothing sent twice, nothing but table t")
			for i, e := range evs {
				require.Equal(t, "t", e.Source.Table)
				require.Equal(t, fmt.Sprint(i+1), e.val("after", "id"))
			}
			if store == "mysql" {
				var n int
				require.NoError(t, h.db.DB.QueryRow("SELECT COUNT(*) FROM strangler_cdc_checkpoints").Scan(&n))
				require.Equal(t, 1, n)
			}
		})
	}
}

// TestSIGTERMExitsZeroAndStatusReportsCaughtUp runs the real binary.
func TestSIGTERMExitsZeroAndStatusReportsCaughtUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	p := testenv.StartStrangler(t, nil, h.args()...)
	for i := 1; i <= 20; i++ {
		h.db.Exec(t, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	waitFileEvents(t, h.out, 20, 60*time.Second)
	require.Equal(t, 0, p.Terminate(30*time.Second), p.Output())

	code, out := testenv.RunStrangler(t, 30*time.Second, nil, "cdc", "status", "--source", h.db.Root, "--checkpoint", "file:"+h.checkpoint, "-o", "json")
	require.Equal(t, 0, code, out)
	var st cdc.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.NotNil(t, st.Checkpoint)
	require.GreaterOrEqual(t, st.LagBytes, int64(0))
	require.NotEmpty(t, st.Head.File)

	code, out = testenv.RunStrangler(t, 30*time.Second, nil, "cdc", "status", "--source", h.db.Root, "--checkpoint", "file:"+h.checkpoint)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "lag bytes")
	require.Contains(t, out, "source head")
}

// TestStopAt ends the daemon by itself once everything before the position is delivered.
func TestStopAt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
	stop := testenv.StartAt(t, h.db.DB)
	h.db.Exec(t, "INSERT INTO t VALUES (3)")
	cfg := h.config()
	cfg.StopAt = stop
	d := startDaemon(t, cfg)
	require.NoError(t, d.wait(t, 30*time.Second))
	evs := readFileEvents(t, h.out)
	require.Len(t, evs, 2, "the row inserted after --stop-at is not streamed")
}

// TestStartPositions: --start latest and --start gtid:SET.
func TestStartPositions(t *testing.T) {
	t.Parallel()
	t.Run("latest", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
		cfg := h.config()
		cfg.Start = "latest"
		d := startDaemon(t, cfg)
		require.Eventually(t, func() bool { _, err := os.Stat(h.checkpoint); return err == nil }, 30*time.Second, 20*time.Millisecond)
		h.db.Exec(t, "INSERT INTO t VALUES (2)")
		evs := waitFileEvents(t, h.out, 1, 30*time.Second)
		require.NoError(t, d.stop(t))
		require.Equal(t, "2", evs[0].val("after", "id"), "what was there before the start is not streamed")
		require.Len(t, readFileEvents(t, h.out), 1)
	})
	t.Run("gtid", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
		var gtid string
		require.NoError(t, h.db.DB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid))
		h.db.Exec(t, "INSERT INTO t VALUES (2)")
		stop := testenv.StartAt(t, h.db.DB)
		cfg := h.config()
		cfg.Start = "gtid:" + gtid
		cfg.StopAt = stop
		require.NoError(t, startDaemon(t, cfg).wait(t, 60*time.Second))
		evs := readFileEvents(t, h.out)
		require.Len(t, evs, 1)
		require.Equal(t, "2", evs[0].val("after", "id"))
	})
}

// TestReconnectsWithoutLossOrDuplicates cuts the binlog connection again and again while
// transactions are written: every change arrives once.
func TestReconnectsWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100))")
	proxy := testenv.NewTCPProxy(t, "127.0.0.1:"+portOf(t, h.db.Root))
	cfg := h.config()
	cfg.Source = strings.Replace(h.db.Root, hostPortOf(t, h.db.Root), proxy.Addr(), 1)
	d := startDaemon(t, cfg)
	h.db.Exec(t, "INSERT INTO t VALUES (-1, 'before the cuts')")
	waitFileEvents(t, h.out, 1, 30*time.Second)

	const txs, rowsPerTx = 40, 25
	for i := 0; i < txs; i++ {
		var vals []string
		for r := 0; r < rowsPerTx; r++ {
			vals = append(vals, fmt.Sprintf("(%d, REPEAT('x', 90))", i*rowsPerTx+r))
		}
		h.db.Exec(t, "INSERT INTO t VALUES "+strings.Join(vals, ","))
		switch i % 10 {
		case 2:
			proxy.Cut()
		case 6:
			// The source is "down" for a while: connections are refused, then it is back.
			proxy.Refuse(true)
			proxy.Cut()
			time.Sleep(700 * time.Millisecond)
			proxy.Refuse(false)
		}
	}
	waitFileEvents(t, h.out, 1+txs*rowsPerTx, 60*time.Second)
	require.NoError(t, d.stop(t))
	evs := readFileEvents(t, h.out)[1:]
	require.Len(t, evs, txs*rowsPerTx, "every change exactly once")
	ids := map[string]bool{}
	for i, e := range evs {
		require.Equal(t, fmt.Sprint(i), e.val("after", "id"))
		// Ids and transaction order survive a reconnection inside a transaction.
		require.Equal(t, fmt.Sprintf("%s/%d", e.Txn.ID, e.Txn.TotalOrder), e.ID)
		require.Equal(t, int64(i%rowsPerTx+1), e.Txn.TotalOrder, e.ID)
		require.False(t, ids[e.ID], "duplicate id %s", e.ID)
		ids[e.ID] = true
	}
	require.Greater(t, proxy.Accepts(), 2, "the connection was cut and re-established")
}

// TestPurgedCheckpointIsAnError: a checkpoint whose binlog is gone stops the daemon with
// an error that says so, never a silent jump to the present.
func TestPurgedCheckpointIsAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	st, err := checkpoint.NewFileStore(h.checkpoint)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(h.checkpoint, []byte(`{"resume":{"file":"binlog.000000","pos":4},"source":{"flavor":"mariadb","server_id":1},"saved_at":"2026-01-01T00:00:00Z","version":"test"}`), 0o644))
	_ = st
	cfg := h.config()
	cfg.SourceRetryTimeout = 5 * time.Second
	err = cdc.Run(context.Background(), cfg)
	require.Error(t, err)
	require.Regexp(t, regexp.MustCompile(`(?i)no longer on the source|purged`), err.Error())
	require.Contains(t, err.Error(), "--reset-checkpoint")
	require.Empty(t, readFileEvents(t, h.out))
	data, err := os.ReadFile(h.checkpoint)
	require.NoError(t, err)
	require.Contains(t, string(data), "binlog.000000", "the checkpoint is left as it was")
}

// TestBadConfigurationIsRefusedWithItsFix: the binary exits non-zero naming the setting.
func TestBadConfigurationIsRefusedWithItsFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no source", []string{"cdc", "run", "--server-id", "5", "--sink", "discard"}, []string{"--source is required"}},
		{"no server id", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--sink", "discard"}, []string{"--server-id is required"}},
		{"no stream", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--server-id", "5"}, []string{"--stream is required"}},
		{"bad sink", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--server-id", "5", "--sink", "kafka"}, []string{"--sink \"kafka\"", "kinesis, stdout, file:PATH or discard"}},
		{"bad start", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--server-id", "5", "--sink", "discard", "--start", "yesterday"}, []string{"earliest, latest, gtid:SET or file:NAME:POS"}},
		{"bad include", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--server-id", "5", "--sink", "discard", "--include", "orders"}, []string{"--include \"orders\"", "db.table"}},
		{"postgres source", []string{"cdc", "run", "--source", "postgres://x@y/z", "--server-id", "5", "--sink", "discard"}, []string{"reads MySQL or MariaDB"}},
		{"bad oversize", []string{"cdc", "run", "--source", "mysql://root@tcp(127.0.0.1:3307)/", "--server-id", "5", "--sink", "discard", "--oversize", "truncate"}, []string{"--oversize", "fail", "skip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := testenv.RunStrangler(t, 30*time.Second, nil, tt.args...)
			require.NotEqual(t, 0, code, out)
			for _, w := range tt.want {
				require.Contains(t, out, w)
			}
		})
	}
}

// TestConfigFileAndEnvironment: settings from a YAML file and STRANGLER_* variables.
func TestConfigFileAndEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	stop := testenv.StartAt(t, h.db.DB)
	conf := filepath.Join(h.dir, "strangler.yaml")
	// A bare go-sql-driver DSN works as well as the mysql:// form.
	bare := strings.TrimPrefix(h.db.Root, "mysql://")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("source: %q\nserver-id: %d\ninclude:\n  - %s.*\nsink: file:%s\ncheckpoint: file:%s\n",
		bare, h.serverID, h.db.Name, h.out, h.checkpoint)), 0o644))
	code, out := testenv.RunStrangler(t, 60*time.Second, []string{"STRANGLER_START=" + h.start, "STRANGLER_STOP_AT=" + stop}, "cdc", "run", "--config", conf)
	require.Equal(t, 0, code, out)
	require.Len(t, readFileEvents(t, h.out), 1)
}

func hostPortOf(t *testing.T, addr string) string {
	m := regexp.MustCompile(`tcp\(([^)]+)\)`).FindStringSubmatch(addr)
	require.NotNil(t, m, addr)
	return m[1]
}

func portOf(t *testing.T, addr string) string {
	hp := hostPortOf(t, addr)
	return hp[strings.LastIndexByte(hp, ':')+1:]
}

// TestStopAtAFileHead: a --stop-at position at the head of a binlog file (what SHOW
// MASTER STATUS says right after a rotation) is reached without waiting for another
// transaction.
func TestStopAtAFileHead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	stop := testenv.FreshStart(t, h.db.DB) // rotates: the position is a new file's head
	cfg := h.config()
	cfg.StopAt = stop
	require.NoError(t, startDaemon(t, cfg).wait(t, 30*time.Second))
	require.Len(t, readFileEvents(t, h.out), 1)
}
