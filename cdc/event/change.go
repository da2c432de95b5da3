// Package event defines the change event the CDC daemon emits for every row change, and
// its JSON form: Debezium's envelope (op, before, after, source, ts_ms) plus key, a stable
// id and transaction metadata. docs/events.md documents it; docs/event.schema.json is its
// JSON Schema.
//
// Row values are held as the JSON they become: nil, int64, uint64, float32, float64,
// string, []byte (binary data, emitted as base64) and json.RawMessage (a JSON column,
// embedded as is).
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Op is the kind of change: create, update, delete, or read (a snapshot row).
type Op byte

const (
	OpCreate Op = 'c'
	OpUpdate Op = 'u'
	OpDelete Op = 'd'
	OpRead   Op = 'r'
)

func (o Op) String() string { return string(rune(o)) }

// Source says where in the source database and its binlog a change comes from.
type Source struct {
	Connector string // "mysql" or "mariadb"
	ServerID  uint32 // server_id of the server that wrote the change
	GTID      string // GTID of the transaction, empty without GTIDs
	File      string // binlog file of the rows event
	Pos       uint32 // position of the rows event in File
	Row       int    // index of the row within the rows event
	Snapshot  bool
	TsMs      int64 // when the change was committed on the source (binlog event time)
}

// Txn places a change in its transaction.
type Txn struct {
	ID                  string // the transaction's GTID, or file:pos of its first event
	TotalOrder          int64  // 1-based order of the event among all events of the transaction
	DataCollectionOrder int64  // 1-based order among the transaction's events of the same table
}

// Change is one row change.
type Change struct {
	ID      string // stable across restarts: consumers deduplicate on it
	Op      Op
	DB      string
	Table   string
	Columns []string // column names, shared by Before and After
	Before  []any    // the row before the change; nil for a create
	After   []any    // the row after the change; nil for a delete
	// KeyColumns are the indexes in Columns of the row's identity (primary key, else a
	// NOT NULL unique key); empty when the table has none.
	KeyColumns []int
	Source     Source
	Txn        Txn
}

// Row returns the image that identifies the row: After, or Before for a delete.
func (c *Change) Row() []any {
	if c.After != nil {
		return c.After
	}
	return c.Before
}

// MaxPartitionKeyLen is Kinesis's limit on partition keys, in Unicode characters.
const MaxPartitionKeyLen = 256

// PartitionKey returns the key the change is sent with: the table and the row's key
// values, so that all changes of a row land on one shard in order. A key longer than
// Kinesis allows is replaced by its SHA-256. A table without a key uses the table name
// alone: its changes keep their order, at the cost of sharing one shard.
func (c *Change) PartitionKey() string {
	buf := make([]byte, 0, 64)
	buf = append(buf, c.DB...)
	buf = append(buf, '.')
	buf = append(buf, c.Table...)
	if len(c.KeyColumns) > 0 {
		buf = append(buf, ':')
		buf = c.AppendKeyValues(buf)
	}
	if utf8.RuneCount(buf) > MaxPartitionKeyLen {
		sum := sha256.Sum256(buf)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return string(buf)
}

// AppendKeyValues appends the row's key values as a JSON array.
func (c *Change) AppendKeyValues(dst []byte) []byte {
	row := c.Row()
	dst = append(dst, '[')
	for i, k := range c.KeyColumns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendValue(dst, row[k])
	}
	return append(dst, ']')
}

// AppendKey appends the row's key as a JSON object from column name to value, or null.
func (c *Change) AppendKey(dst []byte) []byte {
	if len(c.KeyColumns) == 0 {
		return append(dst, "null"...)
	}
	row := c.Row()
	dst = append(dst, '{')
	for i, k := range c.KeyColumns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, c.Columns[k])
		dst = append(dst, ':')
		dst = AppendValue(dst, row[k])
	}
	return append(dst, '}')
}

// Envelope carries what the JSON form adds to a change: the producer's version and the
// time the event was produced.
type Envelope struct {
	Version string // strangler's version, in source.version
	TsMs    int64  // when the event was produced, top-level ts_ms
}

// AppendJSON appends the change's JSON document. Fields come in a fixed order and row
// columns in table order, so the same change always encodes to the same bytes apart from
// the top-level ts_ms.
func (c *Change) AppendJSON(dst []byte, env Envelope) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, c.ID)
	dst = append(dst, `,"op":"`...)
	dst = append(dst, byte(c.Op))
	dst = append(dst, `","key":`...)
	dst = c.AppendKey(dst)
	dst = append(dst, `,"before":`...)
	dst = c.appendRow(dst, c.Before)
	dst = append(dst, `,"after":`...)
	dst = c.appendRow(dst, c.After)
	dst = append(dst, `,"source":{"connector":`...)
	dst = AppendString(dst, c.Source.Connector)
	dst = append(dst, `,"version":`...)
	dst = AppendString(dst, env.Version)
	dst = append(dst, `,"db":`...)
	dst = AppendString(dst, c.DB)
	dst = append(dst, `,"table":`...)
	dst = AppendString(dst, c.Table)
	dst = append(dst, `,"server_id":`...)
	dst = strconv.AppendUint(dst, uint64(c.Source.ServerID), 10)
	dst = append(dst, `,"gtid":`...)
	if c.Source.GTID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = AppendString(dst, c.Source.GTID)
	}
	dst = append(dst, `,"file":`...)
	dst = AppendString(dst, c.Source.File)
	dst = append(dst, `,"pos":`...)
	dst = strconv.AppendUint(dst, uint64(c.Source.Pos), 10)
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(c.Source.Row), 10)
	if c.Source.Snapshot {
		dst = append(dst, `,"snapshot":"true"`...)
	} else {
		dst = append(dst, `,"snapshot":"false"`...)
	}
	dst = append(dst, `,"ts_ms":`...)
	dst = strconv.AppendInt(dst, c.Source.TsMs, 10)
	dst = append(dst, `},"txn":{"id":`...)
	dst = AppendString(dst, c.Txn.ID)
	dst = append(dst, `,"total_order":`...)
	dst = strconv.AppendInt(dst, c.Txn.TotalOrder, 10)
	dst = append(dst, `,"data_collection_order":`...)
	dst = strconv.AppendInt(dst, c.Txn.DataCollectionOrder, 10)
	dst = append(dst, `},"ts_ms":`...)
	dst = strconv.AppendInt(dst, env.TsMs, 10)
	return append(dst, '}')
}

func (c *Change) appendRow(dst []byte, row []any) []byte {
	if row == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, c.Columns[i])
		dst = append(dst, ':')
		dst = AppendValue(dst, v)
	}
	return append(dst, '}')
}

// AppendValue appends one row value as JSON.
func AppendValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case float64:
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	case float32:
		return strconv.AppendFloat(dst, float64(x), 'g', -1, 32)
	case string:
		return AppendString(dst, x)
	case []byte:
		return appendBase64(dst, x)
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, x...)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case bool:
		return strconv.AppendBool(dst, x)
	default:
		// Values come from the decoder in the forms above; anything else is a bug that
		// must show in the output rather than vanish.
		b, err := json.Marshal(x)
		if err != nil {
			return AppendString(dst, "!unencodable "+err.Error())
		}
		return append(dst, b...)
	}
}
