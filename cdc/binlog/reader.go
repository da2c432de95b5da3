package binlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

	"github.com/strangler/strangler/internal/dburl"
)

// Config says which source to read and how to behave when the connection breaks.
type Config struct {
	Addr     string // mysql:// address of the source
	Flavor   string // FlavorMySQL or FlavorMariaDB
	ServerID uint32 // the daemon's replica id, unique among the source's replicas
	// GTIDMode: the source writes GTIDs, so positions carry GTID sets and streams
	// resume by GTID (which survives a failover to another server).
	GTIDMode bool
	// HeartbeatPeriod asks the source for a heartbeat when idle, so a dead connection is
	// noticed within ReadTimeout. Defaults: 5 s and 30 s.
	HeartbeatPeriod time.Duration
	ReadTimeout     time.Duration
	// RetryTimeout gives up reconnecting after this long without success; 0 retries forever.
	RetryTimeout time.Duration
	// MaxBackoff caps the wait between reconnection attempts (default 30 s).
	MaxBackoff time.Duration
	// ConfigureSyncer lets the decoder set the value options it relies on.
	ConfigureSyncer func(*replication.BinlogSyncerConfig)
	// OnReconnect is called after each successful reconnection (for metrics).
	OnReconnect func()
	Logger      *slog.Logger
}

// Tx is the transaction an event belongs to.
type Tx struct {
	Start Position // the boundary just before the transaction
	GTID  string   // the transaction's GTID; empty when the source writes none
	ID    string   // GTID, or file:pos of the transaction's first event
}

// Event is a binlog event with where it stands: its coordinates, its transaction, and,
// on the event that ends a transaction, the boundary after it.
type Event struct {
	*replication.BinlogEvent
	File string
	Pos  uint32 // start of the event in File
	Tx   *Tx    // nil for events outside transactions (rotate, heartbeat, format description)
	// End is set on the last event of a transaction (XID, COMMIT, a DDL statement): the
	// position a stream can resume from once everything before it is delivered.
	End *Position
	// Heartbeat is true for the source's idle heartbeats: the reader has caught up.
	Heartbeat bool
}

// Reader hands out the events of a binlog in order, each once, across reconnections.
type Reader struct {
	cfg Config
	log *slog.Logger

	syncer   *replication.BinlogSyncer
	streamer *replication.BinlogStreamer

	file    string    // current binlog file
	nextPos uint32    // position after the last event read
	gset    gtidState // transactions before the current boundary; nil without GTIDs
	tx      *Tx
	txSeen  int  // events of the current transaction delivered
	txBegun bool // a BEGIN was seen: a following statement is DML, not DDL

	// Fast-forward: when a start position in a GTID source comes without its GTID set,
	// reading starts at the file's head to learn the set, and events before the target
	// are not delivered.
	forwardFile string
	forwardTo   uint32
	// After a reconnection in the middle of a transaction, the first skipTx events of the
	// transaction were delivered already.
	skipTx int
	// Events unpacked from a MySQL 8 compressed transaction payload, still to place, and
	// the payload's own start position, which they share.
	unpacked   []*replication.BinlogEvent
	payloadPos uint32
	// expectBoundary makes the first event of a stream started at a file position prove
	// that position is a transaction boundary.
	expectBoundary bool
}

// NewReader returns a reader for cfg; Start begins streaming.
func NewReader(cfg Config) *Reader {
	if cfg.HeartbeatPeriod == 0 {
		cfg.HeartbeatPeriod = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 6 * cfg.HeartbeatPeriod
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, log: log.With("component", "reader")}
}

// Start opens the stream at from, a transaction boundary.
func (r *Reader) Start(ctx context.Context, from Position) error {
	switch {
	case from.GTID != "" && r.cfg.GTIDMode:
		set, err := newGTIDState(r.cfg.Flavor, from.GTID)
		if err != nil {
			return fmt.Errorf("start position: %w", err)
		}
		r.gset = set
		r.file, r.nextPos = from.File, from.Pos
	case from.File == "":
		return errors.New("start position names neither a binlog file nor a GTID set (a GTID set needs a source with GTIDs)")
	default:
		r.file, r.nextPos = from.File, from.Pos
		if r.cfg.GTIDMode && from.Pos > 4 {
			// Learn the GTID set at the file's head (PREVIOUS_GTIDS / GTID_LIST) and
			// replay the file up to the start, so every position carries its set.
			r.forwardFile, r.forwardTo = from.File, from.Pos
			r.nextPos = 4
		}
		r.expectBoundary = true
	}
	return r.connect(ctx)
}

