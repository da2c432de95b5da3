package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/cdc/decoder"
	"github.com/strangler/strangler/cdc/filter"
	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/schema"
	"github.com/strangler/strangler/cdc/sink"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/metricsserver"
	"github.com/strangler/strangler/internal/version"
)

// Daemon is one running CDC pipeline.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	m       *metrics.Metrics
	health  *health
	source  *sql.DB
	info    *binlog.SourceInfo
	store   checkpoint.Store
	filter  *filter.Filter
	start   *checkpoint.Checkpoint
	stopAt  *binlog.Position
	flavor  string
	sourceA string // the source address in mysql:// form
}

// Run starts the daemon and blocks until ctx ends (a clean stop: everything read is
// delivered and checkpointed, nil is returned) or the pipeline fails (the error, with the
// checkpoint left at what was delivered).
func Run(ctx context.Context, cfg Config) error {
	d, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx)
}

// Open checks the configuration and the source, and loads the checkpoint: everything that
// can refuse to start happens here, before any event is read.
func Open(ctx context.Context, cfg Config) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	d := &Daemon{cfg: cfg, log: log, reg: reg, m: metrics.New(reg), health: newHealth()}
	d.sourceA = cfg.Source
	if !strings.HasPrefix(d.sourceA, "mysql://") {
		d.sourceA = "mysql://" + d.sourceA
	}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()

	dsn, err := dburl.MySQLDSN(d.sourceA)
	if err != nil {
		return nil, err
	}
	d.source, err = sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	d.source.SetMaxOpenConns(4)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.source.PingContext(pingCtx); err != nil {
		return nil, fmt.Errorf("connect to the source %s: %w", dburl.Redact(d.sourceA), err)
	}
	if d.info, err = binlog.Inspect(ctx, d.source); err != nil {
		return nil, fmt.Errorf("source %s: %w", dburl.Redact(d.sourceA), err)
	}
	d.flavor = d.info.Flavor
	if cfg.Flavor != "auto" && cfg.Flavor != d.info.Flavor {
		return nil, fmt.Errorf("--flavor %s, but the source is %s (%s): use --flavor %s or auto", cfg.Flavor, d.info.Flavor, d.info.Version, d.info.Flavor)
	}
	if err := d.info.Check(cfg.ServerID); err != nil {
		return nil, err
	}
	for _, w := range d.info.Warnings() {
		log.Warn(w)
	}

	if d.filter, err = filter.New(cfg.Include, cfg.Exclude); err != nil {
		return nil, err
	}
	if d.store, err = checkpoint.Open(ctx, cfg.Checkpoint, cfg.Name, cfg.TablePrefix); err != nil {
		return nil, err
	}
	if strings.HasPrefix(cfg.Checkpoint, "mysql://") {
		// The checkpoint table's own writes must not feed the stream (other tables of
		// the toolkit in that database, an outbox for one, may well be streamed).
		if c, err := dburl.ParseMySQL(cfg.Checkpoint); err == nil {
			d.filter.Exclude(c.DBName, cfg.TablePrefix+"cdc_checkpoints")
			d.filter.Exclude(c.DBName, cfg.TablePrefix+"schema_migrations")
		}
	}
	if cfg.ResetCheckpoint {
		if err := d.store.Delete(ctx); err != nil {
			return nil, fmt.Errorf("--reset-checkpoint: %w", err)
		}
		log.Warn("checkpoint removed (--reset-checkpoint): starting from --start", "start", cfg.Start)
	}
	if d.start, err = d.startingPoint(ctx); err != nil {
		return nil, err
	}
	if cfg.StopAt != "" {
		p, _ := binlog.ParseStart(cfg.StopAt)
		d.stopAt = &p
	}
	ok = true
	return d, nil
}

// startingPoint is the loaded checkpoint, or a new one at --start with the current schema.
func (d *Daemon) startingPoint(ctx context.Context) (*checkpoint.Checkpoint, error) {
	cp, err := d.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if cp != nil {
		if err := d.sameSource(cp); err != nil {
			return nil, err
		}
		if cp.Schema == nil {
			if cp.Schema, err = schema.Load(ctx, d.source, d.filter.MatchDB); err != nil {
				return nil, fmt.Errorf("load schema: %w", err)
			}
		}
		if cp.Resume.Skip > 0 && cp.Filter != d.filter.Fingerprint() {
			// Skip counts the streamed changes of the interrupted transaction under the old
			// filter: resend the whole transaction rather than skip the wrong rows.
			d.log.Warn("the table filter changed since the checkpoint, which is inside a transaction: that transaction is sent again from its start", "resume", cp.Resume.String())
			cp.Resume.Skip = 0
		}
		d.log.Info("resuming from checkpoint", "store", d.store.String(), "resume", cp.Resume.String(), "saved_at", cp.SavedAt)
		return cp, nil
	}
	var pos binlog.Position
	switch d.cfg.Start {
	case "latest":
		pos = d.info.Head
	case "earliest":
		logs, err := binlog.BinaryLogs(ctx, d.source)
		if err != nil {
			return nil, err
		}
		if len(logs) == 0 {
			return nil, errors.New("--start earliest: the source lists no binlog files")
		}
		pos = binlog.Position{File: logs[0].Name, Pos: 4}
	default:
		if pos, err = binlog.ParseStart(d.cfg.Start); err != nil {
			return nil, err
		}
		if pos.GTID != "" && !d.info.GTIDMode {
			return nil, fmt.Errorf("--start %s: the source has no GTIDs (gtid_mode is OFF): start at file:NAME:POS", d.cfg.Start)
		}
	}
	if !d.info.GTIDMode {
		pos.GTID = ""
	}
	cat, err := schema.Load(ctx, d.source, d.filter.MatchDB)
	if err != nil {
		return nil, fmt.Errorf("load schema: %w", err)
	}
	d.log.Info("no checkpoint: starting", "start", d.cfg.Start, "position", pos.String(), "tables", cat.Len())
	return &checkpoint.Checkpoint{Resume: binlog.Resume{Position: pos}, Schema: cat}, nil
}

