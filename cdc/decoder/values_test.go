package decoder

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/schema"
	"github.com/strangler/strangler/internal/testenv"
)

// sqlValue is a value written as SQL and the event value it must come out as.
type sqlValue struct {
	sql  string
	want any
}

// valueCase is one column type: a table (id INT PRIMARY KEY, v <def>) gets one row per
// value, a row with v NULL, an update of row 1 to the second value and a delete of row 2.
type valueCase struct {
	name string
	def  string
	// col is what the schema history says of v, for the paths without the binlog's names.
	col  schema.Column
	vals []sqlValue
}

func u64(v uint64) any { return v }
func i64(v int64) any  { return v }

func textCase(charset, text string) valueCase {
	return valueCase{
		name: "varchar_" + charset,
		def:  "VARCHAR(40) CHARACTER SET " + charset,
		col:  schema.Column{Type: "varchar", Charset: charset, Precision: 40},
		vals: []sqlValue{{"'" + text + "'", text}, {"'plain ascii'", "plain ascii"}, {"''", ""}},
	}
}

func valueCases() []valueCase {
	setLabels64 := make([]string, 64)
	for i := range setLabels64 {
		setLabels64[i] = fmt.Sprintf("s%d", i+1)
	}
	geoPoint := []byte{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}
	geoPoint4326 := append([]byte{0xe6, 0x10, 0, 0}, geoPoint[4:]...)
	cases := []valueCase{
		// Integers, signed and unsigned, at their limits.
		{"tinyint", "TINYINT", schema.Column{Type: "tinyint"}, []sqlValue{{"-128", i64(-128)}, {"127", i64(127)}, {"0", i64(0)}}},
		{"tinyint_u", "TINYINT UNSIGNED", schema.Column{Type: "tinyint", Unsigned: true}, []sqlValue{{"255", u64(255)}, {"128", u64(128)}, {"0", u64(0)}}},
		{"smallint", "SMALLINT", schema.Column{Type: "smallint"}, []sqlValue{{"-32768", i64(-32768)}, {"32767", i64(32767)}}},
		{"smallint_u", "SMALLINT UNSIGNED", schema.Column{Type: "smallint", Unsigned: true}, []sqlValue{{"65535", u64(65535)}, {"32768", u64(32768)}}},
		{"mediumint", "MEDIUMINT", schema.Column{Type: "mediumint"}, []sqlValue{{"-8388608", i64(-8388608)}, {"8388607", i64(8388607)}, {"-1", i64(-1)}}},
		{"mediumint_u", "MEDIUMINT UNSIGNED", schema.Column{Type: "mediumint", Unsigned: true}, []sqlValue{{"16777215", u64(16777215)}, {"8388608", u64(8388608)}}},
		{"int", "INT", schema.Column{Type: "int"}, []sqlValue{{"-2147483648", i64(math.MinInt32)}, {"2147483647", i64(math.MaxInt32)}}},
		{"int_u", "INT UNSIGNED", schema.Column{Type: "int", Unsigned: true}, []sqlValue{{"4294967295", u64(math.MaxUint32)}, {"2147483648", u64(1 << 31)}}},
		{"bigint", "BIGINT", schema.Column{Type: "bigint"}, []sqlValue{{"-9223372036854775808", i64(math.MinInt64)}, {"9223372036854775807", i64(math.MaxInt64)}}},
		{"bigint_u", "BIGINT UNSIGNED", schema.Column{Type: "bigint", Unsigned: true}, []sqlValue{{"18446744073709551615", u64(math.MaxUint64)}, {"9223372036854775808", u64(1 << 63)}, {"0", u64(0)}}},
		// DECIMAL: a string with exactly the column's scale.
		{"decimal", "DECIMAL(10,2)", schema.Column{Type: "decimal", Precision: 10, Scale: 2}, []sqlValue{{"5.1", "5.10"}, {"-0.5", "-0.50"}, {"0", "0.00"}, {"-99999999.99", "-99999999.99"}}},
		{"decimal_3", "DECIMAL(10,3)", schema.Column{Type: "decimal", Precision: 10, Scale: 3}, []sqlValue{{"0", "0.000"}, {"-1.001", "-1.001"}}},
		{"decimal_0", "DECIMAL(5,0)", schema.Column{Type: "decimal", Precision: 5}, []sqlValue{{"12345", "12345"}, {"-1", "-1"}, {"0", "0"}}},
		{"decimal_65", "DECIMAL(65,30)", schema.Column{Type: "decimal", Precision: 65, Scale: 30}, []sqlValue{
			{"12345678901234567890123456789012345.123456789012345678901234567890", "12345678901234567890123456789012345.123456789012345678901234567890"},
			{"-99999999999999999999999999999999999.999999999999999999999999999999", "-99999999999999999999999999999999999.999999999999999999999999999999"},
			{"0", "0.000000000000000000000000000000"},
			{"-0.000000000000000000000000000001", "-0.000000000000000000000000000001"},
		}},
		// FLOAT and DOUBLE: numbers.
		{"float", "FLOAT", schema.Column{Type: "float"}, []sqlValue{{"3.40282e38", float32(3.40282e38)}, {"-3.40282e38", float32(-3.40282e38)}, {"1.17549e-38", float32(1.17549e-38)}, {"0.1", float32(0.1)}, {"0", float32(0)}}},
		{"double", "DOUBLE", schema.Column{Type: "double"}, []sqlValue{{"1.7976931348623157e308", math.MaxFloat64}, {"-1.7976931348623157e308", -math.MaxFloat64}, {"2.2250738585072014e-308", 2.2250738585072014e-308}, {"0.1", 0.1}}},
		// BIT: a number.
		{"bit1", "BIT(1)", schema.Column{Type: "bit", Precision: 1}, []sqlValue{{"b'1'", u64(1)}, {"b'0'", u64(0)}}},
		{"bit10", "BIT(10)", schema.Column{Type: "bit", Precision: 10}, []sqlValue{{"b'1000000001'", u64(513)}, {"b'0'", u64(0)}}},
		{"bit64", "BIT(64)", schema.Column{Type: "bit", Precision: 64}, []sqlValue{{"0xFFFFFFFFFFFFFFFF", u64(math.MaxUint64)}, {"0x8000000000000000", u64(1 << 63)}, {"1", u64(1)}}},
		// YEAR: a number, 0 for 0000.
		{"year", "YEAR", schema.Column{Type: "year"}, []sqlValue{{"2024", i64(2024)}, {"1901", i64(1901)}, {"2155", i64(2155)}, {"0", i64(0)}}},
		// DATE: zero and partial-zero dates as stored, invalid dates not normalised.
		{"date", "DATE", schema.Column{Type: "date"}, []sqlValue{{"'2024-02-29'", "2024-02-29"}, {"'1000-01-01'", "1000-01-01"}, {"'9999-12-31'", "9999-12-31"},
			{"'0000-00-00'", "0000-00-00"}, {"'2024-00-10'", "2024-00-10"}, {"'2024-02-00'", "2024-02-00"}, {"'2024-02-30'", "2024-02-30"}}},
		// DATETIME: ISO 8601 with exactly the column's fraction.
		{"datetime0", "DATETIME", schema.Column{Type: "datetime"}, []sqlValue{{"'2024-02-29 13:14:15'", "2024-02-29T13:14:15"}, {"'1000-01-01 00:00:00'", "1000-01-01T00:00:00"},
			{"'9999-12-31 23:59:59'", "9999-12-31T23:59:59"}, {"'0000-00-00 00:00:00'", "0000-00-00T00:00:00"}, {"'2024-00-10 00:00:00'", "2024-00-10T00:00:00"},
			{"'2024-02-30 01:02:03'", "2024-02-30T01:02:03"}, {"'1969-12-31 23:59:59'", "1969-12-31T23:59:59"}}},
		{"datetime1", "DATETIME(1)", schema.Column{Type: "datetime", FSP: 1}, []sqlValue{{"'2024-02-29 13:14:15.5'", "2024-02-29T13:14:15.5"}, {"'2024-02-29 13:14:15'", "2024-02-29T13:14:15.0"}}},
		{"datetime2", "DATETIME(2)", schema.Column{Type: "datetime", FSP: 2}, []sqlValue{{"'2024-02-29 13:14:15.07'", "2024-02-29T13:14:15.07"}}},
		{"datetime3", "DATETIME(3)", schema.Column{Type: "datetime", FSP: 3}, []sqlValue{{"'2024-02-29 13:14:15.123'", "2024-02-29T13:14:15.123"}, {"'2024-02-29 13:14:15'", "2024-02-29T13:14:15.000"},
			{"'0000-00-00 00:00:00'", "0000-00-00T00:00:00.000"}}},
		{"datetime4", "DATETIME(4)", schema.Column{Type: "datetime", FSP: 4}, []sqlValue{{"'2024-02-29 13:14:15.0001'", "2024-02-29T13:14:15.0001"}}},
		{"datetime5", "DATETIME(5)", schema.Column{Type: "datetime", FSP: 5}, []sqlValue{{"'2024-02-29 13:14:15.12345'", "2024-02-29T13:14:15.12345"}}},
		{"datetime6", "DATETIME(6)", schema.Column{Type: "datetime", FSP: 6}, []sqlValue{{"'2024-02-29 13:14:15.123456'", "2024-02-29T13:14:15.123456"},
			{"'1969-12-31 23:59:59.999999'", "1969-12-31T23:59:59.999999"}, {"'0000-00-00 00:00:00'", "0000-00-00T00:00:00.000000"}, {"'9999-12-31 23:59:59.999999'", "9999-12-31T23:59:59.999999"}}},
		// TIMESTAMP: UTC with a Z, written by a session at +05:30.
		{"timestamp0", "TIMESTAMP NULL", schema.Column{Type: "timestamp", Nullable: true}, []sqlValue{{"'2024-02-29 17:44:15'", "2024-02-29T12:14:15Z"}, {"0", "0000-00-00T00:00:00Z"},
			{"'1970-01-01 05:30:01'", "1970-01-01T00:00:01Z"}, {"'2038-01-19 08:44:07'", "2038-01-19T03:14:07Z"}}},
		{"timestamp1", "TIMESTAMP(1) NULL", schema.Column{Type: "timestamp", FSP: 1, Nullable: true}, []sqlValue{{"'2024-02-29 17:44:15.5'", "2024-02-29T12:14:15.5Z"}, {"'2024-02-29 17:44:15'", "2024-02-29T12:14:15.0Z"}}},
		{"timestamp6", "TIMESTAMP(6) NULL", schema.Column{Type: "timestamp", FSP: 6, Nullable: true}, []sqlValue{{"'2024-02-29 17:44:15.5'", "2024-02-29T12:14:15.500000Z"},
			{"0", "0000-00-00T00:00:00.000000Z"}, {"'2024-07-01 05:30:00.000001'", "2024-07-01T00:00:00.000001Z"}}},
		// TIME: past 24 hours and negative, with the column's fraction.
		{"time0", "TIME", schema.Column{Type: "time"}, []sqlValue{{"'-838:59:59'", "-838:59:59"}, {"'838:59:59'", "838:59:59"}, {"'00:00:00'", "00:00:00"},
			{"'-00:00:01'", "-00:00:01"}, {"'100:00:00'", "100:00:00"}, {"'-12:34:56'", "-12:34:56"}}},
		{"time1", "TIME(1)", schema.Column{Type: "time", FSP: 1}, []sqlValue{{"'100:00:00.5'", "100:00:00.5"}, {"'-00:00:00.5'", "-00:00:00.5"}, {"'00:00:00'", "00:00:00.0"}, {"'-01:00:00'", "-01:00:00.0"}}},
		{"time3", "TIME(3)", schema.Column{Type: "time", FSP: 3}, []sqlValue{{"'10:00:00'", "10:00:00.000"}, {"'-838:59:59'", "-838:59:59.000"}, {"'-01:02:03.004'", "-01:02:03.004"}, {"'00:00:00.999'", "00:00:00.999"}}},
		{"time6", "TIME(6)", schema.Column{Type: "time", FSP: 6}, []sqlValue{{"'12:34:56.000001'", "12:34:56.000001"}, {"'-12:34:56.999999'", "-12:34:56.999999"}, {"'838:59:59'", "838:59:59.000000"}, {"'00:00:00'", "00:00:00.000000"}}},
		// Strings: UTF-8 whatever the character set; CHAR comes without its padding.
		{"char_utf8mb4", "CHAR(5)", schema.Column{Type: "char", Charset: "utf8mb4", Precision: 5}, []sqlValue{{"'ab  '", "ab"}, {"'é😀'", "é😀"}, {"''", ""}, {"'  x'", "  x"}}},
		{"char_long", "CHAR(100)", schema.Column{Type: "char", Charset: "utf8mb4", Precision: 100}, []sqlValue{{"'x'", "x"}, {"REPEAT('é', 100)", strings.Repeat("é", 100)}}},
		{"char_latin1", "CHAR(5) CHARACTER SET latin1", schema.Column{Type: "char", Charset: "latin1", Precision: 5}, []sqlValue{{"'é  '", "é"}, {"'€'", "€"}}},
		{"char_utf16", "CHAR(4) CHARACTER SET utf16", schema.Column{Type: "char", Charset: "utf16", Precision: 4}, []sqlValue{{"'ab'", "ab"}, {"'😀'", "😀"}}},
		{"varchar_emoji", "VARCHAR(300)", schema.Column{Type: "varchar", Charset: "utf8mb4", Precision: 300}, []sqlValue{{"'😀👍🏽 ok'", "😀👍🏽 ok"}, {"REPEAT('ü', 300)", strings.Repeat("ü", 300)},
			{"'tab\\there \"quoted\" \\\\ back'", "tab\there \"quoted\" \\ back"}, {"'nul\\0byte'", "nul\x00byte"}}},
		{"text", "TEXT", schema.Column{Type: "text", Charset: "utf8mb4"}, []sqlValue{{"'héllo wörld 😀'", "héllo wörld 😀"}, {"''", ""}}},
		{"tinytext_latin1", "TINYTEXT CHARACTER SET latin1", schema.Column{Type: "tinytext", Charset: "latin1"}, []sqlValue{{"'café €'", "café €"}}},
		{"mediumtext_cp1251", "MEDIUMTEXT CHARACTER SET cp1251", schema.Column{Type: "mediumtext", Charset: "cp1251"}, []sqlValue{{"'Привет, мир'", "Привет, мир"}}},
		{"longtext", "LONGTEXT", schema.Column{Type: "longtext", Charset: "utf8mb4"}, []sqlValue{{"REPEAT('😀', 1000)", strings.Repeat("😀", 1000)}}},
		textCase("latin1", "café € Œuvre ÿ"),
		textCase("utf8mb3", "żółw ñ 日本"),
		textCase("utf8mb4", "emoji 😀 𝄞"),
		textCase("ascii", "just ASCII ~"),
		textCase("cp1251", "Привет Ёё"),
		textCase("greek", "Αθήνα ΩΣ"),
		textCase("latin2", "Žluťoučký kůň"),
		textCase("sjis", "日本語テキスト"),
		textCase("cp932", "①日本語㈱"),
		textCase("gbk", "中文字符"),
		textCase("gb2312", "中文"),
		textCase("big5", "中文字元"),
		textCase("euckr", "한국어 텍스트"),
		textCase("ujis", "日本語テキスト"),
		textCase("eucjpms", "日本語"),
		textCase("ucs2", "Grüße ✓"),
		textCase("utf16", "emoji 😀 𝄞"),
		textCase("utf16le", "😀 le ü"),
		textCase("utf32", "𝄞 utf32 é"),
		textCase("koi8r", "Привет"),
		textCase("koi8u", "Київ ґ"),
		textCase("cp1250", "Łódź"),
		textCase("cp1256", "مرحبا"),
		textCase("cp1257", "Ąžuolas"),
		textCase("cp850", "café ñ"),
		textCase("cp852", "Łódź"),
		textCase("cp866", "Привет"),
		textCase("latin5", "İstanbul ş"),
		textCase("latin7", "Ąžuolas"),
		textCase("hebrew", "שלום"),
		textCase("tis620", "ภาษาไทย"),
		textCase("macroman", "café ƒ"),
		textCase("macce", "Łódź"),
		textCase("keybcs2", "Čeština"),
		textCase("armscii8", "Բարեւ"),
		textCase("geostd8", "გამარჯობა"),
		textCase("dec8", "café"),
		textCase("hp8", "café"),
		textCase("swe7", "ÅÄÖ åäö"),
		// Binary strings: the stored bytes exactly; BINARY(n) is zero-padded to n.
		{"binary6", "BINARY(6)", schema.Column{Type: "binary", Charset: "binary", Precision: 6}, []sqlValue{{"0x610000", []byte{'a', 0, 0, 0, 0, 0}}, {"'abc'", []byte{'a', 'b', 'c', 0, 0, 0}},
			{"0x000000000000", []byte{0, 0, 0, 0, 0, 0}}, {"0x010203040506", []byte{1, 2, 3, 4, 5, 6}}, {"''", []byte{0, 0, 0, 0, 0, 0}}}},
		{"binary16", "BINARY(16)", schema.Column{Type: "binary", Charset: "binary", Precision: 16}, []sqlValue{{"0x0123456789abcdef0123456789ab0000", []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0, 0}}}},
		{"varbinary", "VARBINARY(10)", schema.Column{Type: "varbinary", Charset: "binary", Precision: 10}, []sqlValue{{"0x00ff00", []byte{0, 0xff, 0}}, {"''", []byte{}}, {"'a '", []byte("a ")}}},
		{"blob", "BLOB", schema.Column{Type: "blob"}, []sqlValue{{"0x00010200", []byte{0, 1, 2, 0}}, {"''", []byte{}}, {"0xff", []byte{0xff}}}},
		{"longblob", "LONGBLOB", schema.Column{Type: "longblob"}, []sqlValue{{"REPEAT(0x00ff, 5000)", []byte(strings.Repeat("\x00\xff", 5000))}}},
		// ENUM and SET: labels, never indexes.
		{"enum", "ENUM('a','b','c')", schema.Column{Type: "enum", Charset: "utf8mb4", Elements: []string{"a", "b", "c"}}, []sqlValue{{"'b'", "b"}, {"'c'", "c"}, {"'zzz'", ""}, {"1", "a"}}},
		{"enum_latin1", "ENUM('é','ü x') CHARACTER SET latin1", schema.Column{Type: "enum", Charset: "latin1", Elements: []string{"é", "ü x"}}, []sqlValue{{"'ü x'", "ü x"}, {"'é'", "é"}}},
		{"enum_ucs2", "ENUM('x','ÿ') CHARACTER SET ucs2", schema.Column{Type: "enum", Charset: "ucs2", Elements: []string{"x", "ÿ"}}, []sqlValue{{"'ÿ'", "ÿ"}, {"'x'", "x"}}},
		{"set", "SET('x','y','z')", schema.Column{Type: "set", Charset: "utf8mb4", Elements: []string{"x", "y", "z"}}, []sqlValue{{"'x,z'", "x,z"}, {"''", ""}, {"'z,x'", "x,z"}, {"'x,y,z'", "x,y,z"}, {"'y'", "y"}}},
		{"set10", "SET('a','b','c','d','e','f','g','h','i','j')", schema.Column{Type: "set", Charset: "utf8mb4", Elements: strings.Split("a,b,c,d,e,f,g,h,i,j", ",")}, []sqlValue{{"'a,j'", "a,j"}, {"'i'", "i"}}},
		{"set64", "SET('" + strings.Join(setLabels64, "','") + "')", schema.Column{Type: "set", Charset: "utf8mb4", Elements: setLabels64}, []sqlValue{{"'s1,s64'", "s1,s64"}, {"'s64'", "s64"},
			{"'" + strings.Join(setLabels64, ",") + "'", strings.Join(setLabels64, ",")}}},
		{"set_utf16", "SET('ü','y') CHARACTER SET utf16", schema.Column{Type: "set", Charset: "utf16", Elements: []string{"ü", "y"}}, []sqlValue{{"'y,ü'", "ü,y"}}},
		// JSON: embedded (MariaDB stores it as text, as written). Without the schema
		// history it can only be a string.
		{"json", "JSON", schema.Column{Type: "json", Charset: "utf8mb4"}, []sqlValue{
			{`'{"a": [1, 2.50, {"b": null}]}'`, json.RawMessage(`{"a": [1, 2.50, {"b": null}]}`)},
			{`'[1,"two",true]'`, json.RawMessage(`[1,"two",true]`)},
			{`'1'`, json.RawMessage(`1`)}, {`'"str"'`, json.RawMessage(`"str"`)}, {`'null'`, json.RawMessage(`null`)}, {`'false'`, json.RawMessage(`false`)},
			{`'{"k": "ü😀 \\u00e9", "n": -1.5e300}'`, json.RawMessage(`{"k": "ü😀 \u00e9", "n": -1.5e300}`)},
		}},
		// A LONGTEXT the schema history says is JSON, holding text that is not: a string.
		{"json_unchecked", "LONGTEXT", schema.Column{Type: "json", Charset: "utf8mb4"}, []sqlValue{{`'{"ok": 1}'`, json.RawMessage(`{"ok": 1}`)}, {`'not json {'`, "not json {"}, {`''`, ""}}},
		// GEOMETRY: SRID then WKB, as stored.
		{"geometry", "GEOMETRY", schema.Column{Type: "geometry"}, []sqlValue{{"ST_GeomFromText('POINT(1 2)')", geoPoint}, {"ST_GeomFromText('POINT(1 2)', 4326)", geoPoint4326}}},
	}
	return cases
}

