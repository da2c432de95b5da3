// Package checkpoint keeps the CDC daemon's place in the binlog: the checkpointer learns
// of every item the pipeline produces and of every acknowledgement from the sink, and
// saves the position up to which everything is delivered, never further. Stores keep it
// in a file (written atomically) or in a MySQL table.
package checkpoint

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/schema"
)

// Checkpoint is a saved place in the source's binlog.
type Checkpoint struct {
	// Resume is where to pick up: a transaction start and how many of its row changes
	// were delivered.
	Resume binlog.Resume `json:"resume"`
	// EventTime is the commit time of the last change delivered.
	EventTime time.Time `json:"event_time"`
	// Source identifies the server the position belongs to.
	Source SourceID `json:"source"`
	// Schema is the schema history at Resume: the tables' columns as they were there.
	Schema *schema.Catalog `json:"schema,omitempty"`
	// Filter fingerprints the table filter the position was counted with: Resume.Skip
	// counts the streamed changes of a transaction, which another filter would count
	// differently.
	Filter string `json:"filter,omitempty"`
	// SavedAt is when the checkpoint was written, and by which version of strangler.
	SavedAt time.Time `json:"saved_at"`
	Version string    `json:"version"`
}

// SourceID names the server a checkpoint was taken on, so a daemon pointed at another
// server by mistake can say so instead of streaming from a meaningless position.
type SourceID struct {
	Flavor     string `json:"flavor"`
	ServerID   uint32 `json:"server_id"`
	ServerUUID string `json:"server_uuid,omitempty"`
}

// Store loads and saves checkpoints.
type Store interface {
	// Load returns the saved checkpoint, or nil when there is none.
	Load(ctx context.Context) (*Checkpoint, error)
	// Save replaces the saved checkpoint. It is all or nothing: a crash leaves either
	// the old checkpoint or the new one.
	Save(ctx context.Context, cp *Checkpoint) error
	// Delete removes the saved checkpoint.
	Delete(ctx context.Context) error
	// String says where the store keeps checkpoints, for logs.
	String() string
	Close() error
}

// item is one pipeline item waiting for its acknowledgement.
type item struct {
	resume    binlog.Resume
	catalog   *schema.Catalog
	eventTime time.Time
	acked     bool
}

// Checkpointer tracks items in pipeline order and saves the position reached by the
// longest run of acknowledged items from the start. Items are tracked from one goroutine
// in sequence order; acknowledgements come from any goroutine in any order.
type Checkpointer struct {
	store    Store
	source   SourceID
	filter   string
	version  string
	interval time.Duration
	m        *metrics.Metrics
	log      *slog.Logger

	mu      sync.Mutex
	base    uint64 // sequence number of pending[0]
	pending []item // ring of tracked items from base on
	head    int    // index of base in pending
	count   int
	// reached is the furthest point with everything before it acknowledged; moves counts
	// its advances, so that a save can tell whether it moved without allocating a new
	// Checkpoint at every acknowledgement.
	reached Checkpoint
	known   bool // reached holds a position (the start, or an acknowledged item)
	moves   uint64
	saved   uint64 // moves at the last save
	changed chan struct{}
}

// Options configure a Checkpointer.
type Options struct {
	Source   SourceID
	Filter   string // fingerprint of the table filter, saved with each checkpoint
	Version  string
	Interval time.Duration // how often to save while running; 0 saves after every advance
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
}

// New returns a checkpointer that saves to store. start is the checkpoint the stream
// begins at (loaded, or made from --start); it is what a save writes until an item is
// acknowledged. The first item tracked must have sequence number 1.
func New(store Store, start *Checkpoint, opts Options) *Checkpointer {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = metrics.Discard()
	}
	c := &Checkpointer{
		store:    store,
		source:   opts.Source,
		filter:   opts.Filter,
		version:  opts.Version,
		interval: opts.Interval,
		m:        m,
		log:      log.With("component", "checkpointer"),
		base:     1,
		pending:  make([]item, 1024),
		changed:  make(chan struct{}, 1),
	}
	if start != nil {
		c.reached, c.known, c.moves = *start, true, 1
	}
	return c
}

