package cdc

import (
	"context"

	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/internal/kinesisclient"
)

func (d *Daemon) openKinesis(ctx context.Context, ckpt *checkpoint.Checkpointer) (sink.Sink, error) {
	cfg := d.cfg
	client, err := kinesisclient.New(ctx, kinesisclient.Options{Region: cfg.Region, Endpoint: cfg.KinesisEndpoint, MaxAttempts: 1})
	if err != nil {
		return nil, err
	}
	return kinesissink.New(client, kinesissink.Options{
		Stream:         cfg.Stream,
		MaxRecordBytes: cfg.MaxRecordBytes,
		Linger:         cfg.Linger,
		MaxInFlight:    cfg.MaxInFlight,
		MinRate:        cfg.MinRate,
		MaxRetryTime:   cfg.SinkRetryTime,
		Oversize:       cfg.Oversize,
		DeadLetterPath: cfg.DeadLetterPath,
	}, ckpt, d.m, d.log)
}
