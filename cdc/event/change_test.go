package event

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestAppendStringIsValidJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`quote " and backslash \`, `"quote \" and backslash \\"`},
		{"line\nfeed\ttab\rcr", `"line\nfeed\ttab\rcr"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"café ☕ 🚀", `"café ☕ 🚀"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"sep\u2028\u2029", `"sep\u2028\u2029"`},
	}
	for _, tt := range tests {
		got := string(AppendString(nil, tt.in))
		require.Equal(t, tt.want, got, tt.in)
		var back string
		require.NoError(t, json.Unmarshal([]byte(got), &back))
		if utf8.ValidString(tt.in) {
			require.Equal(t, tt.in, back, "round trip")
		}
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{int64(-9223372036854775808), "-9223372036854775808"},
		{uint64(18446744073709551615), "18446744073709551615"},
		{float32(1.1), "1.1"},
		{float64(0.1), "0.1"},
		{"5.10", `"5.10"`},
		{[]byte{0, 255, 16}, `"AP8Q"`},
		{json.RawMessage(`{"a":[1,"é"]}`), `{"a":[1,"é"]}`},
		{json.RawMessage(nil), "null"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(AppendValue(nil, tt.v)))
	}
}

func change() *Change {
	return &Change{
		ID: "0-1-5/2", Op: OpUpdate, DB: "shop", Table: "orders",
		Columns:    []string{"id", "region", "note"},
		Before:     []any{uint64(42), "eu", "old"},
		After:      []any{uint64(42), "eu", nil},
		KeyColumns: []int{0, 1},
		Source:     Source{Connector: "mariadb", ServerID: 1, GTID: "0-1-5", File: "binlog.000001", Pos: 400, Row: 1, TsMs: 1000},
		Txn:        Txn{ID: "0-1-5", TotalOrder: 2, DataCollectionOrder: 1},
	}
}

func TestChangeJSON(t *testing.T) {
	c := change()
	b := c.AppendJSON(nil, Envelope{Version: "v1", TsMs: 2000})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, "0-1-5/2", doc["id"])
	require.Equal(t, "u", doc["op"])
	require.Equal(t, map[string]any{"id": 42.0, "region": "eu"}, doc["key"])
	require.Equal(t, map[string]any{"id": 42.0, "region": "eu", "note": nil}, doc["after"])
	src := doc["source"].(map[string]any)
	require.Equal(t, "v1", src["version"])
	require.Equal(t, "0-1-5", src["gtid"])
	require.Equal(t, "false", src["snapshot"])
	require.Equal(t, 2000.0, doc["ts_ms"])
	// Columns come in table order: the document is stable byte for byte.
	require.True(t, strings.Index(string(b), `"region"`) < strings.Index(string(b), `"note"`))
	require.Equal(t, string(b), string(c.AppendJSON(nil, Envelope{Version: "v1", TsMs: 2000})))

	c.Source.GTID = ""
	c.KeyColumns = nil
	require.NoError(t, json.Unmarshal(c.AppendJSON(nil, Envelope{}), &doc))
	require.Nil(t, doc["key"])
	require.Nil(t, doc["source"].(map[string]any)["gtid"])
}

func TestPartitionKey(t *testing.T) {
	c := change()
	require.Equal(t, `shop.orders:[42,"eu"]`, c.PartitionKey())
	c.Op, c.After = OpDelete, nil
	require.Equal(t, `shop.orders:[42,"eu"]`, c.PartitionKey(), "a delete uses the before image")

	c.KeyColumns = nil
	require.Equal(t, "shop.orders", c.PartitionKey(), "a keyless table keeps its order on one key")

	long := change()
	long.Before[1] = strings.Repeat("é", 300) // 300 characters, 600 bytes
	long.After[1] = long.Before[1]
	pk := long.PartitionKey()
	require.True(t, strings.HasPrefix(pk, "sha256:"), pk)
	require.LessOrEqual(t, utf8.RuneCountInString(pk), MaxPartitionKeyLen)
	require.Equal(t, pk, long.PartitionKey(), "stable")
	other := change()
	other.Before[1] = strings.Repeat("é", 299) + "e"
	other.After[1] = other.Before[1]
	require.NotEqual(t, pk, other.PartitionKey())
}

// appendStringByByte is AppendString without the 8-byte fast path: the reference the
// fast path must agree with, whatever bytes sit at whatever offsets.
func appendStringByByte(s string) string {
	var out strings.Builder
	for _, r := range s {
		q := AppendString(nil, string(r))
		out.Write(q[1 : len(q)-1])
	}
	return `"` + out.String() + `"`
}

func TestAppendStringFastPathAgrees(t *testing.T) {
	specials := []string{`"`, `\`, "\x00", "\x1f", "\x7f", " ", "~", "é", "\u2028", "🚀", "\n"}
	for _, sp := range specials {
		for off := range 20 {
			in := strings.Repeat("a", off) + sp + strings.Repeat("b", 19-off)
			require.Equal(t, appendStringByByte(in), string(AppendString(nil, in)), "%q", in)
		}
	}
	// Every single byte value in the middle of plain text (invalid UTF-8 included).
	for c := range 256 {
		in := "abcdefghij" + string([]byte{byte(c)}) + "klmnopqrstu"
		got := string(AppendString(nil, in))
		require.True(t, json.Valid([]byte(got)), "%q", got)
		if utf8.ValidString(in) {
			var back string
			require.NoError(t, json.Unmarshal([]byte(got), &back))
			require.Equal(t, in, back)
		}
	}
}