// sameSource refuses a checkpoint taken on another server when file positions are all
// it has; with GTIDs the position carries over to a failover target.
func (d *Daemon) sameSource(cp *checkpoint.Checkpoint) error {
	if cp.Source.Flavor != "" && cp.Source.Flavor != d.info.Flavor {
		return fmt.Errorf("checkpoint %s was taken on a %s source, this source is %s: point --source at the right server or use another --checkpoint", d.store, cp.Source.Flavor, d.info.Flavor)
	}
	other := (cp.Source.ServerUUID != "" && cp.Source.ServerUUID != d.info.ServerUUID) ||
		(cp.Source.ServerUUID == "" && cp.Source.ServerID != 0 && cp.Source.ServerID != d.info.ServerID)
	if !other {
		return nil
	}
	if cp.Resume.GTID != "" && d.info.GTIDMode {
		d.log.Warn("the checkpoint was taken on another server; resuming by GTID", "checkpoint_server_id", cp.Source.ServerID, "server_id", d.info.ServerID)
		return nil
	}
	return fmt.Errorf("checkpoint %s was taken on server_id %d, the source is server_id %d, and without GTIDs a binlog position means nothing on another server: point --source at the original server, enable GTIDs, or start afresh with --reset-checkpoint --start", d.store, cp.Source.ServerID, d.info.ServerID)
}

// Close releases the daemon's connections.
func (d *Daemon) Close() {
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.source != nil {
		_ = d.source.Close()
	}
}

// Registry exposes the daemon's metrics (for tests and embedding).
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

