package testenv

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/strangler/strangler/internal/dburl"
)

// BinlogPos is a position in the test server's binlog.
type BinlogPos struct {
	File string
	Pos  uint32
}

// CurrentBinlogPos returns the server's current binlog position (SHOW MASTER STATUS).
func CurrentBinlogPos(t testing.TB, db *sql.DB) BinlogPos {
	t.Helper()
	f, p := MasterPosition(t, db)
	return BinlogPos{File: f, Pos: p}
}

// RandomServerID returns a replica server id for one test's binlog connection: unique
// enough that parallel tests do not kick each other off the source.
func RandomServerID() uint32 {
	return 1_000_000 + rand.Uint32N(1_000_000)
}

// ReadBinlog reads the binlog of the server at addr (mysql://...) from from up to to,
// as a MariaDB replica with go-mysql's BinlogSyncer, and returns the events read
// (rotate and format description events included). configure, if not nil, adjusts the
// syncer's configuration, e.g. with the decoder's value options.
func ReadBinlog(t testing.TB, addr string, from, to BinlogPos, configure func(*replication.BinlogSyncerConfig)) []*replication.BinlogEvent {
	t.Helper()
	if from == to {
		return nil
	}
	cfg, err := dburl.ParseMySQL(addr)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		t.Fatalf("address %s: %v", cfg.Addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatalf("port of %s: %v", cfg.Addr, err)
	}
	sc := replication.BinlogSyncerConfig{
		ServerID:             RandomServerID(),
		Flavor:               mysql.MariaDBFlavor,
		Host:                 host,
		Port:                 uint16(p),
		User:                 cfg.User,
		Password:             cfg.Passwd,
		DisableRetrySync:     true,
		MaxReconnectAttempts: 1,
	}
	if configure != nil {
		configure(&sc)
	}
	syncer := replication.NewBinlogSyncer(sc)
	defer syncer.Close()
	streamer, err := syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		t.Fatalf("start reading the binlog at %s:%d: %v", from.File, from.Pos, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	file := from.File
	var events []*replication.BinlogEvent
	for {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			t.Fatalf("read the binlog from %s:%d to %s:%d (at %s, %d events read): %v",
				from.File, from.Pos, to.File, to.Pos, file, len(events), err)
		}
		events = append(events, ev)
		if r, ok := ev.Event.(*replication.RotateEvent); ok {
			file = string(r.NextLogName)
			continue
		}
		if file == to.File && ev.Header.LogPos >= to.Pos {
			return events
		}
	}
}