// rowImage is one row image of a case table as the binlog carries it.
type rowImage struct {
	tm  *replication.TableMapEvent
	raw []any
}

// writeCase writes the rows of c into table on conn.
func writeCase(ctx context.Context, conn *sql.Conn, table string, c valueCase) error {
	for i, v := range c.vals {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO `%s` VALUES (%d, %s)", table, i+1, v.sql)); err != nil {
			return fmt.Errorf("%s: insert %s: %w", table, v.sql, err)
		}
	}
	stmts := []string{fmt.Sprintf("INSERT INTO `%s` VALUES (0, NULL)", table)}
	if len(c.vals) > 1 {
		stmts = append(stmts,
			fmt.Sprintf("UPDATE `%s` SET v = %s WHERE id = 1", table, c.vals[1].sql),
			fmt.Sprintf("DELETE FROM `%s` WHERE id = 2", table))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// wantImages lists the row images writeCase produces, in binlog order.
func wantImages(c valueCase) [][]any {
	var rows [][]any
	for i, v := range c.vals {
		rows = append(rows, []any{int64(i + 1), v.want})
	}
	rows = append(rows, []any{int64(0), nil})
	if len(c.vals) > 1 {
		rows = append(rows, []any{int64(1), c.vals[0].want}, []any{int64(1), c.vals[1].want}, []any{int64(2), c.vals[1].want})
	}
	return rows
}

// writeSession opens a connection with the session the cases are written in: a time
// zone that is not UTC, and a lax sql_mode that lets zero and invalid dates in.
func writeSession(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	for _, s := range []string{"SET time_zone = '+05:30'", "SET sql_mode = 'ALLOW_INVALID_DATES'", "SET NAMES utf8mb4"} {
		_, err := conn.ExecContext(t.Context(), s)
		require.NoError(t, err)
	}
	return conn
}

// collectRows returns the row images of each table of db in the events, by table name.
func collectRows(events []*replication.BinlogEvent, db string) map[string][]rowImage {
	out := map[string][]rowImage{}
	for _, ev := range events {
		re, ok := ev.Event.(*replication.RowsEvent)
		if !ok || string(re.Table.Schema) != db {
			continue
		}
		for _, row := range re.Rows {
			out[string(re.Table.Table)] = append(out[string(re.Table.Table)], rowImage{tm: re.Table, raw: row})
		}
	}
	return out
}

// caseTable is the schema history's view of a case table.
func caseTable(db, name string, c valueCase) *schema.Table {
	col := c.col
	col.Name = "v"
	col.Nullable = true
	return &schema.Table{DB: db, Name: name, Charset: "utf8mb4", PrimaryKey: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: "int"}, col}}
}