// Run streams until ctx ends or the pipeline fails.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.cfg
	d.m.Info.WithLabelValues(version.String(), d.flavor).Set(1)
	ckpt := checkpoint.New(d.store, d.start, checkpoint.Options{
		Source:   checkpoint.SourceID{Flavor: d.flavor, ServerID: d.info.ServerID, ServerUUID: d.info.ServerUUID},
		Filter:   d.filter.Fingerprint(),
		Version:  version.String(),
		Interval: cfg.CheckpointInterval,
		Metrics:  d.m,
		Logger:   d.log,
	})
	snk, err := d.openSink(ctx, ckpt)
	if err != nil {
		return err
	}
	reader := binlog.NewReader(binlog.Config{
		Addr:         d.sourceA,
		Flavor:       d.flavor,
		ServerID:     cfg.ServerID,
		GTIDMode:     d.info.GTIDMode,
		RetryTimeout: cfg.SourceRetryTimeout,
		ConfigureSyncer: func(c *replication.BinlogSyncerConfig) {
			decoder.ConfigureSyncer(c)
			c.RowsEventDecodeFunc = decoder.SkipUnstreamed(d.filter)
		},
		OnReconnect: func() { d.m.Reconnects.Inc() },
		Logger:      d.log,
	})
	if err := reader.Start(ctx, d.start.Resume.Position); err != nil {
		return fmt.Errorf("start reading the binlog at %s: %w", d.start.Resume, err)
	}
	defer reader.Close()
	dec := decoder.New(d.start.Schema, d.start.Resume, decoder.Options{Connector: d.flavor, Filter: d.filter, Metrics: d.m, Logger: d.log})

	if cfg.MetricsAddr != "" {
		srv, err := metricsserver.Serve(cfg.MetricsAddr, d.reg, d.health.isReady, d.log)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	d.log.Info("streaming", "source", dburl.Redact(d.sourceA), "flavor", d.flavor, "sink", cfg.Sink, "stream", cfg.Stream, "from", d.start.Resume.String())

	// Stages that deliver (sink, checkpointer) outlive the reading stage on a clean stop:
	// they drain what was read before they end.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()

	var g errgroup.Group
	sinkDone := make(chan error, 1)
	g.Go(func() error {
		err := snk.Run(deliverCtx)
		sinkDone <- err
		if err != nil && deliverCtx.Err() == nil {
			stopReading()
			return fmt.Errorf("sink %s: %w", cfg.Sink, err)
		}
		return nil
	})
	ckptDone := make(chan error, 1)
	g.Go(func() error {
		err := ckpt.Run(deliverCtx)
		ckptDone <- err
		if err != nil {
			stopReading()
		}
		return err
	})
	g.Go(func() error {
		d.watchLag(readCtx, ckpt)
		return nil
	})

	// The decoder and the relay run in goroutines of their own, linked by batches of
	// items (one batch per binlog event): decoding, encoding and go-mysql's parsing then
	// use the cores side by side.
	r := &relay{sink: snk, ckpt: ckpt, m: d.m, env: version.String(), routers: cfg.Routers, stopAt: d.stopAt, stop: stopReading}
	batches := make(chan []decoder.Item, 16)
	relayDone := make(chan error, 1)
	go func() { relayDone <- r.run(deliverCtx, batches) }()
	d.health.setReady(true)
	readErr := d.read(readCtx, reader, dec, batches, r.stopped.Load)
	stopReading()
	d.health.setReady(false)
	reader.Close()
	if err := <-relayDone; err != nil && readErr == nil {
		readErr = err
	}

	// Drain: let the sink deliver what was read, then save the checkpoint a last time.
	snk.Close()
	var sinkErr error
	select {
	case sinkErr = <-sinkDone:
	case <-time.After(cfg.ShutdownTimeout):
		sinkErr = fmt.Errorf("the sink did not deliver the %d pending events within --shutdown-timeout %s; they will be sent again at the next start", ckpt.Pending(), cfg.ShutdownTimeout)
	}
	stopDelivery()
	groupErr := g.Wait()
	saveErr := ckpt.Save(context.WithoutCancel(ctx))
	if reached := ckpt.Reached(); reached != nil {
		d.log.Info("stopped", "checkpoint", reached.Resume.String(), "pending", ckpt.Pending())
	}

	switch {
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		return readErr
	case sinkErr != nil && !errors.Is(sinkErr, context.Canceled):
		return fmt.Errorf("sink %s: %w", cfg.Sink, sinkErr)
	case groupErr != nil:
		return groupErr
	case saveErr != nil:
		return saveErr
	}
	return nil
}

// read is the reading loop: reader to decoder, handing the decoder's items to the relay
// in batches, until ctx ends, the relay says stop, or a stage fails.
func (d *Daemon) read(ctx context.Context, reader *binlog.Reader, dec *decoder.Decoder, out chan<- []decoder.Item, stopped func() bool) error {
	defer close(out)
	batch := make([]decoder.Item, 0, 64)
	emit := func(it decoder.Item) error {
		batch = append(batch, it)
		return nil
	}
	for {
		ev, err := reader.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := dec.Decode(ev, emit); err != nil {
			return err
		}
		if len(batch) > 0 {
			if !d.handOver(ctx, out, batch) {
				return nil
			}
			batch = make([]decoder.Item, 0, max(64, len(batch)))
		}
		if stopped() || d.pastStop(ev) {
			return nil
		}
	}
}

// pastStop reports whether an event outside any transaction ends at or after --stop-at:
// every transaction before the stop position is then read. It catches the stop positions
// no transaction ends at, such as the head of a binlog file after a rotation.
func (d *Daemon) pastStop(ev *binlog.Event) bool {
	if d.stopAt == nil || ev.Tx != nil || ev.Header.LogPos == 0 || ev.File == "" {
		return false
	}
	return binlog.Compare(binlog.Position{File: ev.File, Pos: ev.Header.LogPos}, *d.stopAt) >= 0
}

// handOver passes a batch to the relay. Once reading is being stopped it waits at most
// --shutdown-timeout: what is not handed over is not tracked, so the checkpoint stays
// before it and it is read again at the next start.
func (d *Daemon) handOver(ctx context.Context, out chan<- []decoder.Item, batch []decoder.Item) bool {
	select {
	case out <- batch:
		return true
	case <-ctx.Done():
	}
	select {
	case out <- batch:
		return true
	case <-time.After(d.cfg.ShutdownTimeout):
		return false
	}
}

func (d *Daemon) openSink(ctx context.Context, ckpt *checkpoint.Checkpointer) (sink.Sink, error) {
	cfg := d.cfg
	switch {
	case cfg.Sink == "discard":
		return sink.NewDiscardSink(ckpt, d.m), nil
	case cfg.Sink == "stdout":
		out := cfg.Stdout
		if out == nil {
			out = os.Stdout
		}
		return sink.NewWriterSink("stdout", out, ckpt, d.m, cfg.Linger), nil
	case strings.HasPrefix(cfg.Sink, "file:"):
		return sink.NewFileSink(strings.TrimPrefix(cfg.Sink, "file:"), ckpt, d.m, cfg.Linger)
	default:
		return d.openKinesis(ctx, ckpt)
	}
}
