package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
)

// PutRecordsAPI is the one Kinesis call the sink makes; *kinesis.Client has it.
type PutRecordsAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Sink delivers records to a Kinesis data stream (see the package documentation).
type Sink struct {
	api        PutRecordsAPI
	opts       Options
	acker      sink.Acker
	m          *metrics.Metrics
	log        *slog.Logger
	streamName *string
	streamARN  *string
	results    chan result
	wake       chan struct{} // Put and Close nudge Run

	mu           sync.Mutex
	p            *pending
	err          error // why the sink stopped; Put returns it
	closed       bool
	running      bool
	space        chan struct{} // closed (and replaced) when records leave the buffer or the sink stops
	acks         []uint64      // delivered, acknowledged by Run outside the lock, in order
	rate         *adaptiveRate
	dead         *deadLetterFile
	inFlightReqs int
	lastWarn     time.Time
	quietWarns   int
}

var _ sink.Sink = (*Sink)(nil)

// result is the outcome of one PutRecords request.
type result struct {
	batch []*entry
	out   *kinesis.PutRecordsOutput
	err   error
	took  time.Duration
}

// New returns a sink writing to opts.Stream through api. Give api a client whose own
// retries are off (kinesisclient.Options{MaxAttempts: 1}); the sink also switches the
// SDK's retryer off on each call, so that every retry is its own.
func New(api PutRecordsAPI, opts Options, acker sink.Acker, m *metrics.Metrics, log *slog.Logger) (*Sink, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if api == nil || acker == nil {
		return nil, errors.New("kinesis sink: a Kinesis client and an acker are required")
	}
	if m == nil {
		m = metrics.Discard()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		api: api, opts: o, acker: acker, m: m,
		log:     log.With("sink", "kinesis", "stream", o.Stream),
		results: make(chan result, o.MaxInFlight),
		wake:    make(chan struct{}, 1),
		p:       newPending(),
		space:   make(chan struct{}),
		rate:    newAdaptiveRate(o.MaxRequestRecords, o.MinRate, time.Now()),
	}
	s.streamName, s.streamARN = streamTarget(o.Stream)
	if o.Oversize == OversizeSkip {
		s.dead = &deadLetterFile{path: o.DeadLetterPath}
	}
	m.SinkRateLimit.Set(0)
	return s, nil
}

// streamTarget sends an ARN as both ARN and name: AWS accepts both, and servers without
// ARN support (kinesalite) need the name.
func streamTarget(stream string) (name, arn *string) {
	if strings.HasPrefix(stream, "arn:") {
		if i := strings.LastIndex(stream, "/"); i >= 0 && i < len(stream)-1 {
			return aws.String(stream[i+1:]), aws.String(stream)
		}
		return nil, aws.String(stream)
	}
	return aws.String(stream), nil
}

func streamName(stream string) string {
	if n, _ := streamTarget(stream); n != nil {
		return *n
	}
	return stream
}

// noSDKRetries switches the SDK's retryer off for one call, whatever the client was built with.
func noSDKRetries(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} }

// Put hands r to the sink, which owns it from then on. It blocks while the buffer is
// full, and returns the error that stopped the sink, if it has stopped.
func (s *Sink) Put(ctx context.Context, r *sink.Record) error {
	e := &entry{rec: r, size: r.Size(), putAt: time.Now()}
	if err := s.check(e); err != nil {
		s.mu.Lock()
		s.stopWith(err)
		s.mu.Unlock()
		s.kick()
		return err
	}
	s.mu.Lock()
	for {
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return err
		}
		if s.closed {
			s.mu.Unlock()
			return errors.New("kinesis sink: Put after Close")
		}
		if s.p.count == 0 || (s.p.count < s.opts.BufferRecords && s.p.bytes+int64(e.size) <= s.opts.BufferBytes) {
			break
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-space:
		}
		s.mu.Lock()
	}
	s.p.add(e)
	s.m.SinkInFlight.Set(float64(s.p.count))
	nudge := len(s.p.ready) == 1 || len(s.p.ready) >= s.opts.MaxRequestRecords || s.p.readyBytes >= s.opts.MaxRequestBytes
	s.mu.Unlock()
	if nudge {
		s.kick()
	}
	return nil
}

