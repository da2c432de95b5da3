package target

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/sink"
)

// TestAggregateFormat checks the bytes against the KPL's format worked out by hand from
// its messages.proto: magic, AggregatedRecord{partition_key_table: ["a"], records:
// [{partition_key_index: 0, data: "x"}]}, MD5 of the message.
func TestAggregateFormat(t *testing.T) {
	t.Parallel()
	msg := []byte{0x0a, 0x01, 'a', 0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, 'x'}
	sum := md5.Sum(msg)
	want := append(append([]byte{0xF3, 0x89, 0x9A, 0xC2}, msg...), sum[:]...)
	require.Equal(t, want, encodeAggregate([]UserRecord{{PartitionKey: "a", Data: []byte("x")}}))
}

func TestDeaggregate(t *testing.T) {
	t.Parallel()
	large := strings.Repeat("é", 40000)
	recs := []UserRecord{
		{PartitionKey: "order:1", ExplicitHashKey: "0", Data: []byte(`{"n":1}`)},
		{PartitionKey: "order:2", ExplicitHashKey: "170141183460469231731687303715884105728", Data: []byte(`{"n":2}`)},
		{PartitionKey: "order:1", ExplicitHashKey: "0", Data: []byte(`{"n":3}`)},
		{PartitionKey: "order:3", Data: []byte{}},
		{PartitionKey: "order:4", Data: []byte(large)},
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []UserRecord
		err  string
	}{
		{name: "aggregated", data: encodeAggregate(recs), want: recs},
		{name: "plain record", data: []byte(`{"n":1}`), want: []UserRecord{{PartitionKey: "pk", Data: []byte(`{"n":1}`)}}},
		{name: "magic but wrong checksum: plain", data: append([]byte{0xF3, 0x89, 0x9A, 0xC2}, make([]byte, 20)...),
			want: []UserRecord{{PartitionKey: "pk", Data: append([]byte{0xF3, 0x89, 0x9A, 0xC2}, make([]byte, 20)...)}}},
		{name: "key index out of the table", data: withChecksum([]byte{0x1a, 0x05, 0x08, 0x03, 0x1a, 0x01, 'x'}), err: "a record names a key"},
		{name: "truncated", data: withChecksum([]byte{0x1a, 0x09, 0x08}), err: "aggregated record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Deaggregate("pk", tc.data)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range got {
				require.Equal(t, tc.want[i].PartitionKey, got[i].PartitionKey)
				require.Equal(t, tc.want[i].ExplicitHashKey, got[i].ExplicitHashKey)
				require.Equal(t, string(tc.want[i].Data), string(got[i].Data))
			}
		})
	}
}

func withChecksum(msg []byte) []byte {
	sum := md5.Sum(msg)
	return append(append([]byte{0xF3, 0x89, 0x9A, 0xC2}, msg...), sum[:]...)
}

// TestShardMapPlacesKeys: a key goes to the shard whose range holds the MD5 of the key,
// as Kinesis places it; a key in a gap of the map gets none.
func TestShardMapPlacesKeys(t *testing.T) {
	t.Parallel()
	two127 := new(big.Int).Lsh(big.NewInt(1), 127)
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	m := &shardMap{shards: []shardRange{
		{start: big.NewInt(0), end: new(big.Int).Sub(two127, big.NewInt(1)), startKey: "0"},
		{start: two127, end: max, startKey: two127.String()},
	}}
	gap := &shardMap{shards: m.shards[1:]}
	for i := range 50 {
		key := fmt.Sprintf("order:%d", i)
		sum := md5.Sum([]byte(key))
		want := "0"
		if sum[0]&0x80 != 0 { // the hash's top bit: the upper half of the range
			want = two127.String()
		}
		got, ok := m.hashKeyOf(key)
		require.True(t, ok)
		require.Equal(t, want, got, key)
		_, ok = gap.hashKeyOf(key)
		require.Equal(t, want != "0", ok, "a key in the map's gap: %s", key)
	}
}

// TestAggregateSplitsAtTheRecordLimit: an aggregated record never passes the stream's
// record limit, and a shard's events keep their order across the records.
func TestAggregateSplitsAtTheRecordLimit(t *testing.T) {
	t.Parallel()
	k := &Kinesis{maxBytes: 4096, shards: &shardMap{shards: []shardRange{{start: big.NewInt(0), end: new(big.Int).Lsh(big.NewInt(1), 128), startKey: "0"}}}}
	var recs []*sink.Record
	for i := range 40 {
		recs = append(recs, &sink.Record{PartitionKey: fmt.Sprintf("order:%d", i%3), Data: []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 300)))})
	}
	out := k.aggregate(recs)
	require.Greater(t, len(out), 1)
	n := 0
	for _, r := range out {
		require.LessOrEqual(t, r.Size(), k.maxBytes)
		require.Equal(t, "0", r.ExplicitHashKey)
		users, err := Deaggregate(r.PartitionKey, r.Data)
		require.NoError(t, err)
		for _, u := range users {
			require.Equal(t, string(recs[n].Data), string(u.Data), "order across records")
			n++
		}
	}
	require.Equal(t, len(recs), n)
}

// putOnly can put records but not list shards.
type putOnly struct{}

func (putOnly) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("not called")
}

func TestAggregateNeedsAShardLister(t *testing.T) {
	t.Parallel()
	_, err := NewKinesis(KinesisOptions{Client: putOnly{}, Stream: "s", Aggregate: true})
	require.ErrorContains(t, err, "list shards")
	_, err = NewKinesis(KinesisOptions{Client: putOnly{}, Stream: "s"})
	require.NoError(t, err)
}
