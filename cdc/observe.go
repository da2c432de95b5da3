package cdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
)

// health backs /healthz (the process answers) and /readyz (the pipeline is streaming).
type health struct{ ready atomic.Bool }

func newHealth() *health { return &health{} }

func (h *health) setReady(v bool) { h.ready.Store(v) }

// serveMetrics serves /metrics, /healthz and /readyz on addr.
func serveMetrics(addr string, reg *prometheus.Registry, h *health, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "not streaming", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return srv, nil
}

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
