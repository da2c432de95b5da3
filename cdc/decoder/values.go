package decoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/strangler/strangler/cdc/schema"
)

// Event values, type by type (docs/events.md states the same contract):
//
//	TINYINT..BIGINT      int64, or uint64 when UNSIGNED
//	DECIMAL              string with exactly the column's scale: "5.10", "-0.50"
//	FLOAT, DOUBLE        float32, float64
//	BIT                  uint64
//	YEAR                 int64 (0 for YEAR 0000)
//	DATE                 "YYYY-MM-DD"
//	DATETIME             "YYYY-MM-DDTHH:MM:SS[.f]", exactly the column's fraction digits
//	TIMESTAMP            the same in UTC, with a Z
//	TIME                 "[-]HH:MM:SS[.f]", hours up to 838
//	zero / partial dates as stored: "0000-00-00", "0000-00-00T00:00:00", "2024-00-10"
//	CHAR, VARCHAR, TEXT  string, converted to UTF-8 from the column's character set
//	BINARY, VARBINARY, BLOB  []byte as stored (BINARY(n) zero-padded to n)
//	ENUM                 its label ("" for the error value 0)
//	SET                  its labels in definition order, comma-separated ("" when empty)
//	JSON                 json.RawMessage; MariaDB's JSON (LONGTEXT) too when valid JSON
//	                     and the schema history says json, else a string
//	GEOMETRY             []byte: 4-byte SRID then WKB, as MySQL stores it
//	NULL                 nil

// kind says how a column's values convert.
type kind uint8

const (
	kindInt          kind = iota // signed integer of any width -> int64
	kindUint                     // unsigned integer: mask go-mysql's sign-extended value
	kindDecimal                  // string as is
	kindFloat                    // float32
	kindDouble                   // float64
	kindBit                      // int64 bits -> uint64
	kindYear                     // int -> int64
	kindDate                     // string as is
	kindDatetime                 // "YYYY-MM-DD HH:MM:SS[.f]" -> T
	kindTimestamp                // the same, in UTC, -> T and Z
	kindTime                     // string, fraction completed to the column's
	kindTimeOld                  // pre-5.6 TIME, which go-mysql reads as unsigned
	kindText                     // string converted from the column's character set
	kindBytes                    // []byte copied
	kindBinaryPadded             // BINARY(n): the binlog drops trailing zero bytes
	kindEnum                     // index -> label
	kindSet                      // bitmap -> labels
	kindJSONBinary               // MySQL binary JSON, decoded by go-mysql to text
	kindJSONText                 // MariaDB JSON: LONGTEXT holding JSON text
)

// converter turns the values go-mysql decoded for one column into event values.
type converter struct {
	kind   kind
	typ    string // the column's type, for messages
	mask   uint64 // kindUint: the width's bits
	fsp    int    // kindTime, kindDatetime, kindTimestamp: fraction digits
	length int    // kindBinaryPadded: the column's length in bytes
	text   *textDecoder
	labels []string // kindEnum, kindSet
	boxed  []any    // kindEnum: the labels, boxed once rather than for every row
}

// columnInfo is what NewLayout knows of one column.
type columnInfo struct {
	binlogType        byte
	meta              uint16
	schema            *schema.Column // nil when the schema history has no such column
	index             int
	unsigned          []bool // nil without a signedness bitmap
	collations        map[int]uint64
	enumSetCollations map[int]uint64
	enumLabels        map[int][]string
	setLabels         map[int][]string
	tableCharset      string
}

// realType returns the type a column really has, and for CHAR and BINARY the length in
// bytes: MYSQL_TYPE_STRING stands for CHAR, BINARY, ENUM and SET, told apart (and the
// length's high bits stored) in its metadata, as go-mysql's decodeValue reads it.
func realType(typ byte, meta uint16) (byte, int) {
	if typ != mysql.MYSQL_TYPE_STRING {
		return typ, 0
	}
	if meta < 256 {
		return typ, int(meta)
	}
	b0, b1 := byte(meta>>8), byte(meta)
	if b0&0x30 != 0x30 {
		return b0 | 0x30, int(uint16(b1) | uint16((b0&0x30)^0x30)<<4)
	}
	return b0, int(b1)
}

