// Package target holds the places mirror and shadow modes send events to during the
// legacy write: a Kinesis stream and an HTTP endpoint of the new service. Each call is
// idempotent on the event's stable id: Kinesis records carry it (consumers deduplicate),
// HTTP requests send it as the Idempotency-Key header.
package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/dualwrite/event"
)

// NotAppliedError says the target certainly did not apply the events (the request was
// refused before any was applied): no compensation is needed. Any other error leaves the
// outcome unknown.
type NotAppliedError struct{ Err error }

func (e *NotAppliedError) Error() string    { return "not applied: " + e.Err.Error() }
func (e *NotAppliedError) Unwrap() error    { return e.Err }
func (e *NotAppliedError) NotApplied() bool { return true }

// NotApplied reports whether err says the target certainly did not apply the events.
func NotApplied(err error) bool {
	var na interface{ NotApplied() bool }
	return errors.As(err, &na) && na.NotApplied()
}

// KinesisOptions configure a Kinesis target.
type KinesisOptions struct {
	// Client is a Kinesis client (aws-sdk-go-v2's *kinesis.Client), best with the SDK's
	// retries off (RetryMaxAttempts 1): the sink retries and paces every call itself.
	Client kinesissink.PutRecordsAPI
	// Stream is the stream's name or ARN.
	Stream string
	// MaxRetryTime is how long a record may keep failing before the sink gives up on
	// everything it holds (callers then see errors and compensate); default 2 minutes.
	MaxRetryTime time.Duration
	// MaxRecordBytes is the stream's record limit; default 1 MiB.
	MaxRecordBytes int
	// Aggregate packs the events of each call into aggregated records, one per shard, in
	// the Kinesis Producer Library's format: a batch of shadowed events costs the stream
	// (and its per-shard record limit) a record per shard instead of one per event. The
	// consumers must take them apart: the Kinesis Client Library and AWS's
	// kinesis-aggregation libraries do, and so does Deaggregate. Every event keeps its
	// partition key, and one aggregate's events stay on one shard, in order. The Client
	// must also list shards (*kinesis.Client does); the map is read at the first call.
	Aggregate bool
	Logger    *slog.Logger
}

// Kinesis sends events to a stream, partitioned by aggregate, through the CDC daemon's
// Kinesis sink: one aggregate's records are never reordered, even by partial PutRecords
// failures, and failures are retried with backoff. Apply returns once every record is
// acknowledged. A compensation is a compensating event (event.Compensation) on the same
// partition key, so it follows the event it undoes.
type Kinesis struct {
	stream   string
	pub      *publisher
	shards   *shardMap // nil: records are not aggregated
	maxBytes int
}

