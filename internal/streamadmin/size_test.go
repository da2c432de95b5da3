package streamadmin

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStreamSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                   string
		in                     SizeInput
		records, bytes, shards int
		binding                Binding
	}{
		{"small records: the record count binds", SizeInput{1000, 100, 0}, 1, 1, 1, BindRecords},
		{"just under the crossover", SizeInput{1000, 1048, 0}, 1, 1, 1, BindRecords},
		{"just over the crossover", SizeInput{1000, 1049, 0}, 1, 2, 2, BindBytes},
		{"headroom on a record-bound load", SizeInput{5000, 500, 0.25}, 7, 3, 7, BindRecords},
		{"large records: bytes bind", SizeInput{200, 100 << 10, 0}, 1, 20, 20, BindBytes},
		{"exactly one shard's records with headroom", SizeInput{800, 1, 0.25}, 1, 1, 1, BindRecords},
		{"float noise does not add a shard", SizeInput{2000, 10, 0.1}, 3, 1, 3, BindRecords},
		{"a trickle still needs one shard", SizeInput{0.5, 10, 0}, 1, 1, 1, BindRecords},
		{"10 MiB records", SizeInput{10, 10 << 20, 0.5}, 1, 150, 150, BindBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Size(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.records, r.ShardsForRecords, "shards for records")
			require.Equal(t, tc.bytes, r.ShardsForBytes, "shards for bytes")
			require.Equal(t, tc.shards, r.Shards)
			require.Equal(t, tc.binding, r.Binding)
			require.InDelta(t, tc.in.RecordsPerSecond*(1+tc.in.Headroom), r.RecordsPerSecond, 1e-9)
			var out bytes.Buffer
			require.NoError(t, r.WriteText(&out))
			require.Contains(t, out.String(), "Binding limit: "+string(tc.binding))
		})
	}
}

func TestStreamSizeRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   SizeInput
		want string
	}{
		{"no rate", SizeInput{0, 100, 0.25}, "--records-per-sec"},
		{"negative size", SizeInput{100, -1, 0.25}, "--avg-record-bytes"},
		{"record over 10 MiB", SizeInput{100, 11 << 20, 0.25}, "at most 10485760"},
		{"negative headroom", SizeInput{100, 100, -0.1}, "--headroom"},
		{"NaN headroom", SizeInput{100, 100, math.NaN()}, "--headroom"},
		{"infinite rate", SizeInput{math.Inf(1), 100, 0}, "--records-per-sec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Size(tc.in)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestStreamSizeTextExplainsTheNumbers(t *testing.T) {
	t.Parallel()
	r, err := Size(SizeInput{RecordsPerSecond: 3000, AvgRecordBytes: 2048, Headroom: 0.25})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	for _, want := range []string{
		"Shards needed: 8 (provisioned)",
		"3750 records/s, 7.324 MiB/s",
		"records limit: 3750 records/s / 1000 records/s per shard = 4 shard(s)",
		"bytes limit:   7.324 MiB/s / 1 MiB/s per shard = 8 shard(s)",
		"Binding limit: bytes: the records average 2048 bytes, above 1048.6 bytes",
	} {
		require.Contains(t, out.String(), want)
	}
}

func TestStreamCreateInput(t *testing.T) {
	t.Parallel()
	in, err := CreateOptions{Shards: 3}.Input("orders")
	require.NoError(t, err)
	require.EqualValues(t, 3, *in.ShardCount)
	require.Equal(t, "PROVISIONED", string(in.StreamModeDetails.StreamMode))
	require.Nil(t, in.MaxRecordSizeInKiB)

	in, err = CreateOptions{OnDemand: true, MaxRecordKiB: 10240}.Input("orders")
	require.NoError(t, err)
	require.Nil(t, in.ShardCount)
	require.Equal(t, "ON_DEMAND", string(in.StreamModeDetails.StreamMode))
	require.EqualValues(t, 10240, *in.MaxRecordSizeInKiB)

	for _, tc := range []struct {
		name   string
		stream string
		o      CreateOptions
		want   string
	}{
		{"no size", "orders", CreateOptions{}, "--shards N, --on-demand, or --records-per-sec"},
		{"both modes", "orders", CreateOptions{Shards: 2, OnDemand: true}, "choose on-demand"},
		{"negative shards", "orders", CreateOptions{Shards: -1}, "at least 1"},
		{"record size out of range", "orders", CreateOptions{Shards: 1, MaxRecordKiB: 512}, "1024 to 10240"},
		{"ARN", "arn:aws:kinesis:us-east-1:1:stream/orders", CreateOptions{Shards: 1}, "not an ARN"},
		{"bad character", "orders/v2", CreateOptions{Shards: 1}, `contains '/'`},
		{"empty name", "", CreateOptions{Shards: 1}, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.o.Input(tc.stream)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