// schemaTypes lists, for each binlog type, the schema history's types it can stand for.
var schemaTypes = map[byte][]string{
	mysql.MYSQL_TYPE_TINY:       {"tinyint", "bool", "boolean"},
	mysql.MYSQL_TYPE_SHORT:      {"smallint"},
	mysql.MYSQL_TYPE_INT24:      {"mediumint"},
	mysql.MYSQL_TYPE_LONG:       {"int", "integer"},
	mysql.MYSQL_TYPE_LONGLONG:   {"bigint"},
	mysql.MYSQL_TYPE_NEWDECIMAL: {"decimal", "numeric"},
	mysql.MYSQL_TYPE_FLOAT:      {"float"},
	mysql.MYSQL_TYPE_DOUBLE:     {"double", "real", "double precision"},
	mysql.MYSQL_TYPE_BIT:        {"bit"},
	mysql.MYSQL_TYPE_YEAR:       {"year"},
	mysql.MYSQL_TYPE_DATE:       {"date"},
	mysql.MYSQL_TYPE_NEWDATE:    {"date"},
	mysql.MYSQL_TYPE_DATETIME:   {"datetime"},
	mysql.MYSQL_TYPE_DATETIME2:  {"datetime"},
	mysql.MYSQL_TYPE_TIMESTAMP:  {"timestamp"},
	mysql.MYSQL_TYPE_TIMESTAMP2: {"timestamp"},
	mysql.MYSQL_TYPE_TIME:       {"time"},
	mysql.MYSQL_TYPE_TIME2:      {"time"},
	mysql.MYSQL_TYPE_ENUM:       {"enum"},
	mysql.MYSQL_TYPE_SET:        {"set"},
	// MariaDB's INET4, INET6 and UUID are fixed-length binary strings in the binlog.
	mysql.MYSQL_TYPE_STRING:     {"char", "binary", "inet4", "inet6", "uuid"},
	mysql.MYSQL_TYPE_VARCHAR:    {"varchar", "varbinary"},
	mysql.MYSQL_TYPE_VAR_STRING: {"varchar", "varbinary"},
	mysql.MYSQL_TYPE_BLOB: {"tinytext", "text", "mediumtext", "longtext",
		"tinyblob", "blob", "mediumblob", "longblob", "json"},
	mysql.MYSQL_TYPE_JSON: {"json"},
	mysql.MYSQL_TYPE_GEOMETRY: {"geometry", "point", "linestring", "polygon", "multipoint",
		"multilinestring", "multipolygon", "geometrycollection", "geomcollection"},
	mysql.MYSQL_TYPE_VECTOR: {"vector"},
}

// typeNames names the binlog types in messages.
var typeNames = map[byte]string{
	mysql.MYSQL_TYPE_TINY: "TINYINT", mysql.MYSQL_TYPE_SHORT: "SMALLINT", mysql.MYSQL_TYPE_INT24: "MEDIUMINT",
	mysql.MYSQL_TYPE_LONG: "INT", mysql.MYSQL_TYPE_LONGLONG: "BIGINT", mysql.MYSQL_TYPE_NEWDECIMAL: "DECIMAL",
	mysql.MYSQL_TYPE_FLOAT: "FLOAT", mysql.MYSQL_TYPE_DOUBLE: "DOUBLE", mysql.MYSQL_TYPE_BIT: "BIT",
	mysql.MYSQL_TYPE_YEAR: "YEAR", mysql.MYSQL_TYPE_DATE: "DATE", mysql.MYSQL_TYPE_NEWDATE: "DATE",
	mysql.MYSQL_TYPE_DATETIME: "DATETIME", mysql.MYSQL_TYPE_DATETIME2: "DATETIME",
	mysql.MYSQL_TYPE_TIMESTAMP: "TIMESTAMP", mysql.MYSQL_TYPE_TIMESTAMP2: "TIMESTAMP",
	mysql.MYSQL_TYPE_TIME: "TIME", mysql.MYSQL_TYPE_TIME2: "TIME", mysql.MYSQL_TYPE_ENUM: "ENUM",
	mysql.MYSQL_TYPE_SET: "SET", mysql.MYSQL_TYPE_STRING: "CHAR/BINARY", mysql.MYSQL_TYPE_VARCHAR: "VARCHAR/VARBINARY",
	mysql.MYSQL_TYPE_VAR_STRING: "VARCHAR/VARBINARY", mysql.MYSQL_TYPE_BLOB: "TEXT/BLOB", mysql.MYSQL_TYPE_JSON: "JSON",
	mysql.MYSQL_TYPE_GEOMETRY: "GEOMETRY", mysql.MYSQL_TYPE_VECTOR: "VECTOR",
}