// stripMetadata returns a copy of a table map without optional metadata, as MySQL 5.7
// and MariaDB before 10.5 write them. Copy before go-mysql caches names in the original.
func stripMetadata(tm *replication.TableMapEvent) *replication.TableMapEvent {
	c := *tm
	c.SignednessBitmap, c.DefaultCharset, c.ColumnCharset = nil, nil, nil
	c.SetStrValue, c.EnumStrValue, c.ColumnName, c.GeometryType = nil, nil, nil, nil
	c.PrimaryKey, c.PrimaryKeyPrefix, c.EnumSetDefaultCharset, c.EnumSetColumnCharset = nil, nil, nil, nil
	c.VisibilityBitmap = nil
	return &c
}

// TestLayoutValues writes every type with edge values and checks the decoded events,
// type by type, on every metadata path: the binlog's names alone (FULL), FULL with the
// schema history's hints, MINIMAL metadata with the schema history, and no optional
// metadata at all (older servers) with the schema history.
func TestLayoutValues(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	cases := valueCases()
	for _, c := range cases {
		for _, suffix := range []string{"_f", "_m"} {
			db.Exec(t, fmt.Sprintf("CREATE TABLE `%s%s` (id INT PRIMARY KEY, v %s)", c.name, suffix, c.def))
		}
	}
	conn := writeSession(t, db.DB)
	ctx := t.Context()

	from := testenv.CurrentBinlogPos(t, db.DB)
	db.WithFullRowMetadata(t, func() error {
		for _, c := range cases {
			if err := writeCase(ctx, conn, c.name+"_f", c); err != nil {
				return err
			}
		}
		return nil
	})
	db.WithMinimalRowMetadata(t, func() error {
		// One transaction: binlog_row_metadata is MINIMAL server-wide meanwhile.
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		for _, c := range cases {
			if err := writeCase(ctx, conn, c.name+"_m", c); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	})
	to := testenv.CurrentBinlogPos(t, db.DB)
	rows := collectRows(testenv.ReadBinlog(t, db.Root, from, to, ConfigureSyncer), db.Name)

	// The stripped copies first: NewLayout makes go-mysql cache names in a table map.
	stripped := map[*replication.TableMapEvent]*replication.TableMapEvent{}
	for _, images := range rows {
		for _, img := range images {
			if stripped[img.tm] == nil {
				stripped[img.tm] = stripMetadata(img.tm)
			}
		}
	}

	paths := []struct {
		name   string
		suffix string
		schema bool // decode with the schema history's table
		strip  bool
	}{
		{"full", "_f", false, false},
		{"full+schema", "_f", true, false},
		{"minimal+schema", "_m", true, false},
		{"none+schema", "_f", true, true},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					table := c.name + p.suffix
					images := rows[table]
					want := wantImages(c)
					require.Len(t, images, len(want), "row images of %s", table)
					var tbl *schema.Table
					if p.schema {
						tbl = caseTable(db.Name, table, c)
					}
					for i, img := range images {
						tm := img.tm
						if p.strip {
							tm = stripped[img.tm]
						}
						if p.suffix == "_m" {
							require.Nil(t, tm.ColumnName, "MINIMAL metadata carries no names")
						}
						l, err := NewLayout(tm, tbl)
						require.NoError(t, err)
						require.NoError(t, l.SchemaMismatch)
						require.Equal(t, db.Name, l.DB)
						require.Equal(t, table, l.Table)
						require.Equal(t, []string{"id", "v"}, l.Columns)
						require.Equal(t, []int{0}, l.KeyColumns)
						got, err := l.Row(img.raw)
						require.NoError(t, err)
						w := want[i]
						if raw, ok := w[1].(json.RawMessage); ok && !p.schema {
							w = []any{w[0], string(raw)} // no hint: MariaDB's JSON is text
						}
						require.Equal(t, w, got, "row image %d of %s (raw %#v)", i, table, img.raw)
					}
				})
			}
		})
	}
}