// check refuses records Kinesis would refuse, and marks oversize ones for the dead letters.
func (s *Sink) check(e *entry) error {
	r := e.rec
	switch n := utf8.RuneCountInString(r.PartitionKey); {
	case n == 0:
		return fmt.Errorf("kinesis sink: record of %s.%s (event %s) has an empty partition key, which Kinesis refuses", r.DB, r.Table, r.ID)
	case n > maxPartitionKeyChars:
		return fmt.Errorf("kinesis sink: record of %s.%s (event %s) has a partition key of %d characters; Kinesis allows %d", r.DB, r.Table, r.ID, n, maxPartitionKeyChars)
	}
	if e.size > s.opts.MaxRecordBytes {
		if s.opts.Oversize != OversizeSkip {
			return &OversizeError{DB: r.DB, Table: r.Table, Key: r.Key, ID: r.ID, Size: e.size, Limit: s.opts.MaxRecordBytes}
		}
		e.oversize = true
	}
	return nil
}

// Close says no more records come; Run returns nil once every record is acknowledged.
func (s *Sink) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.kick()
}

func (s *Sink) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stopWith records why the sink stops (the first reason wins) and releases blocked Puts.
func (s *Sink) stopWith(err error) {
	if s.err == nil {
		s.err = err
	}
	s.broadcastSpace()
}

func (s *Sink) broadcastSpace() {
	close(s.space)
	s.space = make(chan struct{})
}

