package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

func entries(keys ...string) []types.PutRecordsRequestEntry {
	var out []types.PutRecordsRequestEntry
	for i, k := range keys {
		out = append(out, types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	return out
}

func noRetry(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} }

func TestKinesisFaultProxy(t *testing.T) {
	upstream := testenv.KinesisEndpoint(t)
	stream := testenv.NewStream(t, 2)
	p := testenv.NewKinesisFaultProxy(t, upstream)
	c := testenv.KinesisClient(t, p.URL())
	ctx := context.Background()
	put := func(keys ...string) (*kinesis.PutRecordsOutput, error) {
		return c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries(keys...)}, noRetry)
	}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}

	// Failed entries keep their places; only the others reach the stream.
	p.SetFaults(testenv.KinesisFaults{FailEntryShare: 0.5})
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	out, err := put(keys...)
	require.NoError(t, err)
	require.Len(t, out.Records, 100)
	failed := 0
	for _, r := range out.Records {
		if r.ErrorCode != nil {
			failed++
			require.Equal(t, "ProvisionedThroughputExceededException", *r.ErrorCode)
			require.Nil(t, r.SequenceNumber)
		} else {
			require.NotNil(t, r.SequenceNumber)
		}
	}
	require.EqualValues(t, failed, aws.ToInt32(out.FailedRecordCount))
	require.Greater(t, failed, 20)
	require.Less(t, failed, 80)
	got := testenv.ReadStream(t, testenv.KinesisClient(t, upstream), stream, 100-failed, 10*time.Second)
	require.Len(t, got, 100-failed)
	st := p.Stats()
	require.Equal(t, failed, st.EntriesFailed)
	require.Equal(t, 100-failed, st.EntriesForwarded)

	for _, tc := range []struct {
		faults testenv.KinesisFaults
		code   string
	}{
		{testenv.KinesisFaults{ThrottleShare: 1}, "ProvisionedThroughputExceededException"},
		{testenv.KinesisFaults{ThrottleShare: 1, ThrottleCode: "KMSThrottlingException"}, "KMSThrottlingException"},
		{testenv.KinesisFaults{InternalErrorShare: 1}, "InternalFailure"},
		{testenv.KinesisFaults{FailAllCode: "ResourceNotFoundException"}, "ResourceNotFoundException"},
		{testenv.KinesisFaults{DropShare: 1}, ""},
	} {
		p.SetFaults(tc.faults)
		_, err := put("a")
		require.Error(t, err)
		require.Equal(t, tc.code, code(err), "%+v", tc.faults)
	}

	// Limits and key overlaps as seen on the wire.
	p.SetFaults(testenv.KinesisFaults{})
	p.ResetStats()
	_, err = put("x", "y", "x")
	require.NoError(t, err)
	st = p.Stats()
	require.Equal(t, 1, st.RequestsWithDuplicateKeys)
	require.Equal(t, 3, st.MaxEntriesPerRequest)
	require.Equal(t, len(`{"i":0}`)+1, st.MaxRecordBytes)
	require.Zero(t, st.KeyOverlaps)

	p.SetFaults(testenv.KinesisFaults{Latency: 1500 * time.Millisecond}) // long enough for both to arrive
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := put("same")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, 1, p.Stats().KeyOverlaps, "two requests with one key in flight at once")
	require.Equal(t, 3, p.Stats().PutRecordsRequests)
}
