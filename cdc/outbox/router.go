// Package outbox is the CDC daemon's outbox event router (`strangler cdc run --outbox
// db.table`), like Debezium's: the insert of an outbox row, read from the binlog, becomes
// the event it holds (dualwrite's event JSON, docs/dual-writes.md) instead of a row
// change event, partitioned by aggregate so one aggregate's events keep their commit
// order. The row's delete (dualwrite deletes it in the same transaction, so the table
// stays empty) sends nothing.
package outbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/sink"
	dwevent "github.com/strangler/strangler/dualwrite/event"
)

// Columns name the outbox table's columns; the defaults match the toolkit's migration
// (migrations/mysql/00010_dualwrite_outbox.sql). Headers, Sequence and OccurredAt may be
// empty for tables without them.
type Columns struct {
	Seq           string
	ID            string
	AggregateType string
	AggregateID   string
	Type          string
	Payload       string
	Headers       string
	Sequence      string
	OccurredAt    string
}

// DefaultColumns are the columns of the toolkit's outbox table.
func DefaultColumns() Columns {
	return Columns{Seq: "seq", ID: "id", AggregateType: "aggregate_type", AggregateID: "aggregate_id", Type: "type",
		Payload: "payload", Headers: "headers", Sequence: "sequence", OccurredAt: "occurred_at"}
}

// Router routes the changes of outbox tables; other tables' changes pass on.
type Router struct {
	tables map[string]bool
	list   []string
	cols   Columns
}

// New returns a router for tables, each db.table, with columns cols (zero: the defaults).
func New(tables []string, cols Columns) (*Router, error) {
	if cols == (Columns{}) {
		cols = DefaultColumns()
	}
	if cols.ID == "" || cols.AggregateType == "" || cols.AggregateID == "" || cols.Type == "" || cols.Payload == "" {
		return nil, fmt.Errorf("outbox router: the id, aggregate type, aggregate id, type and payload columns must be named")
	}
	r := &Router{tables: map[string]bool{}, cols: cols}
	for _, t := range tables {
		for _, one := range strings.Split(t, ",") {
			one = strings.TrimSpace(one)
			if one == "" {
				continue
			}
			db, table, ok := strings.Cut(one, ".")
			if !ok || db == "" || table == "" || strings.ContainsAny(one, "*?") {
				return nil, fmt.Errorf("--outbox %q: name one table as db.table, e.g. shop.strangler_outbox", one)
			}
			if !r.tables[one] {
				r.tables[one] = true
				r.list = append(r.list, one)
			}
		}
	}
	if len(r.list) == 0 {
		return nil, fmt.Errorf("outbox router: no table: give db.table")
	}
	return r, nil
}

// Tables are the outbox tables routed, as db.table.
func (r *Router) Tables() []string { return r.list }

// Route turns an outbox row's insert into its event; deletes and snapshot reads send
// nothing. An update of an outbox row is refused: outbox rows are written once, and an
// updated one cannot be told apart from a second event.
func (r *Router) Route(c *event.Change, _ event.Envelope) (*sink.Record, bool, error) {
	if !r.tables[c.DB+"."+c.Table] {
		return nil, false, nil
	}
	switch c.Op {
	case event.OpDelete, event.OpRead:
		return nil, true, nil
	case event.OpUpdate:
		return nil, true, fmt.Errorf("outbox table %s.%s: a row was updated (event %s); outbox rows are only inserted and deleted: stop whatever updates them, then restart the daemon (or remove the table from --outbox to stream it as a plain table)", c.DB, c.Table, c.ID)
	}
	ev, seq, err := r.event(c)
	if err != nil {
		return nil, true, fmt.Errorf("outbox table %s.%s, change %s: %w", c.DB, c.Table, c.ID, err)
	}
	src := &dwevent.Source{
		Via: dwevent.ViaCDC, DB: c.DB, Table: c.Table, OutboxSeq: seq,
		ServerID: c.Source.ServerID, GTID: c.Source.GTID, File: c.Source.File, Pos: c.Source.Pos, Row: c.Source.Row, TsMs: c.Source.TsMs,
	}
	data, err := dwevent.Marshal(&ev, src)
	if err != nil {
		return nil, true, err
	}
	return &sink.Record{
		PartitionKey: ev.PartitionKey(), Data: data,
		DB: c.DB, Table: c.Table, Op: "c", Key: strconv.FormatUint(seq, 10), ID: ev.ID,
	}, true, nil
}

func (r *Router) event(c *event.Change) (dwevent.Event, uint64, error) {
	var ev dwevent.Event
	idx := make(map[string]int, len(c.Columns))
	for i, n := range c.Columns {
		idx[n] = i
	}
	get := func(col string, required bool) (any, error) {
		if col == "" {
			return nil, nil
		}
		i, ok := idx[col]
		if !ok {
			if required {
				return nil, fmt.Errorf("no column %q: is this an outbox table (see migrations/mysql/00010_dualwrite_outbox.sql)?", col)
			}
			return nil, nil
		}
		return c.After[i], nil
	}
	text := func(col string) (string, error) {
		v, err := get(col, true)
		if err != nil {
			return "", err
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case json.RawMessage:
			return string(x), nil
		case nil:
			return "", fmt.Errorf("column %q is NULL", col)
		}
		return "", fmt.Errorf("column %q holds a %T, not text", col, v)
	}
	var err error
	if ev.ID, err = text(r.cols.ID); err != nil {
		return ev, 0, err
	}
	if ev.AggregateType, err = text(r.cols.AggregateType); err != nil {
		return ev, 0, err
	}
	if ev.AggregateID, err = text(r.cols.AggregateID); err != nil {
		return ev, 0, err
	}
	if ev.Type, err = text(r.cols.Type); err != nil {
		return ev, 0, err
	}
	payload, err := text(r.cols.Payload)
	if err != nil {
		return ev, 0, err
	}
	if !json.Valid([]byte(payload)) {
		return ev, 0, fmt.Errorf("column %q of event %s is not JSON: %.60q", r.cols.Payload, ev.ID, payload)
	}
	ev.Payload = json.RawMessage(payload)
	if v, err := get(r.cols.Headers, false); err != nil {
		return ev, 0, err
	} else if s, ok := v.(string); ok {
		if ev.Headers, err = dwevent.ParseHeaders(s); err != nil {
			return ev, 0, err
		}
	}
	if v, _ := get(r.cols.Sequence, false); v != nil {
		ev.Sequence, _ = toUint(v)
	}
	if v, _ := get(r.cols.OccurredAt, false); v != nil {
		if s, ok := v.(string); ok {
			ev.OccurredAt = parseDatetime(s)
		}
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = time.UnixMilli(c.Source.TsMs).UTC()
	}
	var seq uint64
	if v, _ := get(r.cols.Seq, false); v != nil {
		seq, _ = toUint(v)
	}
	return ev, seq, nil
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case int64:
		return uint64(x), x >= 0
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// parseDatetime reads the CDC encoding of DATETIME ("YYYY-MM-DDTHH:MM:SS[.ffffff]"),
// which dualwrite writes in UTC.
func parseDatetime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
