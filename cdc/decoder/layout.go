package decoder

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/strangler/strangler/cdc/schema"
)

// ConfigureSyncer sets the BinlogSyncerConfig fields the converters rely on. The reader
// calls it before creating its syncer; Layout.Row refuses values decoded otherwise.
func ConfigureSyncer(cfg *replication.BinlogSyncerConfig) {
	// DATETIME and DATE stay the strings go-mysql formats from the stored fields: with
	// ParseTime, time.Date would silently normalise dates MySQL keeps as they are
	// (2024-02-30 under ALLOW_INVALID_DATES becomes 2024-03-01) and zero dates would come
	// back as strings anyway.
	cfg.ParseTime = false
	// TIMESTAMP is seconds since the epoch in the binlog; go-mysql formats it in this
	// location. UTC makes the value independent of the daemon's time zone (the server's
	// never enters the binlog).
	cfg.TimestampStringLocation = time.UTC
	// DECIMAL as go-mysql's exact string, which has exactly the column's scale;
	// shopspring's Decimal would drop trailing zeros.
	cfg.UseDecimal = false
	// MySQL binary JSON: a double that happens to be whole stays 1.0, not 1, as MySQL
	// shows it. This option touches nothing else.
	cfg.UseFloatWithTrailingZero = true
}

// Layout says how the rows of one TABLE_MAP event decode: column names, key columns and
// one converter per column. Built once per table map and reused for every row; safe for
// concurrent use.
type Layout struct {
	DB, Table string
	Columns   []string
	// KeyColumns are the indexes in Columns of the row's identity: the binlog's primary
	// key, else the schema history's key; empty when the table has none.
	KeyColumns []int
	// SchemaMismatch, when not nil, says the schema history disagrees with the column
	// metadata of the binlog (FULL), which was used instead: the rows decode correctly,
	// but the schema history is out of step and should be logged as such.
	SchemaMismatch error

	convs []converter
}

// NewLayout builds the layout of a table map. Names, signedness, character sets, ENUM
// and SET labels and the primary key come from the binlog's optional metadata where
// present (binlog_row_metadata=FULL), else from t, the table in the schema history
// (nil when unknown). t also gives what only the schema knows (MariaDB's JSON, stored as
// LONGTEXT). When names come from t it refuses, rather than mislabel, a t that does not
// match the binlog; when the binlog names its columns, a disagreeing t only loses its
// say (see SchemaMismatch).
func NewLayout(tm *replication.TableMapEvent, t *schema.Table) (*Layout, error) {
	l := &Layout{DB: string(tm.Schema), Table: string(tm.Table)}
	n := int(tm.ColumnCount)
	if len(tm.ColumnType) != n || len(tm.ColumnMeta) != n {
		return nil, l.errorf("malformed table map: %d columns, %d types, %d metadata entries", n, len(tm.ColumnType), len(tm.ColumnMeta))
	}
	md, err := readMetadata(tm)
	if err != nil {
		return nil, l.errorf("%v", err)
	}

	// Which schema column, if any, describes each binlog column.
	cols := make([]*schema.Column, n)
	names := md.names
	namesFromSchema := len(names) == 0
	var mismatches []string
	if !namesFromSchema {
		if len(names) != n {
			return nil, l.errorf("the table map names %d columns but has %d", len(names), n)
		}
		l.Columns = slices.Clone(names) // go-mysql keeps names in the table map
		if t != nil {
			if len(t.Columns) != n {
				mismatches = append(mismatches, fmt.Sprintf("the binlog has %d columns, the schema history %d (%s)", n, len(t.Columns), columnList(t)))
			}
			for i, name := range names {
				j := t.ColumnIndex(name)
				if j < 0 {
					continue
				}
				// The binlog names its columns: a schema column that cannot be the binlog's
				// gives no hint, and says the schema history is out of step.
				if err := checkSchemaType(tm.ColumnType[i], tm.ColumnMeta[i], &t.Columns[j]); err != nil {
					mismatches = append(mismatches, fmt.Sprintf("column %s: %v", name, err))
					continue
				}
				cols[i] = &t.Columns[j]
			}
		}
	} else {
		if t == nil {
			return nil, l.errorf("the binlog carries no column names (binlog_row_metadata is not FULL) and the schema history has no such table: set binlog_row_metadata=FULL on the source, or start from a position where the schema history knows the table")
		}
		if len(t.Columns) != n {
			return nil, l.errorf("the binlog has %d columns but the schema history has %d (%s): the schema history is out of step with the binlog (a DDL statement it missed?); set binlog_row_metadata=FULL on the source so that rows carry their own column names, or rebuild the schema history from a position where it matches",
				n, len(t.Columns), columnList(t))
		}
		l.Columns = make([]string, n)
		for i := range t.Columns {
			if err := checkSchemaType(tm.ColumnType[i], tm.ColumnMeta[i], &t.Columns[i]); err != nil {
				return nil, l.errorf("column %s: %v", t.Columns[i].Name, err)
			}
			l.Columns[i] = t.Columns[i].Name
			cols[i] = &t.Columns[i]
		}
	}

	unsigned, err := unsignedFlags(tm)
	if err != nil {
		return nil, l.errorf("%v", err)
	}

	l.convs = make([]converter, n)
	for i := 0; i < n; i++ {
		c, err := newConverter(columnInfo{
			binlogType: tm.ColumnType[i], meta: tm.ColumnMeta[i], schema: cols[i],
			unsigned: unsigned, index: i,
			collations: md.collations, enumSetCollations: md.enumSetCollations,
			enumLabels: md.enumLabels, setLabels: md.setLabels, tableCharset: tableCharset(t),
		})
		if err != nil {
			return nil, l.errorf("column %s: %v", l.Columns[i], err)
		}
		l.convs[i] = c
	}

	l.KeyColumns, err = keyColumns(tm, t, l.Columns)
	if err != nil {
		if namesFromSchema {
			return nil, l.errorf("%v", err)
		}
		mismatches = append(mismatches, err.Error())
		l.KeyColumns = []int{}
	}
	if len(mismatches) > 0 {
		l.SchemaMismatch = l.errorf("the schema history disagrees with the binlog's own column metadata, which is used instead: %s", strings.Join(mismatches, "; "))
	}
	return l, nil
}