func typeName(typ byte) string {
	if n, ok := typeNames[typ]; ok {
		return n
	}
	return fmt.Sprintf("type %d", typ)
}

// newConverter works out how one column's values convert.
func newConverter(ci columnInfo) (converter, error) {
	typ, length := realType(ci.binlogType, ci.meta)
	sc := ci.schema
	c := converter{typ: typeName(typ)}

	switch typ {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG:
		var unsigned bool
		switch {
		case ci.unsigned != nil:
			unsigned = ci.unsigned[ci.index]
		case sc != nil:
			unsigned = sc.Unsigned
		default:
			return c, fmt.Errorf("whether the %s is UNSIGNED is unknown: the binlog has no signedness metadata and the schema history no such column; set binlog_row_metadata=FULL on the source", c.typ)
		}
		if !unsigned {
			c.kind = kindInt
			return c, nil
		}
		c.kind = kindUint
		c.mask = map[byte]uint64{
			mysql.MYSQL_TYPE_TINY: 0xFF, mysql.MYSQL_TYPE_SHORT: 0xFFFF, mysql.MYSQL_TYPE_INT24: 0xFFFFFF,
			mysql.MYSQL_TYPE_LONG: 0xFFFFFFFF, mysql.MYSQL_TYPE_LONGLONG: ^uint64(0),
		}[typ]
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		c.kind = kindDecimal
	case mysql.MYSQL_TYPE_FLOAT:
		c.kind = kindFloat
	case mysql.MYSQL_TYPE_DOUBLE:
		c.kind = kindDouble
	case mysql.MYSQL_TYPE_BIT:
		c.kind = kindBit
	case mysql.MYSQL_TYPE_YEAR:
		c.kind = kindYear
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		c.kind = kindDate
	case mysql.MYSQL_TYPE_DATETIME2:
		c.kind, c.fsp = kindDatetime, int(ci.meta)
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		c.kind, c.fsp = kindTimestamp, int(ci.meta)
	case mysql.MYSQL_TYPE_TIME2:
		c.kind, c.fsp = kindTime, int(ci.meta)
	case mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_TIME:
		// The pre-5.6 formats carry no fraction in the binlog's metadata. MariaDB 5.3's
		// formats with fractions use the same type codes with longer values, which go-mysql
		// cannot read: only the schema history can tell.
		if sc != nil && sc.FSP > 0 {
			return c, fmt.Errorf("%s(%d) is stored in MariaDB 5.3's temporal format, which go-mysql cannot decode: rebuild the table with mysql56_temporal_format=ON (ALTER TABLE ... FORCE)", c.typ, sc.FSP)
		}
		switch typ {
		case mysql.MYSQL_TYPE_DATETIME:
			c.kind = kindDatetime
		case mysql.MYSQL_TYPE_TIMESTAMP:
			c.kind = kindTimestamp
		default:
			c.kind = kindTimeOld
		}
	case mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET:
		return labelConverter(c, typ, ci)
	case mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_BLOB:
		cs, err := columnCharset(ci, ci.collations)
		if err != nil {
			return c, err
		}
		if cs == charsetBinary {
			c.kind = kindBytes
			if typ == mysql.MYSQL_TYPE_STRING {
				c.kind, c.length = kindBinaryPadded, length
			}
			return c, nil
		}
		if c.text, err = newTextDecoder(cs); err != nil {
			return c, fmt.Errorf("%w: convert the column to utf8mb4 (ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4)", err)
		}
		c.kind = kindText
		if typ == mysql.MYSQL_TYPE_BLOB && sc != nil && strings.EqualFold(sc.Type, "json") {
			c.kind = kindJSONText
		}
	case mysql.MYSQL_TYPE_JSON:
		c.kind = kindJSONBinary
	case mysql.MYSQL_TYPE_GEOMETRY, mysql.MYSQL_TYPE_VECTOR:
		c.kind = kindBytes
	default:
		return c, fmt.Errorf("binlog column type %d is not supported (pre-5.0 DECIMAL or an unknown type): rebuild the table (ALTER TABLE ... FORCE)", typ)
	}
	return c, nil
}