// Run delivers records until the sink is closed and drained (nil), ctx ends (ctx.Err()),
// or delivery fails for good (a *DeliveryError, *OversizeError or dead-letter error).
func (s *Sink) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("kinesis sink: Run called twice")
	}
	s.running = true
	s.mu.Unlock()

	reqCtx, cancelReqs := context.WithCancel(ctx)
	defer cancelReqs()
	var wg sync.WaitGroup
	// stop ends the requests in flight (their records stay unacknowledged) and waits for them.
	stop := func() {
		cancelReqs()
		wg.Wait()
		s.mu.Lock()
		if err := s.dead.close(); err != nil {
			s.log.Warn("closing the dead-letter file", "error", err)
		}
		s.m.SinkInFlight.Set(float64(s.p.count))
		s.mu.Unlock()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return s.cancelled(ctx, stop)
		}
		s.mu.Lock()
		now := time.Now()
		var next time.Time
		if s.err == nil && !(s.closed && s.p.count == 0) {
			next = s.dispatch(reqCtx, now, &wg)
		}
		// After dispatch: dead letters may have been the last records.
		finished := s.closed && s.p.count == 0
		acks := s.takeAcks()
		err := s.err
		s.mu.Unlock()
		for _, seq := range acks {
			s.acker.Ack(seq)
		}
		if err != nil {
			stop()
			return err // the caller logs it: it says what failed and what to do
		}
		if finished {
			stop()
			return nil
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(0, next.Sub(now)))
		}
		select {
		case <-ctx.Done():
			return s.cancelled(ctx, stop)
		case res := <-s.results:
			s.mu.Lock()
			s.handle(reqCtx, res, time.Now())
			s.mu.Unlock()
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// cancelled stops the sink because ctx ended, still acknowledging what was delivered.
func (s *Sink) cancelled(ctx context.Context, stop func()) error {
	s.mu.Lock()
	s.stopWith(fmt.Errorf("kinesis sink stopped: %w", ctx.Err()))
	acks := s.takeAcks()
	s.mu.Unlock()
	for _, seq := range acks {
		s.acker.Ack(seq)
	}
	stop()
	return ctx.Err()
}

// takeAcks hands over the records delivered since the last call and frees their space.
func (s *Sink) takeAcks() []uint64 {
	if len(s.acks) == 0 {
		return nil
	}
	acks := s.acks
	s.acks = nil
	s.m.SinkInFlight.Set(float64(s.p.count))
	s.broadcastSpace()
	return acks
}

// dispatch sends what may be sent now and returns when to look again (zero: on the
// next event).
func (s *Sink) dispatch(ctx context.Context, now time.Time, wg *sync.WaitGroup) time.Time {
	next := s.p.wake(now)
	for s.inFlightReqs < s.opts.MaxInFlight && len(s.p.ready) > 0 {
		full := len(s.p.ready) >= s.opts.MaxRequestRecords || s.p.readyBytes >= s.opts.MaxRequestBytes
		if !full && !s.closed && s.opts.Linger > 0 {
			if due := s.p.oldestReady().putAt.Add(s.opts.Linger); due.After(now) {
				return earliest(next, due)
			}
		}
		n, at := s.rate.allowance(now, min(len(s.p.ready), s.opts.MaxRequestRecords))
		if n == 0 {
			return earliest(next, at)
		}
		batch := s.takeBatch(n)
		if s.err != nil {
			return time.Time{}
		}
		if len(batch) == 0 {
			continue // only dead letters
		}
		s.rate.took(now, len(batch))
		s.send(ctx, batch, wg)
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// takeBatch takes up to n of the oldest ready heads, within the request's byte limit.
// Oversize heads (OversizeSkip) go to the dead-letter file here, in their key's order.
func (s *Sink) takeBatch(n int) []*entry {
	var batch []*entry
	bytes := 0
	for len(batch) < n && len(s.p.ready) > 0 {
		k := s.p.popReady()
		e := k.head()
		if e.oversize {
			if err := s.dead.write(s.opts.Stream, e.rec, s.opts.MaxRecordBytes); err != nil {
				s.p.pushReady(k)
				s.stopWith(fmt.Errorf("kinesis sink: %w: the record of %s.%s key %s (%d bytes, over the limit) is not acknowledged",
					err, e.rec.DB, e.rec.Table, e.rec.Key, e.size))
				return nil
			}
			s.m.DeadLetters.WithLabelValues(e.rec.DB, e.rec.Table).Inc()
			s.log.Warn("record over the Kinesis record limit written to the dead-letter file",
				"db", e.rec.DB, "table", e.rec.Table, "key", e.rec.Key, "id", e.rec.ID, "size", e.size,
				"limit", s.opts.MaxRecordBytes, "file", s.opts.DeadLetterPath)
			s.p.done(k)
			s.acks = append(s.acks, e.rec.Seq)
			continue
		}
		if bytes+e.size > s.opts.MaxRequestBytes {
			s.p.pushReady(k) // first in the next request
			break
		}
		k.inFlight = true
		batch = append(batch, e)
		bytes += e.size
	}
	return batch
}

// send makes one PutRecords request in its own goroutine; the result comes back to Run.
func (s *Sink) send(ctx context.Context, batch []*entry, wg *sync.WaitGroup) {
	s.inFlightReqs++
	wg.Add(1)
	go func() {
		defer wg.Done()
		recs := make([]types.PutRecordsRequestEntry, len(batch))
		for i, e := range batch {
			data := e.rec.Data
			if data == nil {
				data = []byte{}
			}
			recs[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(e.rec.PartitionKey)}
			if e.rec.ExplicitHashKey != "" {
				recs[i].ExplicitHashKey = aws.String(e.rec.ExplicitHashKey)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		start := time.Now()
		out, err := s.api.PutRecords(rctx, &kinesis.PutRecordsInput{StreamName: s.streamName, StreamARN: s.streamARN, Records: recs}, noSDKRetries)
		took := time.Since(start)
		cancel()
		s.results <- result{batch: batch, out: out, err: err, took: took}
	}()
}

// handle acknowledges what a request delivered and schedules the rest again.
func (s *Sink) handle(ctx context.Context, res result, now time.Time) {
	s.inFlightReqs--
	s.m.SinkLatency.Observe(res.took.Seconds())
	if res.err != nil {
		if isCanceled(ctx, res.err) {
			return // stopping: the records stay unacknowledged
		}
		class, code := classifyRequest(res.err)
		reason := "transient"
		switch class {
		case classFatal:
			s.stopWith(fatalError(s.opts.Stream, code, res.err, s.p.count))
			return
		case classThrottled:
			reason = "throttled"
			s.m.SinkThrottles.Inc()
			s.throttled(now)
		}
		s.warn(now, "PutRecords failed; retrying its records", "records", len(res.batch), "reason", reason, "error", res.err)
		for _, e := range res.batch {
			s.retry(e, reason, code, res.err, now)
		}
		return
	}
	if len(res.out.Records) != len(res.batch) {
		err := fmt.Errorf("PutRecords answered %d entries for %d records", len(res.out.Records), len(res.batch))
		s.warn(now, "malformed PutRecords answer; retrying its records", "error", err)
		for _, e := range res.batch {
			s.retry(e, "transient", "", err, now)
		}
		return
	}
	throttled, failed := false, 0
	var fatal *DeliveryError
	for i, r := range res.out.Records {
		e := res.batch[i]
		code := aws.ToString(r.ErrorCode)
		if code == "" {
			s.delivered(e)
			continue
		}
		failed++
		err := fmt.Errorf("%s: %s", code, aws.ToString(r.ErrorMessage))
		switch classifyEntry(code) {
		case classThrottled:
			throttled = true
			s.m.SinkThrottles.Inc()
			s.retry(e, "throttled", code, err, now)
		case classFatal:
			s.p.keys[e.rec.PartitionKey].inFlight = false
			if fatal == nil {
				fatal = fatalError(s.opts.Stream, code, err, 0)
			}
		default:
			s.retry(e, "failed_entry", code, err, now)
		}
	}
	if fatal != nil {
		fatal.Undelivered = s.p.count
		s.stopWith(fatal)
		return
	}
	if failed > 0 {
		s.warn(now, "PutRecords failed some entries; retrying them", "failed", failed, "records", len(res.batch), "throttled", throttled)
	}
	if throttled {
		s.throttled(now)
	} else if s.rate.succeeded(now) {
		s.m.SinkRateLimit.Set(s.rate.limit())
	}
}

func (s *Sink) delivered(e *entry) {
	s.p.done(s.p.keys[e.rec.PartitionKey])
	s.acks = append(s.acks, e.rec.Seq)
	s.m.SinkRecords.Inc()
	s.m.SinkBytes.Add(float64(e.size))
}

// retry parks a failed record for a backoff, or gives up after MaxRetryTime.
func (s *Sink) retry(e *entry, reason, code string, err error, now time.Time) {
	k := s.p.keys[e.rec.PartitionKey]
	if e.firstFail.IsZero() {
		e.firstFail = now
	}
	e.attempts++
	e.lastErr, e.lastCode = err, code
	if s.opts.MaxRetryTime > 0 && now.Sub(e.firstFail) >= s.opts.MaxRetryTime {
		k.inFlight = false
		s.stopWith(giveUpError(s.opts.Stream, e, s.opts.MaxRetryTime, s.p.count))
		return
	}
	s.m.SinkRetries.WithLabelValues(reason).Inc()
	s.p.backOff(k, now.Add(s.backoff(e.attempts)))
}

// backoff is exponential with full jitter: a random wait up to min(max, base*2^(n-1)).
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.opts.RetryMaxDelay
	if shift := attempt - 1; shift < 30 {
		d = min(d, s.opts.RetryBaseDelay<<shift)
	}
	return rand.N(d + 1)
}

func (s *Sink) throttled(now time.Time) {
	if s.rate.throttled(now) {
		s.m.SinkRateLimit.Set(s.rate.limit())
		s.log.Info("Kinesis throttles: send rate limited", "records_per_sec", int(s.rate.limit()))
	}
}

// warn logs at most one warning every 10 s (counting the others); each is also a debug line.
func (s *Sink) warn(now time.Time, msg string, args ...any) {
	s.log.Debug(msg, args...)
	if now.Sub(s.lastWarn) < 10*time.Second {
		s.quietWarns++
		return
	}
	if s.quietWarns > 0 {
		args = append(args, "similar_warnings_not_logged", s.quietWarns)
	}
	s.log.Warn(msg, args...)
	s.lastWarn, s.quietWarns = now, 0
}