// TestLayoutValuesAlignment checks per-column metadata lands on the right column in a
// wide table: MariaDB gives YEAR a signedness bit and GEOMETRY a character set, which
// shift every column after them if counted wrongly.
func TestLayoutValuesAlignment(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE wide ("+
		"g GEOMETRY, y YEAR, a INT, b TINYINT UNSIGNED, e ENUM('p','q') CHARACTER SET latin1, d DECIMAL(6,2) UNSIGNED, "+
		"u BIGINT UNSIGNED, s SET('x','y','z'), c VARCHAR(10) CHARACTER SET cp1251, f FLOAT, "+
		"t TEXT CHARACTER SET latin1, y2 YEAR, m MEDIUMINT, mu MEDIUMINT UNSIGNED, j JSON, bn BINARY(3), "+
		"e2 ENUM('one','two') CHARACTER SET utf16, k VARCHAR(8) NOT NULL, kk INT UNSIGNED NOT NULL, PRIMARY KEY (k(4), kk))")
	from := testenv.CurrentBinlogPos(t, db.DB)
	db.WithFullRowMetadata(t, func() error {
		db.Exec(t, `INSERT INTO wide VALUES (ST_GeomFromText('POINT(1 2)'), 2024, -5, 200, 'q', 12.5, 18446744073709551615, 'x,y',
		'Ёж', 1.5, 'Œuvre', 1999, -7, 16777215, '{"a":1}', 0x01, 'two', 'key', 4294967295)`)
		return nil
	})
	to := testenv.CurrentBinlogPos(t, db.DB)
	rows := collectRows(testenv.ReadBinlog(t, db.Root, from, to, ConfigureSyncer), db.Name)["wide"]
	require.Len(t, rows, 1)

	l, err := NewLayout(rows[0].tm, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"g", "y", "a", "b", "e", "d", "u", "s", "c", "f", "t", "y2", "m", "mu", "j", "bn", "e2", "k", "kk"}, l.Columns)
	require.Equal(t, []int{17, 18}, l.KeyColumns)
	got, err := l.Row(rows[0].raw)
	require.NoError(t, err)
	want := []any{
		[]byte{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40},
		int64(2024), int64(-5), uint64(200), "q", "12.50", uint64(math.MaxUint64), "x,y", "Ёж", float32(1.5),
		"Œuvre", int64(1999), int64(-7), uint64(16777215), `{"a":1}`, []byte{1, 0, 0}, "two", "key", uint64(math.MaxUint32),
	}
	require.Equal(t, want, got)
}

