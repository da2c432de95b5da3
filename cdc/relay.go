package cdc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/cdc/decoder"
	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
)

// Router decides what record a change becomes when it is not the default change event:
// the outbox router, for instance, sends an outbox row's payload as the event itself.
// handled=false leaves the change to the default encoding; handled=true with a nil
// record sends nothing for it (an outbox row's delete).
type Router interface {
	Route(c *event.Change, env event.Envelope) (rec *sink.Record, handled bool, err error)
}

// relay is the stage between the decoder and the sink: it numbers each item, tells the
// checkpointer where the stream stands after it, encodes changes into records for the
// sink (through the routers first), and acknowledges items that carry no record at once.
type relay struct {
	sink    sink.Sink
	ckpt    *checkpoint.Checkpointer
	m       *metrics.Metrics
	env     string // version for source.version
	routers []Router
	seq     uint64
	size    int // size of the last encoded event: the next buffer's capacity, so it rarely grows
	// data is the sink when it only copies data (a sink.DataSink), and buf the one
	// buffer every event is then encoded into.
	data    sink.DataSink
	buf     []byte
	stopAt  *binlog.Position
	stop    func()      // ends the reading loop
	stopped atomic.Bool // --stop-at reached: items after it are not relayed
}

// run relays batches until the reading loop closes the channel. After an error, or once
// --stop-at is reached, it keeps draining the channel (so the reading loop never blocks)
// without relaying anything more.
func (r *relay) run(ctx context.Context, batches <-chan []decoder.Item) error {
	var err error
	r.data, _ = r.sink.(sink.DataSink)
	for b := range batches {
		for _, it := range b {
			if err != nil || r.stopped.Load() {
				break
			}
			if err = r.relay(ctx, it); err != nil {
				r.stop()
			}
		}
	}
	return err
}

func (r *relay) relay(ctx context.Context, it decoder.Item) error {
	r.seq++
	r.ckpt.Track(r.seq, it.Resume, it.Catalog, it.EventTime)
	if it.Change == nil {
		r.ckpt.Ack(r.seq)
		if r.stopAt != nil && it.Resume.Skip == 0 && it.Resume.File != "" && binlog.Compare(it.Resume.Position, *r.stopAt) >= 0 {
			r.stopped.Store(true)
			r.stop()
		}
		return nil
	}
	c := it.Change
	env := event.Envelope{Version: r.env, TsMs: time.Now().UnixMilli()}
	for _, rt := range r.routers {
		rec, handled, err := rt.Route(c, env)
		if err != nil {
			return fmt.Errorf("route %s.%s change %s: %w", c.DB, c.Table, c.ID, err)
		}
		if !handled {
			continue
		}
		if rec == nil {
			r.ckpt.Ack(r.seq)
			return nil
		}
		rec.Seq = r.seq
		return r.sink.Put(ctx, rec)
	}
	if r.data != nil {
		r.buf = c.AppendJSON(r.buf[:0], env)
		return r.data.PutData(ctx, r.seq, r.buf)
	}
	data := c.AppendJSON(make([]byte, 0, r.size+r.size/8+64), env)
	r.size = len(data)
	rec := &sink.Record{
		Seq:          r.seq,
		PartitionKey: c.PartitionKey(),
		Data:         data,
		DB:           c.DB,
		Table:        c.Table,
		Op:           c.Op.String(),
		Key:          string(c.AppendKey(nil)),
		ID:           c.ID,
	}
	return r.sink.Put(ctx, rec)
}
