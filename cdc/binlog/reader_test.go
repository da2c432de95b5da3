package binlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/decoder"
	"github.com/strangler/strangler/internal/testenv"
)

type onlyDB string

func (o onlyDB) Match(db, _ string) bool { return db == string(o) }

// newReader reads the test server's binlog, decoding only the rows of database db (the
// shared server's binlog holds every test's writes).
func newReader(t *testing.T, addr, db string, configure func(*replication.BinlogSyncerConfig)) *binlog.Reader {
	r := binlog.NewReader(binlog.Config{
		Addr: addr, Flavor: binlog.FlavorMariaDB, ServerID: testenv.RandomServerID(), GTIDMode: true,
		ConfigureSyncer: func(c *replication.BinlogSyncerConfig) {
			decoder.ConfigureSyncer(c)
			c.RowsEventDecodeFunc = decoder.SkipUnstreamed(onlyDB(db))
			if configure != nil {
				configure(c)
			}
		},
		MaxBackoff: 200 * time.Millisecond,
	})
	t.Cleanup(r.Close)
	return r
}

// readUntil reads events until cond says stop, failing after timeout.
func readUntil(t *testing.T, r *binlog.Reader, timeout time.Duration, cond func(*binlog.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		ev, err := r.Next(ctx)
		require.NoError(t, err)
		if cond(ev) {
			return
		}
	}
}

func gtidPos(t *testing.T, db *testenv.MySQLDatabase, file string, pos uint32) string {
	var g string
	require.NoError(t, db.DB.QueryRow("SELECT BINLOG_GTID_POS(?, ?)", file, pos).Scan(&g))
	return g
}

// TestReconnectInsideATransactionDeliversEachEventOnce cuts the connection while a
// transaction of many row events is half read: the reader resumes at the transaction's
// start and skips what it already handed out.
func TestReconnectInsideATransactionDeliversEachEventOnce(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(8000))")
	file, pos := testenv.MasterPosition(t, db.DB)
	tx, err := db.DB.Begin()
	require.NoError(t, err)
	// 1,500 events of 8 KB (12 MB), cut after the first 50: far more than the socket
	// buffers on the way can hold (300 events sometimes all arrived before the cut).
	const n, cutAt = 1500, 50
	for i := 1; i <= n; i++ {
		_, err := tx.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d, REPEAT('p', 8000))", i))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())

	m := strings.NewReplacer("mysql://root@tcp(", "", ")/", "").Replace(db.Root)
	proxy := testenv.NewTCPProxy(t, m)
	addr := "mysql://root@tcp(" + proxy.Addr() + ")/"
	// One event of buffer: the connection is cut with the transaction half sent.
	r := newReader(t, addr, db.Name, func(c *replication.BinlogSyncerConfig) {
		c.EventCacheCount = 1
		c.RecvBufferSize = 65536
	})
	require.NoError(t, r.Start(context.Background(), binlog.Position{File: file, Pos: pos, GTID: gtidPos(t, db, file, pos)}))

	var ids []int32
	var txID string
	cut := false
	readUntil(t, r, 60*time.Second, func(ev *binlog.Event) bool {
		if re, ok := ev.Event.(*replication.RowsEvent); ok && string(re.Table.Table) == "t" && string(re.Table.Schema) == db.Name {
			for _, row := range re.Rows {
				ids = append(ids, row[0].(int32))
			}
			if txID == "" {
				txID = ev.Tx.ID
			}
			require.Equal(t, txID, ev.Tx.ID, "all rows in one transaction")
			if len(ids) == cutAt && !cut {
				proxy.Cut()
				cut = true
			}
		}
		return ev.End != nil && ev.Tx != nil && ev.Tx.ID == txID
	})
	require.True(t, cut)
	require.Len(t, ids, n, "every row once")
	for i, id := range ids {
		require.Equal(t, int32(i+1), id)
	}
	require.GreaterOrEqual(t, proxy.Accepts(), 2, "reconnected")
}

// TestStartAtFilePositionLearnsTheGTIDSet: a start position given as file:pos on a GTID
// source still yields positions with the right GTID sets (the file is replayed from its
// head up to the start).
func TestStartAtFilePositionLearnsTheGTIDSet(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	testenv.FreshStart(t, db.DB) // the reader replays the file from its head: keep it short
	db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	file, pos := testenv.MasterPosition(t, db.DB)
	want := gtidPos(t, db, file, pos)
	db.Exec(t, "INSERT INTO t VALUES (2)")

	r := newReader(t, db.Root, db.Name, nil)
	require.NoError(t, r.Start(context.Background(), binlog.Position{File: file, Pos: pos}))
	var first *binlog.Event
	readUntil(t, r, 30*time.Second, func(ev *binlog.Event) bool {
		if first == nil && ev.Tx != nil {
			first = ev
		}
		if re, ok := ev.Event.(*replication.RowsEvent); ok && string(re.Table.Schema) == db.Name {
			require.Equal(t, int32(2), re.Rows[0][0], "the row before the start is not delivered")
			return true
		}
		return false
	})
	require.Equal(t, pos, first.Tx.Start.Pos)
	require.Equal(t, want, first.Tx.Start.GTID, "the GTID set at the start position")
}

// TestStartInsideATransactionIsRefused: a file position in the middle of a transaction
// would hand out rows without their transaction; the reader says so.
func TestStartInsideATransactionIsRefused(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	testenv.FreshStart(t, db.DB)
	db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	file, pos := testenv.MasterPosition(t, db.DB)
	db.Exec(t, "INSERT INTO t VALUES (1), (2)")
	// Find the rows event of that transaction: a position inside it.
	events := testenv.ReadBinlog(t, db.Root, testenv.BinlogPos{File: file, Pos: pos}, testenv.CurrentBinlogPos(t, db.DB), nil)
	var inside uint32
	for _, e := range events {
		if _, ok := e.Event.(*replication.TableMapEvent); ok {
			inside = e.Header.LogPos - e.Header.EventSize
			break
		}
	}
	require.NotZero(t, inside)
	r := newReader(t, db.Root, db.Name, nil)
	require.NoError(t, r.Start(context.Background(), binlog.Position{File: file, Pos: inside}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := r.Next(ctx)
		if err != nil {
			require.ErrorContains(t, err, "transaction")
			return
		}
	}
}