// checkSchemaType refuses a schema column that cannot be the binlog's: the schema
// history is out of step with the binlog, and names taken from it would mislabel.
func checkSchemaType(binlogType byte, meta uint16, sc *schema.Column) error {
	typ, _ := realType(binlogType, meta)
	st := strings.ToLower(sc.Type)
	ok := false
	for _, s := range schemaTypes[typ] {
		if s == st {
			ok = true
			break
		}
	}
	if !ok {
		return fmt.Errorf("the binlog has a %s column where the schema history has %s: the schema history is out of step with the binlog (a DDL statement it missed?); set binlog_row_metadata=FULL on the source, or rebuild the schema history from a position where it matches",
			typeName(typ), sc.Type)
	}
	outOfStep := func(what string, binlog, hist int) error {
		return fmt.Errorf("the binlog's %s has %s %d where the schema history has %d: the schema history is out of step with the binlog (a DDL statement it missed?); set binlog_row_metadata=FULL on the source, or rebuild the schema history from a position where it matches",
			typeName(typ), what, binlog, hist)
	}
	switch typ {
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		if sc.Precision > 0 && (int(meta>>8) != sc.Precision || int(meta&0xFF) != sc.Scale) {
			return outOfStep("precision and scale", int(meta>>8)*100+int(meta&0xFF), sc.Precision*100+sc.Scale)
		}
	case mysql.MYSQL_TYPE_BIT:
		if bits := int(meta>>8)*8 + int(meta&0xFF); sc.Precision > 0 && bits != sc.Precision {
			return outOfStep("width", bits, sc.Precision)
		}
	case mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET:
		if len(sc.Elements) > 0 {
			if want := labelPackLength(typ, len(sc.Elements)); int(meta&0xFF) != want {
				return fmt.Errorf("the binlog's %s takes %d bytes but the schema history's %d labels take %d: the schema history is out of step with the binlog (a DDL statement it missed?); set binlog_row_metadata=FULL on the source, or rebuild the schema history from a position where it matches",
					typeName(typ), meta&0xFF, len(sc.Elements), want)
			}
		}
	}
	return nil
}

// labelPackLength is the size MySQL stores an ENUM or SET value in, by label count.
func labelPackLength(typ byte, labels int) int {
	if typ == mysql.MYSQL_TYPE_ENUM {
		if labels < 256 {
			return 1
		}
		return 2
	}
	n := (labels + 7) / 8
	if n > 4 {
		n = 8
	}
	return n
}