// NewKinesis returns a Kinesis target.
func NewKinesis(opts KinesisOptions) (*Kinesis, error) {
	if opts.Client == nil {
		return nil, errors.New("kinesis target: a Kinesis client is required (kinesisclient.New)")
	}
	if opts.MaxRetryTime == 0 {
		opts.MaxRetryTime = 2 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	so := kinesissink.Options{
		Stream:         opts.Stream,
		MaxRecordBytes: opts.MaxRecordBytes,
		Linger:         -1, // a caller waits: send at once; concurrent callers still share requests
		MaxRetryTime:   opts.MaxRetryTime,
		RetryBaseDelay: 50 * time.Millisecond,
		RetryMaxDelay:  time.Second,
		RequestTimeout: 10 * time.Second,
	}
	// Check the options now rather than at the first write.
	if _, err := kinesissink.New(opts.Client, so, noAck{}, nil, nil); err != nil {
		return nil, fmt.Errorf("kinesis target: %w", err)
	}
	k := &Kinesis{stream: opts.Stream, pub: newPublisher(opts.Client, so, opts.Logger.With("target", "kinesis", "stream", opts.Stream)), maxBytes: opts.MaxRecordBytes}
	if k.maxBytes <= 0 {
		k.maxBytes = 1 << 20
	}
	if opts.Aggregate {
		lister, ok := opts.Client.(ShardLister)
		if !ok {
			return nil, errors.New("kinesis target: Aggregate needs a client that can also list shards (*kinesis.Client)")
		}
		k.shards = &shardMap{api: lister, stream: opts.Stream}
	}
	return k, nil
}

type noAck struct{}

func (noAck) Ack(uint64) {}

// Name identifies the target in the mirror journal and the shadow failures.
func (k *Kinesis) Name() string { return "kinesis:" + k.stream }

// Apply puts evs on the stream and waits for all to be acknowledged.
func (k *Kinesis) Apply(ctx context.Context, evs []event.Event) error {
	return k.put(ctx, evs)
}

// Compensate puts the compensating events of evs, latest first.
func (k *Kinesis) Compensate(ctx context.Context, evs []event.Event) error {
	now := time.Now()
	comps := make([]event.Event, len(evs))
	for i := range evs {
		comps[len(evs)-1-i] = evs[i].Compensation(now)
	}
	return k.put(ctx, comps)
}

func (k *Kinesis) put(ctx context.Context, evs []event.Event) error {
	recs := make([]*sink.Record, len(evs))
	for i := range evs {
		e := &evs[i]
		data, err := event.Marshal(e, &event.Source{Via: event.ViaDirect})
		if err != nil {
			return err
		}
		recs[i] = &sink.Record{PartitionKey: e.PartitionKey(), Data: data, Op: "c", Key: e.AggregateID, Table: e.AggregateType, ID: e.ID}
	}
	if k.shards != nil {
		if err := k.shards.load(ctx); err != nil {
			return &NotAppliedError{Err: fmt.Errorf("kinesis target: %w", err)}
		}
		recs = k.aggregate(recs)
	}
	return k.pub.publish(ctx, recs)
}

// aggregatePrefix starts the partition key of an aggregated record: the key only orders
// the shard's aggregated records in the sink (the explicit hash key places them).
const aggregatePrefix = "strangler-aggregate:"

// aggregate packs recs, in order, into one aggregated record per shard (more when one
// would pass the record size limit). A shard's records keep their order inside it, and
// its aggregated records keep theirs in the sink (one partition key per shard).
func (k *Kinesis) aggregate(recs []*sink.Record) []*sink.Record {
	type open struct {
		out  *sink.Record // placed in the output; its data is filled at the end
		recs []UserRecord
		size int
	}
	byShard := map[string]*open{}
	var out []*sink.Record
	var opens []*open
	for _, r := range recs {
		ehk, ok := k.shards.hashKeyOf(r.PartitionKey)
		if !ok {
			out = append(out, r)
			continue
		}
		pk := aggregatePrefix + ehk
		size := len(r.Data) + len(r.PartitionKey) + len(ehk) + aggregateOverheadPerRecord
		o := byShard[ehk]
		if o == nil || o.size+size > k.maxBytes-len(pk)-aggregateOverheadFixed {
			o = &open{out: &sink.Record{PartitionKey: pk, ExplicitHashKey: ehk, Op: "c", Table: "aggregated", ID: r.ID}}
			byShard[ehk] = o
			opens = append(opens, o)
			out = append(out, o.out)
		}
		o.recs = append(o.recs, UserRecord{PartitionKey: r.PartitionKey, ExplicitHashKey: ehk, Data: r.Data})
		o.size += size
	}
	for _, o := range opens {
		o.out.Data = encodeAggregate(o.recs)
		o.out.Key = fmt.Sprintf("%d events", len(o.recs))
	}
	return out
}

// Close delivers what is still held, until ctx ends.
func (k *Kinesis) Close(ctx context.Context) error { return k.pub.close(ctx) }

// reverse returns evs latest first.
func reverse(evs []event.Event) []event.Event {
	out := slices.Clone(evs)
	slices.Reverse(out)
	return out
}
