package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteSectionRewritesOnlyItsOwnSection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		before  string // "" : no file
		want    string
		wantErr string
	}{
		{
			name: "missing file gets the intro and the section",
			want: benchmarksIntro + "\n" + sectionBegin + "\nNEW\n" + sectionEnd + "\n",
		},
		{
			name:   "file without markers gets the section appended",
			before: "# Benchmarks\n\n<!-- other:begin -->\nx\n<!-- other:end -->\n",
			want:   "# Benchmarks\n\n<!-- other:begin -->\nx\n<!-- other:end -->\n\n" + sectionBegin + "\nNEW\n" + sectionEnd + "\n",
		},
		{
			name:   "existing section replaced, the rest kept byte for byte",
			before: "intro\n" + sectionBegin + "\nOLD\nOLD\n" + sectionEnd + "\n<!-- other:begin -->\ny\n<!-- other:end -->\n",
			want:   "intro\n" + sectionBegin + "\nNEW\n" + sectionEnd + "\n<!-- other:begin -->\ny\n<!-- other:end -->\n",
		},
		{
			name:    "a lone marker is refused",
			before:  "intro\n" + sectionBegin + "\nOLD\n",
			wantErr: "not both there",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
			if tt.before != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.before), 0o644))
			}
			err := writeSection(path, "NEW\n")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				got, rerr := os.ReadFile(path)
				require.NoError(t, rerr)
				require.Equal(t, tt.before, string(got), "a refused rewrite leaves the file alone")
				return
			}
			require.NoError(t, err)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	text := `# HELP strangler_cdc_sink_request_seconds x
strangler_cdc_sink_request_seconds_bucket{le="0.001"} 0
strangler_cdc_sink_request_seconds_bucket{le="0.002"} 50
strangler_cdc_sink_request_seconds_bucket{le="0.004"} 90
strangler_cdc_sink_request_seconds_bucket{le="0.008"} 100
strangler_cdc_sink_request_seconds_bucket{le="+Inf"} 100
strangler_cdc_sink_request_seconds_sum 0.25
strangler_cdc_sink_request_seconds_count 100
strangler_cdc_sink_records_total 1234
`
	h, ok := parseHistogram(text, "strangler_cdc_sink_request_seconds")
	require.True(t, ok)
	require.Equal(t, 100.0, h.Count)
	require.InDelta(t, 0.0025, h.mean(), 1e-12)
	tests := []struct {
		q, want float64
	}{
		{0.5, 0.002},   // the top of the second bucket holds rank 50 exactly
		{0.25, 0.0015}, // halfway through the (1 ms, 2 ms] bucket
		{0.7, 0.003},   // halfway through (2 ms, 4 ms]
		{0.99, 0.0076}, // 90 % of the way through (4 ms, 8 ms]
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, h.quantile(tt.q), 1e-9, "q=%v", tt.q)
	}
	require.Equal(t, 1234.0, metricValue(text, "strangler_cdc_sink_records_total"))
	require.Equal(t, -1.0, metricValue(text, "strangler_cdc_events_total"))
	_, ok = parseHistogram(text, "strangler_cdc_other_seconds")
	require.False(t, ok)
}

func TestPercentileAndMedian(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	s := sortedCopy(ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5))
	require.Equal(t, time.Millisecond, s[0])
	require.Equal(t, 5*time.Millisecond, percentile(s, 0.50))
	require.Equal(t, 10*time.Millisecond, percentile(s, 0.99))
	require.Equal(t, time.Millisecond, percentile(s, 0))
	require.Equal(t, time.Duration(0), percentile(nil, 0.5))

	require.Equal(t, 0.32, median([]float64{0.44, 0.32, 0.28}))
	require.Equal(t, 0.5, median([]float64{0.6, 0.4}))
	require.Equal(t, 0.0, median(nil))
}

func TestParsePprofCum(t *testing.T) {
	t.Parallel()
	out := `File: cdcbench
Duration: 11.95s, Total samples = 6.38s (53.37%)
      flat  flat%   sum%        cum   cum%
         0     0%     0%      3.51s 55.02%  github.com/strangler/strangler/cdc.(*Daemon).read
     0.02s  0.31% 21.16%      0.51s  7.99%  github.com/strangler/strangler/cdc/decoder.(*Layout).Row
      20ms  0.31% 21.16%       30ms  0.47%  runtime.acquirem (inline)
`
	shares, total := parsePprofCum(out)
	require.Equal(t, 6380*time.Millisecond, total)
	require.Equal(t, 55.02, shares["github.com/strangler/strangler/cdc.(*Daemon).read"])
	require.Equal(t, 7.99, shares["github.com/strangler/strangler/cdc/decoder.(*Layout).Row"])
	require.Equal(t, 0.47, shares["runtime.acquirem"])
}

func TestNum(t *testing.T) {
	t.Parallel()
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		require.Equal(t, want, num(in))
	}
}

func TestPreviousHistoryKeepsTheRunRows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	text := "intro\n" + sectionBegin + "\n## CDC\n" + historyBegin + "\n" +
		"| date | load avg | rounds |\n|---|---|--:|\n" +
		"| 2026-11-26 16:31 | 1.03 3.29 4.23 | 3 |\n| 2026-11-26 16:20 | 5.28 4.08 4.72 | 3 |\n" +
		historyEnd + "\nmore\n" + sectionEnd + "\n"
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	require.Equal(t, []string{"| 2026-11-26 16:31 | 1.03 3.29 4.23 | 3 |", "| 2026-11-26 16:20 | 5.28 4.08 4.72 | 3 |"}, previousHistory(path))
	require.Nil(t, previousHistory(filepath.Join(t.TempDir(), "missing.md")))
}