// labelConverter builds the converter of an ENUM or SET column: its labels come from the
// binlog (in the column's character set) or from the schema history (UTF-8 already).
func labelConverter(c converter, typ byte, ci columnInfo) (converter, error) {
	c.kind = kindEnum
	binlogLabels := ci.enumLabels
	if typ == mysql.MYSQL_TYPE_SET {
		c.kind = kindSet
		binlogLabels = ci.setLabels
	}
	if raw, ok := binlogLabels[ci.index]; ok {
		cs, err := columnCharset(ci, ci.enumSetCollations)
		if err != nil {
			return c, err
		}
		c.labels = make([]string, len(raw))
		if cs == charsetBinary {
			copy(c.labels, raw)
		} else {
			dec, err := newTextDecoder(cs)
			if err != nil {
				return c, fmt.Errorf("labels: %w: convert the column to utf8mb4", err)
			}
			for i, label := range raw {
				if c.labels[i], err = dec.decodeString(label); err != nil {
					return c, fmt.Errorf("label %d: %w", i+1, err)
				}
			}
		}
	} else if ci.schema != nil && len(ci.schema.Elements) > 0 {
		c.labels = ci.schema.Elements
	} else {
		return c, fmt.Errorf("the %s's labels are unknown: the binlog has none (binlog_row_metadata is not FULL) and neither has the schema history; set binlog_row_metadata=FULL on the source", c.typ)
	}
	if int(ci.meta&0xFF) != labelPackLength(typ, len(c.labels)) {
		return c, fmt.Errorf("the %s takes %d bytes, not what its %d labels take: its labels are out of step with the binlog", c.typ, ci.meta&0xFF, len(c.labels))
	}
	if typ == mysql.MYSQL_TYPE_SET && len(c.labels) > 64 {
		return c, fmt.Errorf("SET with %d labels (at most 64)", len(c.labels))
	}
	if c.kind == kindEnum {
		c.boxed = make([]any, len(c.labels))
		for i, label := range c.labels {
			c.boxed[i] = label
		}
	}
	return c, nil
}

// columnCharset returns the character set of a string, ENUM or SET column: the binlog's
// collation, else the schema history's character set.
func columnCharset(ci columnInfo, collations map[int]uint64) (string, error) {
	if id, ok := collations[ci.index]; ok {
		cs, ok := collationCharset(id)
		if !ok {
			return "", fmt.Errorf("collation id %d is unknown to this version of strangler: report it, with the server's version", id)
		}
		return cs, nil
	}
	if sc := ci.schema; sc != nil {
		st := strings.ToLower(sc.Type)
		switch {
		case sc.Charset != "":
			return strings.ToLower(sc.Charset), nil
		case strings.HasSuffix(st, "blob") || st == "binary" || st == "varbinary":
			return charsetBinary, nil
		case ci.tableCharset != "":
			return strings.ToLower(ci.tableCharset), nil
		}
	}
	return "", fmt.Errorf("the column's character set is unknown: the binlog has no charset metadata and neither has the schema history; set binlog_row_metadata=FULL (or MINIMAL) on the source")
}

// zeros pads fractions of seconds.
const zeros = "000000"

