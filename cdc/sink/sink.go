// Package sink defines where change events go (Kinesis, a file, stdout, nowhere) and
// the contract every destination keeps: records of one partition key are delivered in the
// order they were put, and each is acknowledged only once the destination holds it.
package sink

import "context"

// Record is one encoded event on its way to a sink.
type Record struct {
	// Seq is the record's place in the pipeline; acknowledgements name it.
	Seq          uint64
	PartitionKey string
	// ExplicitHashKey, when set, places the record on the shard holding this hash (a
	// decimal 128-bit number) instead of the MD5 of PartitionKey (aggregated records).
	ExplicitHashKey string
	Data            []byte
	// What the record is about, for error messages, dead letters and metrics.
	DB, Table string
	Op        string
	Key       string // the row's key as JSON
	ID        string // the event id
}

// Size is what the record counts against Kinesis's per-record limit: data plus key.
func (r *Record) Size() int { return len(r.Data) + len(r.PartitionKey) }

// Acker is told when records are safely delivered. The checkpointer implements it.
type Acker interface {
	Ack(seq uint64)
}

// BatchAcker is an Acker that takes many acknowledgements at once, more cheaply.
type BatchAcker interface {
	Acker
	AckAll(seqs []uint64)
}

// Sink delivers records. Put is called from one goroutine in pipeline order; Run delivers
// concurrently with it.
type Sink interface {
	// Put hands over a record. It blocks while the sink's buffer is full and returns the
	// error that stopped the sink, if it has stopped.
	Put(ctx context.Context, r *Record) error
	// Close says no more records come; Run returns once all of them are acknowledged.
	Close()
	// Run delivers records until the sink is closed and drained (nil), ctx ends
	// (ctx.Err()), or delivery fails for good (the error, naming what and why). A record
	// that was not acknowledged is never reported as delivered.
	Run(ctx context.Context) error
}

// DataSink is a Sink that needs only a record's place and data (a file, stdout, nowhere)
// and is done with the data when PutData returns: the pipeline then hands it one reused
// buffer instead of building a record per event, and spends nothing on partition keys.
type DataSink interface {
	Sink
	// PutData is Put for a record with this seq and data.
	PutData(ctx context.Context, seq uint64, data []byte) error
}