// Row converts one row image, as go-mysql decoded it, into event values in column order.
// The result shares no memory with raw or the event's buffers.
func (l *Layout) Row(raw []any) ([]any, error) {
	if len(raw) != len(l.convs) {
		return nil, l.errorf("row image has %d values for %d columns", len(raw), len(l.convs))
	}
	out := make([]any, len(raw))
	for i, v := range raw {
		if v == nil {
			continue
		}
		x, err := l.convs[i].convert(v)
		if err != nil {
			return nil, l.errorf("column %s: %v", l.Columns[i], err)
		}
		out[i] = x
	}
	return out, nil
}

func (l *Layout) errorf(format string, args ...any) error {
	return fmt.Errorf("decode rows of %s.%s: "+format, append([]any{l.DB, l.Table}, args...)...)
}

// metadata is the optional metadata of a table map, through go-mysql's helpers.
type metadata struct {
	names                         []string
	collations, enumSetCollations map[int]uint64
	enumLabels, setLabels         map[int][]string
}

// readMetadata reads a table map's optional metadata. go-mysql's helpers index by
// counts they trust: a malformed table map must be an error, not a crash.
func readMetadata(tm *replication.TableMapEvent) (md metadata, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed optional metadata in the table map: %v", r)
		}
	}()
	md.names = tm.ColumnNameString()
	md.collations = tm.CollationMap()
	md.enumSetCollations = tm.EnumSetCollationMap()
	md.enumLabels = tm.EnumStrValueMap()
	md.setLabels = tm.SetStrValueMap()
	return md, nil
}

func columnList(t *schema.Table) string {
	names := make([]string, len(t.Columns))
	for i := range t.Columns {
		names[i] = t.Columns[i].Name
	}
	return strings.Join(names, ", ")
}

func tableCharset(t *schema.Table) string {
	if t == nil {
		return ""
	}
	return t.Charset
}

// keyColumns returns the indexes of the row identity: the binlog's primary key, else the
// schema history's key columns.
func keyColumns(tm *replication.TableMapEvent, t *schema.Table, names []string) ([]int, error) {
	if len(tm.PrimaryKey) > 0 {
		keys := make([]int, len(tm.PrimaryKey))
		for i, k := range tm.PrimaryKey {
			if k >= tm.ColumnCount {
				return nil, fmt.Errorf("malformed table map: primary key column %d of %d", k, tm.ColumnCount)
			}
			keys[i] = int(k)
		}
		return keys, nil
	}
	if t == nil {
		return []int{}, nil
	}
	keyNames := t.KeyColumns()
	keys := make([]int, 0, len(keyNames))
	for _, name := range keyNames {
		j := -1
		for i, c := range names {
			if strings.EqualFold(c, name) {
				j = i
				break
			}
		}
		if j < 0 {
			return nil, fmt.Errorf("key column %s of the schema history is not among the binlog's columns (%s): the schema history is out of step with the binlog",
				name, strings.Join(names, ", "))
		}
		keys = append(keys, j)
	}
	return keys, nil
}

// unsignedFlags reads the signedness bitmap of the optional metadata: one bit per
// numeric column, in column order. nil when the binlog has none.
//
// go-mysql's UnsignedMap counts the numeric columns as MySQL does; MariaDB also gives
// YEAR a bit (always set: YEAR is unsigned there), so on MariaDB every column after a
// YEAR would read its neighbour's bit.
func unsignedFlags(tm *replication.TableMapEvent) ([]bool, error) {
	if len(tm.SignednessBitmap) == 0 {
		return nil, nil
	}
	mariadb := isMariaDB(tm)
	flags := make([]bool, tm.ColumnCount)
	bit := 0
	for i, typ := range tm.ColumnType {
		switch typ {
		case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_LONG,
			mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DECIMAL,
			mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		case mysql.MYSQL_TYPE_YEAR:
			if !mariadb {
				continue
			}
		default:
			continue
		}
		if bit/8 >= len(tm.SignednessBitmap) {
			return nil, fmt.Errorf("malformed table map: the signedness bitmap has %d bytes, too few for its numeric columns", len(tm.SignednessBitmap))
		}
		flags[i] = tm.SignednessBitmap[bit/8]&(0x80>>(bit%8)) != 0
		bit++
	}
	return flags, nil
}

// isMariaDB reports whether go-mysql parsed the table map as MariaDB's. The flavor is
// not exported, but IsCharacterColumn answers by it for a GEOMETRY column: ask a copy.
func isMariaDB(tm *replication.TableMapEvent) bool {
	probe := *tm
	probe.ColumnType = []byte{mysql.MYSQL_TYPE_GEOMETRY}
	probe.ColumnMeta = []uint16{4}
	probe.ColumnCount = 1
	return probe.IsCharacterColumn(0)
}
