package kinesis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/sink"
)

func TestStreamSinkOptionsDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	d := DefaultOptions("s")
	require.Equal(t, DefaultMaxRecordBytes, d.MaxRecordBytes)
	require.Equal(t, DefaultMaxRequestBytes, d.MaxRequestBytes)
	require.Equal(t, MaxRequestRecords, d.MaxRequestRecords)
	require.Equal(t, DefaultLinger, d.Linger)
	require.Equal(t, DefaultMaxRetryTime, d.MaxRetryTime)
	require.Equal(t, OversizeFail, d.Oversize)

	raised, err := Options{Stream: "s", MaxRecordBytes: 8 << 20}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, 8<<20, raised.MaxRequestBytes, "a request must hold the largest record")

	noLinger, err := Options{Stream: "s", Linger: -1}.withDefaults()
	require.NoError(t, err)
	require.Zero(t, noLinger.Linger)

	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no stream", Options{}, "no stream"},
		{"record too large", Options{Stream: "s", MaxRecordBytes: 11 << 20}, "max record bytes"},
		{"request below record", Options{Stream: "s", MaxRecordBytes: 2 << 20, MaxRequestBytes: 1 << 20}, "max request bytes"},
		{"too many records", Options{Stream: "s", MaxRequestRecords: 501}, "1 to 500"},
		{"skip without file", Options{Stream: "s", Oversize: OversizeSkip}, "needs --dead-letter-file"},
		{"unknown policy", Options{Stream: "s", Oversize: "drop"}, `--oversize "drop"`},
		{"negative retry time", Options{Stream: "s", MaxRetryTime: -time.Second}, "0 to retry forever"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.o.withDefaults()
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func httpErr(status int, code string) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: "m"},
	}
}

func TestStreamSinkClassifyRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want errClass
	}{
		{"throughput", httpErr(400, "ProvisionedThroughputExceededException"), classThrottled},
		{"kms throttling", httpErr(400, "KMSThrottlingException"), classThrottled},
		{"limit exceeded", httpErr(400, "LimitExceededException"), classThrottled},
		{"429 with unknown code", httpErr(429, "Whatever"), classThrottled},
		{"internal failure", httpErr(500, "InternalFailure"), classTransient},
		{"503 with unknown code", httpErr(503, "Whatever"), classTransient},
		{"stream missing", httpErr(400, "ResourceNotFoundException"), classFatal},
		{"access denied", httpErr(400, "AccessDeniedException"), classFatal},
		{"kms disabled", httpErr(400, "KMSDisabledException"), classFatal},
		{"validation", httpErr(400, "ValidationException"), classFatal},
		{"network", fmt.Errorf("send: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), classTransient},
		{"timeout", fmt.Errorf("op: %w", context.DeadlineExceeded), classTransient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := classifyRequest(tc.err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, classThrottled, classifyEntry("ProvisionedThroughputExceededException"))
	require.Equal(t, classTransient, classifyEntry("InternalFailure"))
	require.Equal(t, classTransient, classifyEntry("SomethingNew"), "unknown entry codes are retried, not dropped")
	require.Equal(t, classFatal, classifyEntry("KMSAccessDeniedException"))
}

func TestStreamSinkBackoffFullJitter(t *testing.T) {
	t.Parallel()
	s := &Sink{opts: Options{RetryBaseDelay: 10 * time.Millisecond, RetryMaxDelay: 200 * time.Millisecond}}
	for _, tc := range []struct {
		attempt int
		ceiling time.Duration
	}{{1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {5, 160 * time.Millisecond}, {6, 200 * time.Millisecond}, {80, 200 * time.Millisecond}} {
		var top time.Duration
		for range 2000 {
			d := s.backoff(tc.attempt)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, tc.ceiling, "attempt %d", tc.attempt)
			top = max(top, d)
		}
		// Full jitter spreads the waits over [0, ceiling]: 2000 draws all below half of
		// it would happen with probability 2^-2000.
		require.Greater(t, top, tc.ceiling/2, "attempt %d", tc.attempt)
	}
}

func TestStreamSinkAdaptiveRate(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	a := newAdaptiveRate(500, 50, t0)
	n, _ := a.allowance(t0, 500)
	require.Equal(t, 500, n, "unlimited before any throttling")
	require.False(t, a.succeeded(t0.Add(time.Second)))

	// 4,000 records sent over the last second, then throttled: halve the measured rate.
	for i := range 8 {
		a.took(t0.Add(time.Duration(i)*125*time.Millisecond), 500)
	}
	now := t0.Add(time.Second)
	require.True(t, a.throttled(now))
	require.InDelta(t, 2000, a.limit(), 1)
	n, at := a.allowance(now, 500)
	require.Zero(t, n, "the bucket starts empty after a cut")
	require.True(t, at.After(now))
	// Throttled answers for requests of the same burst do not cut again.
	require.False(t, a.throttled(now.Add(300*time.Millisecond)))
	require.InDelta(t, 2000, a.limit(), 1)

	// Sending at the limit without throttling raises it additively (5% of the cut-from
	// rate, 200 records/s, per second).
	now = now.Add(time.Second)
	for i := range 4 {
		a.took(now.Add(-time.Duration(i)*250*time.Millisecond), 500)
	}
	require.True(t, a.succeeded(now))
	require.InDelta(t, 2200, a.limit(), 1)

	// Not using the limit: no raise.
	later := now.Add(10 * time.Second)
	require.False(t, a.succeeded(later))
	require.InDelta(t, 2200, a.limit(), 1)

	// Repeated throttling never goes below the floor.
	for i := range 20 {
		a.throttled(later.Add(time.Duration(i+1) * 2 * time.Second))
	}
	require.InDelta(t, 50, a.limit(), 0.001)
}

func TestStreamSinkPendingKeepsOneRecordPerKeyOut(t *testing.T) {
	t.Parallel()
	p := newPending()
	add := func(key string, seq uint64) {
		p.add(&entry{rec: &sink.Record{Seq: seq, PartitionKey: key}, size: 10})
	}
	add("a", 1)
	add("b", 2)
	add("a", 3)
	add("c", 4)
	add("b", 5)
	require.Len(t, p.ready, 3, "one head per key")
	var got []uint64
	var taken []*keyQueue
	for len(p.ready) > 0 {
		k := p.popReady()
		k.inFlight = true
		got = append(got, k.head().rec.Seq)
		taken = append(taken, k)
	}
	require.Equal(t, []uint64{1, 2, 4}, got, "oldest heads first, later records of a key held back")
	require.Zero(t, p.readyBytes)

	// a's head fails: it backs off, and a's next record does not become ready.
	now := time.Unix(0, 0)
	p.backOff(taken[0], now.Add(time.Second))
	p.done(taken[1]) // b's first acknowledged: b's second becomes ready
	require.Equal(t, time.Unix(1, 0), p.wake(now))
	require.Len(t, p.ready, 1)
	require.Equal(t, uint64(5), p.popReady().head().rec.Seq)
	require.Zero(t, p.wake(now.Add(time.Second)), "nothing else backing off")
	k := p.popReady()
	require.Equal(t, uint64(1), k.head().rec.Seq, "the failed record comes back before its key's later ones")
	p.done(k)
	require.Equal(t, uint64(3), p.popReady().head().rec.Seq)
	require.Equal(t, 3, p.count)
}
