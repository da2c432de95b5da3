package mapping

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTableFlag(t *testing.T) {
	for _, tc := range []struct {
		in, src, tgt, err string
	}{
		{in: "orders", src: "orders", tgt: "orders"},
		{in: "orders=orders_v2", src: "orders", tgt: "orders_v2"},
		{in: " a = sales.b ", src: "a", tgt: "sales.b"},
		{in: "=b", err: "legacy_name=target_name"},
		{in: "a=", err: "legacy_name=target_name"},
	} {
		got, err := ParseTableFlag(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.src, got.Source)
		require.Equal(t, tc.tgt, got.Target)
	}
}

func TestParseIsStrict(t *testing.T) {
	ts, err := Parse([]byte(`
recheck-after: 2s
tables:
  - source: a
    columns:
      - {source: x, target: y, source_normalize: {cents: true, map: {k: v}}}
`), "m.yaml")
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, "a", ts[0].Target, "target defaults to the source name")
	require.True(t, ts[0].Columns[0].SourceNormalize.Cents)

	for _, tc := range []struct{ doc, err string }{
		{"tables:\n  - source: a\n    nomalize: {trim: true}\n", "field nomalize not found"},
		{"tables:\n  - target: a\n", "has no source"},
		{"tables:\n  - source: a\n    columns: [{source: x, normalize: {case: title}}]\n", "use lower or upper"},
		{"tables:\n  - source: a\n    columns: [{source: x}, {source: x}]\n", "mapped twice"},
		{"tables:\n  - source: a\n    columns: [{source_expr: '1'}]\n", "needs target"},
		{"tables:\n  - source: a\n    columns: [{source: x, type: blob}]\n", "type \"blob\""},
	} {
		_, err := Parse([]byte(tc.doc), "m.yaml")
		require.ErrorContains(t, err, tc.err, tc.doc)
	}
	ts, err = Parse([]byte("source: x\n"), "m.yaml")
	require.NoError(t, err)
	require.Empty(t, ts)
}

func TestMergeKeepsFileEntries(t *testing.T) {
	out := Merge([]Table{{Source: "a", Target: "a"}, {Source: "b", Target: "b"}}, []Table{{Source: "a", Target: "a", Key: []string{"k"}}})
	require.Len(t, out, 2)
	require.Equal(t, []string{"k"}, out[0].Key)
	require.Equal(t, "b", out[1].Source)
}
