package decoder

import (
	"encoding/json"
	"testing"
	"time"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/schema"
	"github.com/strangler/strangler/internal/testenv"
)

func TestLayoutConfigureSyncer(t *testing.T) {
	t.Parallel()
	cfg := replication.BinlogSyncerConfig{ParseTime: true, UseDecimal: true, TimestampStringLocation: time.Local}
	ConfigureSyncer(&cfg)
	require.False(t, cfg.ParseTime)
	require.False(t, cfg.UseDecimal)
	require.Equal(t, time.UTC, cfg.TimestampStringLocation)
	require.True(t, cfg.UseFloatWithTrailingZero)
}

// TestLayoutMinimalErrors decodes real MINIMAL events (no column names) with a missing
// or wrong schema history: each must be refused with what is wrong and the fix.
func TestLayoutMinimalErrors(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE m (id INT PRIMARY KEY, name VARCHAR(10), e ENUM('a','b'))")
	from := testenv.CurrentBinlogPos(t, db.DB)
	db.WithMinimalRowMetadata(t, func() error {
		_, err := db.DB.Exec("INSERT INTO m VALUES (1, 'x', 'b')")
		return err
	})
	to := testenv.CurrentBinlogPos(t, db.DB)
	rows := collectRows(testenv.ReadBinlog(t, db.Root, from, to, ConfigureSyncer), db.Name)["m"]
	require.Len(t, rows, 1)
	tm := rows[0].tm
	require.Nil(t, tm.ColumnName)
	where := db.Name + ".m"

	good := func() *schema.Table {
		return &schema.Table{DB: db.Name, Name: "m", PrimaryKey: []string{"id"}, Columns: []schema.Column{
			{Name: "id", Type: "int"}, {Name: "name", Type: "varchar", Charset: "utf8mb4", Nullable: true},
			{Name: "e", Type: "enum", Elements: []string{"a", "b"}, Nullable: true}}}
	}
	l, err := NewLayout(tm, good())
	require.NoError(t, err)
	got, err := l.Row(rows[0].raw)
	require.NoError(t, err)
	require.Equal(t, []any{int64(1), "x", "b"}, got)

	tests := []struct {
		name  string
		table func() *schema.Table
		want  []string
	}{
		{"no schema table", func() *schema.Table { return nil },
			[]string{where, "no column names", "binlog_row_metadata=FULL"}},
		{"column count", func() *schema.Table {
			t := good()
			t.Columns = append(t.Columns, schema.Column{Name: "added", Type: "int"})
			return t
		}, []string{where, "binlog has 3 columns but the schema history has 4 (id, name, e, added)", "out of step", "binlog_row_metadata=FULL"}},
		{"incompatible type", func() *schema.Table {
			t := good()
			t.Columns[1].Type = "int"
			return t
		}, []string{where, "column name", "binlog has a VARCHAR/VARBINARY column where the schema history has int", "out of step"}},
		{"enum labels out of step", func() *schema.Table {
			t := good()
			t.Columns[2].Elements = nil
			return t
		}, []string{where, "column e", "labels are unknown", "binlog_row_metadata=FULL"}},
		{"key column unknown", func() *schema.Table {
			t := good()
			t.PrimaryKey = []string{"nope"}
			return t
		}, []string{where, "key column nope", "out of step"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLayout(tm, tt.table())
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// tableMap builds a MySQL-flavoured table map by hand, as go-mysql would decode it.
func tableMap(types []byte, meta []uint16) *replication.TableMapEvent {
	return &replication.TableMapEvent{Schema: []byte("shop"), Table: []byte("orders"),
		ColumnCount: uint64(len(types)), ColumnType: types, ColumnMeta: meta}
}

func TestLayoutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tm    func() *replication.TableMapEvent
		table *schema.Table
		want  []string
	}{
		{"signedness unknown", func() *replication.TableMapEvent {
			tm := tableMap([]byte{mysql.MYSQL_TYPE_LONG}, []uint16{0})
			tm.ColumnName = [][]byte{[]byte("n")}
			return tm
		}, nil, []string{"shop.orders", "column n", "UNSIGNED is unknown", "binlog_row_metadata=FULL"}},
		{"charset unknown", func() *replication.TableMapEvent {
			tm := tableMap([]byte{mysql.MYSQL_TYPE_VARCHAR}, []uint16{40})
			tm.ColumnName = [][]byte{[]byte("s")}
			return tm
		}, nil, []string{"shop.orders", "column s", "character set is unknown"}},
		{"collation unknown", func() *replication.TableMapEvent {
			tm := tableMap([]byte{mysql.MYSQL_TYPE_VARCHAR}, []uint16{40})
			tm.ColumnName = [][]byte{[]byte("s")}
			tm.ColumnCharset = []uint64{4000}
			return tm
		}, nil, []string{"column s", "collation id 4000 is unknown"}},
		{"decimal out of step", func() *replication.TableMapEvent {
			return tableMap([]byte{mysql.MYSQL_TYPE_NEWDECIMAL}, []uint16{10<<8 | 2})
		}, &schema.Table{DB: "shop", Name: "orders", Columns: []schema.Column{{Name: "d", Type: "decimal", Precision: 12, Scale: 2}}},
			[]string{"column d", "DECIMAL has precision and scale 1002 where the schema history has 1202", "out of step"}},
		{"set out of step", func() *replication.TableMapEvent {
			return tableMap([]byte{mysql.MYSQL_TYPE_STRING}, []uint16{uint16(mysql.MYSQL_TYPE_SET)<<8 | 1})
		}, &schema.Table{DB: "shop", Name: "orders", Columns: []schema.Column{{Name: "s", Type: "set", Elements: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}}}},
			[]string{"column s", "SET takes 1 bytes but the schema history's 9 labels take 2"}},
		{"names count", func() *replication.TableMapEvent {
			tm := tableMap([]byte{mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONG}, []uint16{0, 0})
			tm.ColumnName = [][]byte{[]byte("a")}
			return tm
		}, nil, []string{"names 1 columns but has 2"}},
		{"hires old temporal", func() *replication.TableMapEvent {
			return tableMap([]byte{mysql.MYSQL_TYPE_TIME}, []uint16{0})
		}, &schema.Table{DB: "shop", Name: "orders", Columns: []schema.Column{{Name: "t", Type: "time", FSP: 3}}},
			[]string{"column t", "MariaDB 5.3's temporal format", "mysql56_temporal_format=ON"}},
		{"unsupported type", func() *replication.TableMapEvent {
			tm := tableMap([]byte{mysql.MYSQL_TYPE_DECIMAL}, []uint16{0})
			tm.ColumnName = [][]byte{[]byte("old")}
			return tm
		}, nil, []string{"column old", "not supported", "ALTER TABLE"}},
		{"malformed labels", func() *replication.TableMapEvent {
			enum := uint16(mysql.MYSQL_TYPE_ENUM)<<8 | 1
			tm := tableMap([]byte{mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_STRING}, []uint16{enum, enum})
			tm.ColumnName = [][]byte{[]byte("e1"), []byte("e2")}
			tm.EnumStrValue = [][][]byte{{[]byte("a")}} // labels of one ENUM for two
			return tm
		}, nil, []string{"shop.orders", "malformed optional metadata"}},
		{"malformed signedness", func() *replication.TableMapEvent {
			tm := tableMap(make([]byte, 9), make([]uint16, 9)) // nine DECIMAL (type 0) columns
			tm.ColumnType = []byte{1, 1, 1, 1, 1, 1, 1, 1, 1}
			tm.SignednessBitmap = []byte{0xff}
			tm.ColumnName = [][]byte{{'a'}, {'b'}, {'c'}, {'d'}, {'e'}, {'f'}, {'g'}, {'h'}, {'i'}}
			return tm
		}, nil, []string{"signedness bitmap has 1 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLayout(tt.tm(), tt.table)
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestLayoutSchemaMismatch: when the binlog names its columns, a schema history out of
// step loses its say instead of stopping the stream, and the layout says so.
func TestLayoutSchemaMismatch(t *testing.T) {
	t.Parallel()
	tm := func() *replication.TableMapEvent {
		tm := tableMap([]byte{mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_BLOB}, []uint16{0, 4})
		tm.ColumnName = [][]byte{[]byte("id"), []byte("doc")}
		tm.SignednessBitmap = []byte{0}
		tm.ColumnCharset = []uint64{45}
		return tm
	}
	raw := []any{int32(7), []byte(`{"a": 1}`)}

	good := &schema.Table{DB: "shop", Name: "orders", UniqueKeys: [][]string{{"id"}},
		Columns: []schema.Column{{Name: "id", Type: "int"}, {Name: "doc", Type: "json", Charset: "utf8mb4"}}}
	l, err := NewLayout(tm(), good)
	require.NoError(t, err)
	require.NoError(t, l.SchemaMismatch)
	require.Equal(t, []int{0}, l.KeyColumns) // no primary key in the binlog: the schema's unique key
	got, err := l.Row(raw)
	require.NoError(t, err)
	require.Equal(t, []any{int64(7), json.RawMessage(`{"a": 1}`)}, got)

	stale := &schema.Table{DB: "shop", Name: "orders", UniqueKeys: [][]string{{"gone"}},
		Columns: []schema.Column{{Name: "id", Type: "int"}, {Name: "doc", Type: "int"}, {Name: "gone", Type: "int"}}}
	l, err = NewLayout(tm(), stale)
	require.NoError(t, err)
	require.Error(t, l.SchemaMismatch)
	for _, w := range []string{"shop.orders", "the binlog has 2 columns, the schema history 3", "column doc: the binlog has a TEXT/BLOB column where the schema history has int", "key column gone"} {
		require.ErrorContains(t, l.SchemaMismatch, w)
	}
	require.Empty(t, l.KeyColumns)
	got, err = l.Row(raw)
	require.NoError(t, err)
	require.Equal(t, []any{int64(7), `{"a": 1}`}, got) // no JSON hint from a stale column
}

func TestLayoutRowErrors(t *testing.T) {
	t.Parallel()
	tm := tableMap([]byte{mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_JSON, mysql.MYSQL_TYPE_NEWDECIMAL},
		[]uint16{0, uint16(mysql.MYSQL_TYPE_ENUM)<<8 | 1, uint16(mysql.MYSQL_TYPE_SET)<<8 | 1, 4, 10<<8 | 2})
	tm.ColumnName = [][]byte{[]byte("at"), []byte("e"), []byte("s"), []byte("j"), []byte("d")}
	tm.EnumStrValue = [][][]byte{{[]byte("a"), []byte("b")}}
	tm.SetStrValue = [][][]byte{{[]byte("x"), []byte("y")}}
	tm.ColumnCharset = []uint64{45, 45} // ENUM and SET are not character columns: unused
	tm.EnumSetColumnCharset = []uint64{45, 45}
	l, err := NewLayout(tm, nil)
	require.NoError(t, err)
	ok := []any{"2024-02-29 13:14:15", int64(2), int64(3), `{"a":1}`, "1.50"}
	got, err := l.Row(ok)
	require.NoError(t, err)
	require.Equal(t, []any{"2024-02-29T13:14:15", "b", "x,y", json.RawMessage(`{"a":1}`), "1.50"}, got)

	tests := []struct {
		name string
		raw  []any
		want []string
	}{
		{"ParseTime on", []any{time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC), nil, nil, nil, nil}, []string{"shop.orders", "column at", "time.Time", "decoder.ConfigureSyncer"}},
		{"bad datetime text", []any{"2024-02-29", nil, nil, nil, nil}, []string{"column at", "unexpected DATETIME text"}},
		{"enum out of range", []any{nil, int64(3), nil, nil, nil}, []string{"column e", "ENUM index 3 out of its 2 labels"}},
		{"set out of range", []any{nil, nil, int64(4), nil, nil}, []string{"column s", "SET value 0x4 has bits beyond its 2 labels"}},
		{"partial JSON", []any{nil, nil, nil, &replication.JsonDiff{}, nil}, []string{"column j", "binlog_row_value_options=''"}},
		{"row length", []any{nil}, []string{"shop.orders", "row image has 1 values for 5 columns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Row(tt.raw)
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestLayoutRowCopies checks that no value shares memory with go-mysql's buffers, which
// its strings and byte slices point into.
func TestLayoutRowCopies(t *testing.T) {
	t.Parallel()
	tm := tableMap([]byte{mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_GEOMETRY, mysql.MYSQL_TYPE_BLOB},
		[]uint16{40, 40, 2, 2, uint16(mysql.MYSQL_TYPE_STRING)<<8 | 4, 4, 4})
	tm.ColumnName = [][]byte{[]byte("s"), []byte("vb"), []byte("txt"), []byte("bl"), []byte("bin"), []byte("g"), []byte("j")}
	tm.ColumnCharset = []uint64{45, 63, 45, 63, 63, 45} // character columns: s, vb, txt, bl, bin, j
	table := &schema.Table{DB: "shop", Name: "orders", Columns: []schema.Column{{Name: "j", Type: "json"}}}
	l, err := NewLayout(tm, table)
	require.NoError(t, err)

	buf := []byte(`textvbitextblobbingeomx{"a":1}`)
	alias := func(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
	raw := []any{alias(buf[0:4]), alias(buf[4:7]), buf[7:11], buf[11:15], alias(buf[15:18]), buf[18:23], buf[23:]}
	got, err := l.Row(raw)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = '#' // the next event overwrites the buffer
	}
	require.Equal(t, []any{"text", []byte("vbi"), "text", []byte("blob"), []byte("bin\x00"), []byte("geomx"), json.RawMessage(`{"a":1}`)}, got)
}

func TestLayoutOldTime(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"1665:37:60", "-12:34:56"}, // seen from MariaDB for -12:34:56 in a pre-5.6 TIME column
		{"12:34:56", "12:34:56"},
		{"838:59:59", "838:59:59"},
		{"00:00:00", "00:00:00"},
		{"839:12:57", "-838:59:59"}, // stored as 2^24 - 8385959 = 8391257
	}
	for _, tt := range tests {
		got, err := oldTime(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.in)
	}
	_, err := oldTime("garbage")
	require.ErrorContains(t, err, "unexpected TIME text")
}

// benchRow is a typical 10-column row as go-mysql decodes it: id BIGINT, customer INT
// UNSIGNED, name and email VARCHAR utf8mb4, amount DECIMAL(10,2), status ENUM,
// created DATETIME(6), updated TIMESTAMP, score DOUBLE, flag TINYINT.
func benchLayout(tb testing.TB) (*Layout, []any) {
	tm := tableMap([]byte{mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VARCHAR,
		mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2,
		mysql.MYSQL_TYPE_DOUBLE, mysql.MYSQL_TYPE_TINY},
		[]uint16{0, 0, 400, 1020, 10<<8 | 2, uint16(mysql.MYSQL_TYPE_ENUM)<<8 | 1, 6, 0, 8, 0})
	tm.ColumnName = [][]byte{[]byte("id"), []byte("customer"), []byte("name"), []byte("email"), []byte("amount"),
		[]byte("status"), []byte("created"), []byte("updated"), []byte("score"), []byte("flag")}
	tm.SignednessBitmap = []byte{0b01000000} // id, customer, amount, score, flag: customer unsigned
	tm.DefaultCharset = []uint64{45}
	tm.EnumStrValue = [][][]byte{{[]byte("new"), []byte("paid"), []byte("shipped")}}
	tm.EnumSetDefaultCharset = []uint64{45}
	tm.PrimaryKey = []uint64{0}
	l, err := NewLayout(tm, nil)
	require.NoError(tb, err)
	raw := []any{int64(123456789), int32(-5), "Jane Doe", "jane.doe@example.com", "1234.50", int64(2),
		"2024-02-29 13:14:15.123456", "2024-02-29 12:14:15", 4.75, int8(1)}
	return l, raw
}

func TestLayoutBenchRow(t *testing.T) {
	t.Parallel()
	l, raw := benchLayout(t)
	got, err := l.Row(raw)
	require.NoError(t, err)
	require.Equal(t, []any{int64(123456789), uint64(4294967291), "Jane Doe", "jane.doe@example.com", "1234.50", "paid",
		"2024-02-29T13:14:15.123456", "2024-02-29T12:14:15Z", 4.75, int64(1)}, got)
	require.Equal(t, []int{0}, l.KeyColumns)
}

func BenchmarkLayoutRow(b *testing.B) {
	l, raw := benchLayout(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Row(raw); err != nil {
			b.Fatal(err)
		}
	}
}