// convert turns one non-NULL value into its event value. It never returns memory shared
// with v: go-mysql's strings and byte slices point into the event's buffer.
func (c *converter) convert(v any) (any, error) {
	switch c.kind {
	case kindInt:
		switch x := v.(type) {
		case int64:
			return v, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int8:
			return int64(x), nil
		}
	case kindUint:
		switch x := v.(type) {
		case int64:
			return uint64(x) & c.mask, nil
		case int32:
			return uint64(x) & c.mask, nil
		case int16:
			return uint64(x) & c.mask, nil
		case int8:
			return uint64(x) & c.mask, nil
		}
	case kindDecimal:
		if _, ok := v.(string); ok {
			return v, nil // built by go-mysql for this value alone, with the column's scale
		}
	case kindFloat:
		if _, ok := v.(float32); ok {
			return v, nil
		}
	case kindDouble:
		if _, ok := v.(float64); ok {
			return v, nil
		}
	case kindBit:
		if x, ok := v.(int64); ok {
			return uint64(x), nil
		}
	case kindYear:
		if x, ok := v.(int); ok {
			return int64(x), nil
		}
	case kindDate:
		if _, ok := v.(string); ok {
			return v, nil // formatted by go-mysql for this value alone
		}
	case kindDatetime, kindTimestamp:
		if s, ok := v.(string); ok {
			return c.dateTime(s)
		}
	case kindTime:
		if s, ok := v.(string); ok {
			if c.fsp > 0 && strings.IndexByte(s, '.') < 0 {
				// go-mysql leaves out a zero fraction.
				return s + "." + zeros[:c.fsp], nil
			}
			return v, nil
		}
	case kindTimeOld:
		if s, ok := v.(string); ok {
			return oldTime(s)
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return c.text.decodeString(x)
		case []byte:
			return c.text.decode(x)
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return bytes.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	case kindBinaryPadded:
		if s, ok := v.(string); ok {
			b := make([]byte, max(len(s), c.length))
			copy(b, s)
			return b, nil
		}
	case kindEnum:
		if i, ok := v.(int64); ok {
			switch {
			case i == 0:
				return "", nil // the error value MySQL stores for an invalid label
			case i > 0 && int(i) <= len(c.boxed):
				return c.boxed[i-1], nil
			}
			return nil, fmt.Errorf("ENUM index %d out of its %d labels: the labels are out of step with the binlog", i, len(c.labels))
		}
	case kindSet:
		if i, ok := v.(int64); ok {
			return c.set(uint64(i))
		}
	case kindJSONBinary:
		switch x := v.(type) {
		case string:
			return json.RawMessage(x), nil
		case []byte:
			if len(x) == 0 {
				// An empty document, which MySQL reads as the JSON null literal.
				return json.RawMessage("null"), nil
			}
			return json.RawMessage(bytes.Clone(x)), nil
		case *replication.JsonDiff:
			return nil, fmt.Errorf("partial JSON update: set binlog_row_value_options='' on the source so that updates carry whole documents")
		}
	case kindJSONText:
		if b, ok := v.([]byte); ok {
			return c.jsonText(b)
		}
	}
	return nil, fmt.Errorf("go-mysql returned %T for a %s column: the binlog reader must apply decoder.ConfigureSyncer to its BinlogSyncerConfig", v, c.typ)
}

// dateTime turns go-mysql's "YYYY-MM-DD HH:MM:SS[.f]" into ISO 8601, with a Z for a
// TIMESTAMP (formatted in UTC by ConfigureSyncer's choice).
func (c *converter) dateTime(s string) (any, error) {
	if len(s) < 19 || s[10] != ' ' {
		return nil, fmt.Errorf("unexpected %s text %q from go-mysql", c.typ, s)
	}
	if c.kind == kindTimestamp {
		return s[:10] + "T" + s[11:] + "Z", nil
	}
	return s[:10] + "T" + s[11:], nil
}

// set lists the labels of a SET value's bits, in definition order.
func (c *converter) set(bits uint64) (any, error) {
	if len(c.labels) < 64 && bits>>len(c.labels) != 0 {
		return nil, fmt.Errorf("SET value %#x has bits beyond its %d labels: the labels are out of step with the binlog", bits, len(c.labels))
	}
	if bits == 0 {
		return "", nil
	}
	if bits&(bits-1) == 0 { // one label: no need to build a string
		for i := range c.labels {
			if bits == 1<<i {
				return c.labels[i], nil
			}
		}
	}
	var sb strings.Builder
	for i, label := range c.labels {
		if bits&(1<<i) != 0 {
			if sb.Len() > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(label)
		}
	}
	return sb.String(), nil
}

// jsonText embeds MariaDB's JSON text when it is valid JSON, and emits it as a string
// otherwise (a JSON column without its CHECK constraint can hold anything).
func (c *converter) jsonText(b []byte) (any, error) {
	if c.text.utf8 && utf8.Valid(b) {
		if json.Valid(b) {
			return json.RawMessage(bytes.Clone(b)), nil
		}
		return string(b), nil
	}
	s, err := c.text.decode(b)
	if err != nil {
		return nil, err
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s), nil
	}
	return s, nil
}

// oldTime corrects go-mysql's reading of a pre-5.6 TIME: it formats the stored 3-byte
// value as unsigned, so -12:34:56 (stored as -123456) comes out as "1665:37:60".
func oldTime(s string) (any, error) {
	h, rest, ok1 := strings.Cut(s, ":")
	m, sec, ok2 := strings.Cut(rest, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	ss, err3 := strconv.Atoi(sec)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("unexpected TIME text %q from go-mysql", s)
	}
	v := hh*10000 + mm*100 + ss // the stored value, as go-mysql read it
	if v&0x800000 == 0 {
		return s, nil
	}
	v = 1<<24 - v
	return fmt.Sprintf("-%02d:%02d:%02d", v/10000, v/100%100, v%100), nil
}
