package main

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/decoder"
	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/filter"
)

// How far the in-process reading goes down the daemon's path.
type decodeDepth int

const (
	depthGoMySQL decodeDepth = iota // (a) go-mysql's parse of the rows events only
	depthLayout                     // (a') plus the decoder's Layout.Row conversion
	depthEncode                     // (a'') plus the change's JSON encoding and partition key
)

func (d decodeDepth) label() string {
	switch d {
	case depthGoMySQL:
		return "(a) go-mysql decode (ceiling)"
	case depthLayout:
		return "(a') go-mysql + Layout.Row"
	default:
		return "(a'') go-mysql + Layout.Row + JSON encode"
	}
}

// measurement is one timed pass over a binlog range.
type measurement struct {
	Name      string
	Rows      int64         // bench rows seen (or delivered)
	Events    int64         // rows events of the bench table
	Wall      time.Duration // start to end
	FirstRow  time.Duration // start to the first bench row (or acknowledged record); 0 if unknown
	CPU       time.Duration // user+system CPU of the process that did the work
	MaxRSSKiB int64         // peak RSS of the daemon's process; 0 for in-process passes
	Foreign   int64         // rows events of other tables in the range (not decoded)
	ForeignB  int64         // their bytes
	Bytes     int64         // encoded bytes (JSON) for depthEncode
	Note      string
}

func (m measurement) rate() float64 {
	if m.Wall <= 0 {
		return 0
	}
	return float64(m.Rows) / m.Wall.Seconds()
}

// steadyRate is the rate once the first row came: what start-up costs aside.
func (m measurement) steadyRate() float64 {
	d := m.Wall - m.FirstRow
	if m.FirstRow <= 0 || d <= 0 {
		return 0
	}
	return float64(m.Rows) / d.Seconds()
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syncerConfig is the BinlogSyncer configuration of the daemon's binlog.Reader, with the
// decoder's value options and its skipping of the rows of tables not streamed, as the
// daemon sets them (cdc/daemon.go): the ceiling is measured with the settings the daemon
// runs with.
func syncerConfig(addr string, serverID uint32, f *filter.Filter) (replication.BinlogSyncerConfig, error) {
	return binlog.Config{
		Addr: addr, Flavor: binlog.FlavorMariaDB, ServerID: serverID,
		HeartbeatPeriod: 5 * time.Second, ReadTimeout: 30 * time.Second,
		ConfigureSyncer: func(sc *replication.BinlogSyncerConfig) {
			decoder.ConfigureSyncer(sc)
			sc.RowsEventDecodeFunc = decoder.SkipUnstreamed(f)
		},
	}.SyncerConfig()
}

// rawDecode reads [from, to) of the binlog in process with go-mysql and takes each row of
// the bench tables as far as depth says.
func rawDecode(ctx context.Context, addr string, serverID uint32, from, to binlog.Position, table string, depth decodeDepth) (measurement, error) {
	m := measurement{Name: depth.label()}
	f, err := filter.New([]string{benchDB + "." + table}, nil)
	if err != nil {
		return m, err
	}
	sc, err := syncerConfig(addr, serverID, f)
	if err != nil {
		return m, err
	}
	cpu0 := cpuSelf()
	start := time.Now()
	syncer := replication.NewBinlogSyncer(sc)
	defer syncer.Close()
	st, err := syncer.StartSync(gomysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		return m, fmt.Errorf("start reading the binlog at %s: %w", from, err)
	}

	type layout struct {
		tm *replication.TableMapEvent
		l  *decoder.Layout
	}
	layouts := map[uint64]layout{}
	file, pos := from.File, from.Pos
	buf := make([]byte, 0, 1024)
	var seq int64
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return m, fmt.Errorf("read the binlog after %s:%d: %w", file, pos, err)
		}
		h := ev.Header
		if h.LogPos > 0 {
			pos = h.LogPos
		}
		switch e := ev.Event.(type) {
		case *replication.RotateEvent:
			file = string(e.NextLogName)
			continue
		case *replication.RowsEvent:
			if e.Table == nil || string(e.Table.Schema) != benchDB || string(e.Table.Table) != table {
				m.Foreign++
				m.ForeignB += int64(h.EventSize)
				break
			}
			if m.Rows == 0 {
				m.FirstRow = time.Since(start)
			}
			m.Events++
			m.Rows += int64(len(e.Rows))
			if depth == depthGoMySQL {
				break
			}
			lo, ok := layouts[e.TableID]
			if !ok || lo.tm != e.Table {
				l, err := decoder.NewLayout(e.Table, nil)
				if err != nil {
					return m, fmt.Errorf("binlog %s:%d: %w", file, h.LogPos, err)
				}
				lo = layout{tm: e.Table, l: l}
				layouts[e.TableID] = lo
			}
			for i, raw := range e.Rows {
				after, err := lo.l.Row(raw)
				if err != nil {
					return m, fmt.Errorf("binlog %s:%d row %d: %w", file, h.LogPos, i, err)
				}
				if depth < depthEncode {
					continue
				}
				// What the relay does with a change: encode it, key it.
				seq++
				c := &event.Change{
					ID: "bench/" + strconv.FormatInt(seq, 10), Op: event.OpCreate, DB: lo.l.DB, Table: lo.l.Table,
					Columns: lo.l.Columns, After: after, KeyColumns: lo.l.KeyColumns,
					Source: event.Source{Connector: "mariadb", ServerID: h.ServerID, File: file, Pos: h.LogPos - h.EventSize, Row: i, TsMs: int64(h.Timestamp) * 1000},
					Txn:    event.Txn{ID: "bench", TotalOrder: seq, DataCollectionOrder: seq},
				}
				buf = c.AppendJSON(buf[:0], event.Envelope{Version: "bench", TsMs: time.Now().UnixMilli()})
				m.Bytes += int64(len(buf)) + int64(len(c.PartitionKey())) + int64(len(c.AppendKey(nil)))
			}
		}
		if h.LogPos > 0 && binlog.Compare(binlog.Position{File: file, Pos: h.LogPos}, to) >= 0 {
			break
		}
	}
	m.Wall = time.Since(start)
	m.CPU = cpuSelf() - cpu0
	return m, nil
}