// TestLayoutValuesCollations checks that MariaDB's UCA 14.0.0 collations, whose ids
// information_schema does not show, map to their character sets.
func TestLayoutValuesCollations(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE uca (a VARCHAR(9) COLLATE utf8mb3_uca1400_ai_ci, b VARCHAR(9) COLLATE ucs2_uca1400_ai_ci, "+
		"c VARCHAR(9) COLLATE utf16_uca1400_as_cs, d VARCHAR(9) COLLATE utf32_uca1400_swedish_nopad_ai_ci, "+
		"e VARCHAR(9) COLLATE utf8mb4_uca1400_swedish_nopad_as_cs, f VARCHAR(9) COLLATE utf8mb4_uca1400_ai_ci)")
	from := testenv.CurrentBinlogPos(t, db.DB)
	db.WithFullRowMetadata(t, func() error {
		db.Exec(t, "INSERT INTO uca VALUES ('ä1', 'ä2', 'ä3 😀', 'ä4 😀', 'ä5 😀', 'ä6')")
		return nil
	})
	to := testenv.CurrentBinlogPos(t, db.DB)
	rows := collectRows(testenv.ReadBinlog(t, db.Root, from, to, ConfigureSyncer), db.Name)["uca"]
	require.Len(t, rows, 1)
	l, err := NewLayout(rows[0].tm, nil)
	require.NoError(t, err)
	got, err := l.Row(rows[0].raw)
	require.NoError(t, err)
	require.Equal(t, []any{"ä1", "ä2", "ä3 😀", "ä4 😀", "ä5 😀", "ä6"}, got)
}
