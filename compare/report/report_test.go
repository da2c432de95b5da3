package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func table(src string, rows int64, c Counts) Table {
	t := Table{Source: src, Target: src, SourceRows: rows, TargetRows: rows, Counts: c}
	t.Finish()
	return t
}

func TestReadiness(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	runs := []Run{ // newest first
		{ID: 4, Kind: "data", StartedAt: at.Add(3 * time.Hour), Tables: []Table{table("a", 100000, Counts{}), table("b", 100000, Counts{Changed: 2}), table("c", 100, Counts{InFlight: 3}), table("d", 100, Counts{})}},
		{ID: 3, Kind: "data", StartedAt: at.Add(2 * time.Hour), Tables: []Table{table("a", 100000, Counts{}), table("b", 100000, Counts{}), table("c", 100, Counts{Missing: 1})}},
		{ID: 2, Kind: "data", StartedAt: at.Add(time.Hour), Tables: []Table{table("a", 100000, Counts{}), table("c", 100, Counts{})}},
		{ID: 1, Kind: "data", StartedAt: at, Tables: []Table{table("a", 100000, Counts{Missing: 50})}},
	}
	d := Build(runs, Policy{Threshold: 99.99, Window: 3}, at)
	got := map[string]Readiness{}
	for _, r := range d.Readiness {
		got[r.Source] = r
	}
	require.True(t, got["a"].Ready, got["a"].Reason)
	require.Len(t, got["a"].History, 4)
	require.Equal(t, int64(1), got["a"].History[0].Run, "oldest first")
	require.False(t, got["b"].Ready)
	require.Equal(t, "2 rows differ in the latest run (2 with different values): unresolved", got["b"].Reason)
	require.False(t, got["c"].Ready)
	require.Equal(t, "parity 99% in run #3, below the 99.99% required", got["c"].Reason)
	require.Equal(t, "only 1 of the 3 runs the policy asks for", got["d"].Reason)
	require.Equal(t, Mismatch, d.Verdict)
	ready, total := d.Ready()
	require.Equal(t, [2]int{1, 4}, [2]int{ready, total})

	var md, html bytes.Buffer
	require.NoError(t, d.WriteMarkdown(&md))
	require.Contains(t, md.String(), "**1 of 4 tables ready to cut over**")
	require.NoError(t, d.WriteHTML(&html))
	require.Contains(t, html.String(), "1 of 4 tables")
	require.NotContains(t, html.String(), "<script")
	require.Equal(t, 4, strings.Count(html.String(), `aria-label="parity over runs"`))
}

func TestParityAndKeyJSON(t *testing.T) {
	require.Equal(t, 100.0, Parity(0, 0, Counts{}))
	require.Equal(t, 0.0, Parity(0, 0, Counts{Extra: 1}))
	require.InDelta(t, 99.0, Parity(100, 99, Counts{Missing: 1}), 1e-9)
	k := Key{{Column: "id", Value: uint64(18446744073709551615)}, {Column: "raw", Value: []byte{0}}, {Column: "n", Value: nil}}
	b, err := k.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `{"id":18446744073709551615,"raw":"AA==","n":null}`, string(b))
	var back Key
	require.NoError(t, back.UnmarshalJSON(b))
	require.Equal(t, string(b), back.String(), "order and values kept")
}