// SyncerConfig is the go-mysql BinlogSyncer configuration a Reader with this Config
// streams with (the benchmark's raw-decode ceiling uses it too, to measure the same).
func (c Config) SyncerConfig() (replication.BinlogSyncerConfig, error) {
	mc, err := dburl.ParseMySQL(c.Addr)
	if err != nil {
		return replication.BinlogSyncerConfig{}, err
	}
	host, portStr, err := net.SplitHostPort(mc.Addr)
	if err != nil {
		return replication.BinlogSyncerConfig{}, fmt.Errorf("source address %q: %w", mc.Addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return replication.BinlogSyncerConfig{}, fmt.Errorf("source port %q: %w", portStr, err)
	}
	sc := replication.BinlogSyncerConfig{
		ServerID:         c.ServerID,
		Flavor:           c.Flavor,
		Host:             host,
		Port:             uint16(port),
		User:             mc.User,
		Password:         mc.Passwd,
		Charset:          "utf8mb4",
		HeartbeatPeriod:  c.HeartbeatPeriod,
		ReadTimeout:      c.ReadTimeout,
		DisableRetrySync: true, // reconnection is ours: go-mysql's would resend half transactions
		VerifyChecksum:   true,
		EventCacheCount:  1024,
		Logger:           slog.New(slog.DiscardHandler),
		FillZeroLogPos:   c.Flavor == FlavorMariaDB,
		Localhost:        "strangler",
	}
	if mc.TLS != nil {
		sc.TLSConfig = mc.TLS
	} else if mc.TLSConfig == "true" || mc.TLSConfig == "skip-verify" {
		sc.TLSConfig = &tls.Config{InsecureSkipVerify: mc.TLSConfig == "skip-verify", ServerName: host}
	}
	if c.ConfigureSyncer != nil {
		c.ConfigureSyncer(&sc)
	}
	return sc, nil
}

// connect opens a stream at the reader's current boundary (or transaction start).
func (r *Reader) connect(ctx context.Context) error {
	sc, err := r.cfg.SyncerConfig()
	if err != nil {
		return err
	}
	r.syncer = replication.NewBinlogSyncer(sc)
	var st *replication.BinlogStreamer
	if r.gset != nil && r.forwardTo == 0 {
		from := r.gset.String()
		if r.tx != nil {
			from = r.tx.Start.GTID
		}
		set, perr := gomysql.ParseGTIDSet(r.cfg.Flavor, from)
		if perr != nil {
			return fmt.Errorf("resume from GTID set %q: %w", from, perr)
		}
		st, err = r.syncer.StartSyncGTID(set)
	} else {
		pos := gomysql.Position{Name: r.file, Pos: r.nextPos}
		if r.tx != nil {
			pos = gomysql.Position{Name: r.tx.Start.File, Pos: r.tx.Start.Pos}
		}
		st, err = r.syncer.StartSync(pos)
	}
	if err != nil {
		r.syncer.Close()
		r.syncer = nil
		return r.classify(err)
	}
	r.streamer = st
	if r.tx != nil {
		// Mid-transaction: the source sends the transaction again from its start; what
		// was delivered of it (seen, less what was still to be skipped) is skipped.
		r.skipTx += r.txSeen
		r.txSeen = 0
		r.tx = nil
		r.txBegun = false
	}
	return nil
}

// Close ends the stream.
func (r *Reader) Close() {
	if r.syncer != nil {
		r.syncer.Close()
		r.syncer = nil
	}
}

// Next returns the next event. Connection failures are retried with backoff; the events
// of a transaction interrupted half-way are not handed out twice. Errors that retrying
// cannot mend (purged binlogs, missing privileges) are returned.
func (r *Reader) Next(ctx context.Context) (*Event, error) {
	for {
		if r.streamer == nil {
			if err := r.reconnect(ctx); err != nil {
				return nil, err
			}
		}
		var be *replication.BinlogEvent
		var err error
		if len(r.unpacked) > 0 {
			be, r.unpacked = r.unpacked[0], r.unpacked[1:]
		} else {
			be, err = r.streamer.GetEvent(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := r.classify(err); isFatal(err) {
				return nil, err
			}
			r.log.Warn("binlog stream broke; reconnecting", "error", cause(err), "file", r.file, "pos", r.nextPos)
			r.Close()
			r.streamer = nil
			r.unpacked = nil
			continue
		}
		if p, ok := be.Event.(*replication.TransactionPayloadEvent); ok {
			// binlog_transaction_compression: the transaction's events travel inside
			// one compressed event and are placed one by one, at its position.
			r.payloadPos = be.Header.LogPos - be.Header.EventSize
			r.nextPos = be.Header.LogPos
			r.unpacked = append(r.unpacked[:0], p.Events...)
			continue
		}
		ev, deliver, err := r.place(be)
		if err != nil {
			return nil, err
		}
		if deliver {
			return ev, nil
		}
	}
}

func (r *Reader) reconnect(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	started := time.Now()
	for attempt := 1; ; attempt++ {
		err := r.connect(ctx)
		if err == nil {
			r.log.Info("reconnected to the source", "attempt", attempt, "file", r.file, "pos", r.nextPos)
			if r.cfg.OnReconnect != nil {
				r.cfg.OnReconnect()
			}
			return nil
		}
		if isFatal(err) {
			return err
		}
		if r.cfg.RetryTimeout > 0 && time.Since(started) > r.cfg.RetryTimeout {
			return fmt.Errorf("could not reconnect to the source for %s (last error: %w); check the source is up and reachable, or raise --source-retry-timeout", r.cfg.RetryTimeout, err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		r.log.Warn("cannot reach the source; retrying", "error", cause(err), "attempt", attempt, "wait", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(backoff*2, r.cfg.MaxBackoff)
	}
}

// place works out where an event stands, keeps the position and GTID accounting, and
// says whether to deliver it.
func (r *Reader) place(be *replication.BinlogEvent) (*Event, bool, error) {
	h := be.Header
	ev := &Event{BinlogEvent: be, File: r.file}
	switch {
	case len(r.unpacked) > 0 || (r.payloadPos > 0 && h.LogPos == 0):
		ev.Pos = r.payloadPos
	case h.LogPos >= h.EventSize && h.LogPos > 0:
		ev.Pos = h.LogPos - h.EventSize
		r.payloadPos = 0
	}

	switch e := be.Event.(type) {
	case *replication.RotateEvent:
		r.file = string(e.NextLogName)
		r.nextPos = uint32(e.Position)
		ev.File = r.file
		return ev, false, nil
	case *replication.FormatDescriptionEvent:
		return ev, false, nil
	case *replication.PreviousGTIDsEvent:
		if r.cfg.GTIDMode && (r.forwardTo > 0 || r.gset == nil) {
			set, err := newGTIDState(FlavorMySQL, e.GTIDSets)
			if err != nil {
				return nil, false, fmt.Errorf("binlog %s: PREVIOUS_GTIDS: %w", r.file, err)
			}
			r.gset = set
		}
		return ev, false, nil
	case *replication.MariadbGTIDListEvent:
		if r.cfg.GTIDMode && (r.forwardTo > 0 || r.gset == nil) {
			r.gset = fromGTIDList(e.GTIDs)
		}
		return ev, false, nil
	}
	if h.EventType == replication.HEARTBEAT_EVENT || h.EventType == replication.HEARTBEAT_LOG_EVENT_V2 {
		ev.Heartbeat = true
		return ev, r.forwardTo == 0 && r.skipTx == 0, nil
	}
	if h.LogPos > 0 && h.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 {
		r.nextPos = h.LogPos
	}

	// Transaction accounting.
	if r.tx == nil {
		if r.expectBoundary && r.forwardTo == 0 && !startsTx(be) && !isHousekeeping(be) {
			return nil, false, fmt.Errorf("start position %s:%d is not at a transaction boundary (found %s inside a transaction): start from the position of a transaction's first event, e.g. from `mysqlbinlog` or SHOW BINLOG EVENTS", ev.File, ev.Pos, h.EventType)
		}
		if startsTx(be) {
			r.expectBoundary = false
			r.beginTx(ev)
		} else {
			return ev, !r.forwarding(ev), nil
		}
	} else if q, ok := be.Event.(*replication.QueryEvent); ok && isBegin(q.Query) {
		r.txBegun = true
	}
	ev.Tx = r.tx
	r.txSeen++

	if endsTx(be, r.txBegun) {
		if r.tx.GTID != "" && r.gset != nil {
			if err := r.gset.Add(r.tx.GTID); err != nil {
				return nil, false, fmt.Errorf("binlog %s:%d: add GTID %s to %s: %w", ev.File, ev.Pos, r.tx.GTID, r.gset, err)
			}
		}
		end := Position{File: r.file, Pos: r.nextPos}
		if r.gset != nil {
			end.GTID = r.gset.String()
		}
		ev.End = &end
		r.tx = nil
		r.txBegun = false
	}

	// Not delivered: events before a fast-forward target, and the part of a transaction
	// that was delivered before a reconnection.
	if r.forwardTo > 0 {
		if r.forwarding(ev) {
			return ev, false, nil
		}
		if ev.Tx != nil && ev.Tx.Start.File == r.forwardFile && ev.Tx.Start.Pos < r.forwardTo {
			return nil, false, fmt.Errorf("start position %s:%d falls inside a transaction that starts at %d: start from a transaction boundary, e.g. file:%s:%d", r.forwardFile, r.forwardTo, ev.Tx.Start.Pos, r.forwardFile, ev.Tx.Start.Pos)
		}
		r.forwardTo = 0
	}
	if r.skipTx > 0 {
		r.skipTx--
		return ev, false, nil
	}
	return ev, true, nil
}

// forwarding reports whether ev lies before the fast-forward target.
func (r *Reader) forwarding(ev *Event) bool {
	return r.forwardTo > 0 && ev.File == r.forwardFile && ev.Pos < r.forwardTo
}

func (r *Reader) beginTx(ev *Event) {
	start := Position{File: r.file, Pos: ev.Pos}
	if r.gset != nil {
		start.GTID = r.gset.String()
	}
	tx := &Tx{Start: start}
	switch e := ev.Event.(type) {
	case *replication.GTIDEvent:
		if gtid := mysqlGTID(e); gtid != "" {
			tx.GTID = gtid
		}
	case *replication.GtidTaggedLogEvent:
		if gtid := mysqlGTID(&e.GTIDEvent); gtid != "" {
			tx.GTID = gtid
		}
	case *replication.MariadbGTIDEvent:
		tx.GTID = e.GTID.String()
		// A standalone GTID group is one statement (DDL); others are transactions
		// whose BEGIN is implied.
		r.txBegun = !e.IsStandalone()
	case *replication.QueryEvent:
		r.txBegun = isBegin(e.Query)
	}
	tx.ID = tx.GTID
	if tx.ID == "" {
		tx.ID = start.File + ":" + strconv.FormatUint(uint64(start.Pos), 10)
	}
	r.tx = tx
	r.txSeen = 0
}

// mysqlGTID formats a MySQL GTID event's id, empty for anonymous transactions.
func mysqlGTID(e *replication.GTIDEvent) string {
	if e.GNO == 0 {
		return ""
	}
	u, err := uuid.FromBytes(e.SID)
	if err != nil || u == uuid.Nil {
		return ""
	}
	s := u.String()
	if e.Tag != "" {
		s += ":" + e.Tag
	}
	return s + ":" + strconv.FormatInt(e.GNO, 10)
}

func startsTx(be *replication.BinlogEvent) bool {
	switch e := be.Event.(type) {
	case *replication.GTIDEvent, *replication.GtidTaggedLogEvent, *replication.MariadbGTIDEvent:
		return true
	case *replication.QueryEvent:
		// Without GTID events, a BEGIN or a statement of its own (DDL) starts one.
		return len(e.Query) > 0
	}
	return false
}

func endsTx(be *replication.BinlogEvent, begun bool) bool {
	switch e := be.Event.(type) {
	case *replication.XIDEvent:
		return true
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		if isBegin(e.Query) {
			return false
		}
		if strings.EqualFold(q, "COMMIT") || strings.EqualFold(q, "ROLLBACK") {
			return true
		}
		// A statement outside BEGIN ... COMMIT is a transaction of its own (DDL).
		return !begun
	}
	return be.Header.EventType == replication.XA_PREPARE_LOG_EVENT
}

func isHousekeeping(be *replication.BinlogEvent) bool {
	switch be.Header.EventType {
	case replication.MARIADB_BINLOG_CHECKPOINT_EVENT, replication.MARIADB_START_ENCRYPTION_EVENT,
		replication.STOP_EVENT, replication.IGNORABLE_EVENT, replication.MARIADB_ANNOTATE_ROWS_EVENT:
		return true
	}
	return false
}

func isBegin(q []byte) bool {
	s := strings.TrimSpace(string(q))
	return strings.EqualFold(s, "BEGIN") || strings.HasPrefix(strings.ToUpper(s), "XA START")
}

// SourceError is an error from the source that reconnecting will not mend.
type SourceError struct {
	Code    uint16
	Message string
	Fix     string
}

func (e *SourceError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("%s: %s", e.Message, e.Fix)
	}
	return fmt.Sprintf("the source refused to stream the binlog (error %d: %s): %s", e.Code, e.Message, e.Fix)
}

func eventType(h *replication.EventHeader) string {
	if h == nil {
		return "binlog"
	}
	return h.EventType.String()
}

// cause is the innermost error, without the stack traces go-mysql's errors carry.
func cause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

func isFatal(err error) bool {
	var se *SourceError
	return errors.As(err, &se)
}

// classify turns the source's refusals into SourceErrors that say what to do.
func (r *Reader) classify(err error) error {
	var pe *replication.EventError
	if errors.As(err, &pe) {
		// Decoding failed: reading the same bytes again fails again.
		where := ""
		if pe.Header != nil && pe.Header.LogPos >= pe.Header.EventSize {
			where = fmt.Sprintf(" at %s:%d", r.file, pe.Header.LogPos-pe.Header.EventSize)
		}
		return &SourceError{Message: fmt.Sprintf("cannot decode the %s event%s: %s", eventType(pe.Header), where, pe.Err),
			Fix: "if the event belongs to a table that need not be streamed, --exclude it; otherwise report this with the table's definition"}
	}
	var me *gomysql.MyError
	if !errors.As(err, &me) {
		return err
	}
	msg := me.Message
	lower := strings.ToLower(msg)
	switch {
	case me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG && strings.Contains(lower, "same server"):
		return &SourceError{me.Code, msg, fmt.Sprintf("--server-id %d is used by another replica of this source: give each daemon and replica its own id", r.cfg.ServerID)}
	case me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG:
		return &SourceError{me.Code, msg, "the binlog at the checkpoint or start position is no longer on the source (purged, or never there): " +
			"the changes since then can no longer be read. Either start afresh from the present (`strangler cdc run --reset-checkpoint --start latest`, accepting the gap, and re-snapshot the affected tables), " +
			"or point the daemon at a server that still has those binlogs. Keep binlogs longer than the longest daemon outage (binlog_expire_logs_seconds / expire_logs_days)"}
	case me.Code == gomysql.ER_ACCESS_DENIED_ERROR, me.Code == gomysql.ER_DBACCESS_DENIED_ERROR:
		return &SourceError{me.Code, msg, "check the user and password in --source"}
	case me.Code == gomysql.ER_SPECIFIC_ACCESS_DENIED_ERROR:
		return &SourceError{me.Code, msg, "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the daemon's user"}
	}
	return err
}
