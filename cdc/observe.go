package cdc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
)

// health backs /readyz: the pipeline is streaming.
type health struct{ ready atomic.Bool }

func newHealth() *health { return &health{} }

func (h *health) setReady(v bool) { h.ready.Store(v) }

func (h *health) isReady() bool { return h.ready.Load() }

// watchLag measures, every 10 s, how many binlog bytes lie between the checkpoint and
// the source's head.
func (d *Daemon) watchLag(ctx context.Context, ckpt *checkpoint.Checkpointer) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		reached := ckpt.Reached()
		if reached != nil && reached.Resume.File != "" {
			if head, err := binlog.HeadPosition(ctx, d.source, d.flavor); err == nil {
				if files, err := binlog.BinaryLogs(ctx, d.source); err == nil {
					if n := binlog.BytesBetween(files, reached.Resume.Position, head); n >= 0 {
						d.m.SourceLagBytes.Set(float64(n))
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
