package cdc

import (
	"context"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/cdc/decoder"
	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
)

// relay is the stage between the decoder and the sink: it numbers each item, tells the
// checkpointer where the stream stands after it, encodes changes into records for the
// sink, and acknowledges markers (which carry no record) at once.
type relay struct {
	sink    sink.Sink
	ckpt    *checkpoint.Checkpointer
	m       *metrics.Metrics
	env     string // version for source.version
	seq     uint64
	stopAt  *binlog.Position
	stop    func()
	stopped bool
}

func (r *relay) relay(ctx context.Context, it decoder.Item) error {
	r.seq++
	r.ckpt.Track(r.seq, it.Resume, it.Catalog, it.EventTime)
	if it.Change == nil {
		r.ckpt.Ack(r.seq)
		if r.stopAt != nil && it.Resume.Skip == 0 && it.Resume.File != "" && binlog.Compare(it.Resume.Position, *r.stopAt) >= 0 {
			r.stopped = true
			r.stop()
		}
		return nil
	}
	c := it.Change
	rec := &sink.Record{
		Seq:          r.seq,
		PartitionKey: c.PartitionKey(),
		Data:         c.AppendJSON(make([]byte, 0, 512), event.Envelope{Version: r.env, TsMs: time.Now().UnixMilli()}),
		DB:           c.DB,
		Table:        c.Table,
		Op:           c.Op.String(),
		Key:          string(c.AppendKey(nil)),
		ID:           c.ID,
	}
	return r.sink.Put(ctx, rec)
}