// Track records item seq, produced in pipeline order: once it and everything before it
// are acknowledged, the stream can resume at resume, with catalog as the schema there.
func (c *Checkpointer) Track(seq uint64, resume binlog.Resume, catalog *schema.Catalog, eventTime time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq != c.base+uint64(c.count) {
		panic(fmt.Sprintf("checkpointer: item %d tracked out of order (expected %d)", seq, c.base+uint64(c.count)))
	}
	if c.count == len(c.pending) {
		c.grow()
	}
	c.pending[(c.head+c.count)%len(c.pending)] = item{resume: resume, catalog: catalog, eventTime: eventTime}
	c.count++
}

func (c *Checkpointer) grow() {
	bigger := make([]item, 2*len(c.pending))
	for i := 0; i < c.count; i++ {
		bigger[i] = c.pending[(c.head+i)%len(c.pending)]
	}
	c.pending, c.head = bigger, 0
}

// Ack records that item seq is delivered.
func (c *Checkpointer) Ack(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ackLocked(seq)
	c.advanceLocked()
}

// AckAll records that every item of seqs is delivered, under one lock: sinks that
// deliver in batches acknowledge them at once.
func (c *Checkpointer) AckAll(seqs []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, seq := range seqs {
		c.ackLocked(seq)
	}
	c.advanceLocked()
}

func (c *Checkpointer) ackLocked(seq uint64) {
	if seq < c.base || seq >= c.base+uint64(c.count) {
		panic(fmt.Sprintf("checkpointer: acknowledgement of item %d, which is not pending (pending %d..%d)", seq, c.base, c.base+uint64(c.count)-1))
	}
	c.pending[(c.head+int(seq-c.base))%len(c.pending)].acked = true
}

func (c *Checkpointer) advanceLocked() {
	advanced := false
	for c.count > 0 && c.pending[c.head].acked {
		it := c.pending[c.head]
		c.pending[c.head] = item{}
		c.head = (c.head + 1) % len(c.pending)
		c.count--
		c.base++
		c.reached.Resume, c.reached.Schema, c.reached.EventTime = it.resume, it.catalog, it.eventTime
		advanced = true
	}
	if advanced {
		c.known = true
		c.moves++
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// Pending returns how many tracked items wait for acknowledgement.
func (c *Checkpointer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Reached returns the furthest checkpoint with everything before it delivered, or nil.
func (c *Checkpointer) Reached() *Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return nil
	}
	cp := c.reached
	return &cp
}

// Run saves the reached checkpoint every interval (or on every advance when the
// interval is 0) until ctx ends. It returns when a save fails: a daemon that cannot
// record its progress must stop rather than run on without a way back.
func (c *Checkpointer) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if c.interval > 0 {
		t := time.NewTicker(c.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-c.changed:
			if c.interval > 0 {
				continue
			}
		}
		if err := c.Save(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// Save writes the reached checkpoint if it moved since the last save.
func (c *Checkpointer) Save(ctx context.Context) error {
	c.mu.Lock()
	cp, known, moves := c.reached, c.known, c.moves
	c.mu.Unlock()
	if !known || moves == c.saved {
		return nil
	}
	cp.Source = c.source
	cp.Filter = c.filter
	cp.Version = c.version
	cp.SavedAt = time.Now().UTC()
	if err := c.store.Save(ctx, &cp); err != nil {
		return fmt.Errorf("save checkpoint %s to %s: %w", cp.Resume, c.store, err)
	}
	c.saved = moves
	c.m.CheckpointSaved(cp.SavedAt)
	c.log.Debug("checkpoint saved", "resume", cp.Resume.String())
	return nil
}
