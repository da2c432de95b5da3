package dualwrite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/outbox"
)

// TestOutboxRelayPublishesExactlyTheCommittedWrites: concurrent legacy writes, a fifth of
// them failing, with the relay publishing meanwhile: the stream holds exactly the
// committed writes, each aggregate's in commit order, and the outbox ends empty.
func TestOutboxRelayPublishesExactlyTheCommittedWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withStream(2)
	w := f.writer(dualwrite.Config{})
	stop := f.startRelay(outbox.RelayConfig{Batch: 7})

	writeConcurrently(t, w, 8, 20, 5, func(i int) bool { return i%5 == 3 })
	waitFor(t, 90*time.Second, "the relay to drain the outbox", func() bool { return f.outboxRows() == 0 })
	require.NoError(t, stop())

	committed := f.committed()
	require.Len(t, committed, 8*16)
	evs := f.readAll()
	v := checkStream(t, committed, evs)
	require.Len(t, v.delivered, len(committed))
	require.Empty(t, v.compensated)
	for _, s := range evs {
		require.Equal(t, event.ViaRelay, s.src.Via)
		require.Equal(t, prefix+"outbox", s.src.Table)
		require.NotZero(t, s.src.OutboxSeq)
		require.Equal(t, "t-"+s.ev.ID, s.ev.Headers["trace-id"])
		require.False(t, s.ev.OccurredAt.IsZero())
	}
}

// TestRelayDoesNotSkipLateCommits: a transaction that inserted its outbox row first (lower
// seq) but commits last is still published (watermill #311's gap); with LockAggregates,
// two transactions of one aggregate are serialised and numbered in commit order.
func TestRelayDoesNotSkipLateCommits(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withStream(1)
	w := f.writer(dualwrite.Config{LockAggregates: true})
	stop := f.startRelay(outbox.RelayConfig{})
	ctx := context.Background()

	// T1 takes the lower seq and stays open.
	slow, err := f.db.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = slow.ExecContext(ctx, "INSERT INTO items (id, aggregate, n) VALUES ('slow', 'x', 1)")
	require.NoError(t, err)
	u, err := w.Enlist(ctx, slow, dualwrite.Event{ID: "slow", Type: "ItemAdded", AggregateType: "item", AggregateID: "x", Payload: []byte(`{"n":1}`)})
	require.NoError(t, err)

	// T2, another aggregate, commits and is published while T1 is open.
	require.NoError(t, w.Do(ctx, writeItem("fast", "y", false)))
	waitFor(t, 60*time.Second, "the later transaction's event", func() bool { return len(f.readAll()) == 1 })

	// T3, the same aggregate as T1, waits for T1's aggregate lock.
	t3 := make(chan error, 1)
	go func() {
		t3 <- w.Do(ctx, func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, aggregate, n) VALUES ('after', 'x', 2)"); err != nil {
				return nil, err
			}
			return []dualwrite.Event{{ID: "after", Type: "ItemAdded", AggregateType: "item", AggregateID: "x", Payload: []byte(`{"n":2}`)}}, nil
		})
	}()
	select {
	case err := <-t3:
		t.Fatalf("T3 committed while T1 held the aggregate: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, slow.Commit())
	require.NoError(t, u.Finish(ctx, nil))
	require.NoError(t, <-t3)

	waitFor(t, 60*time.Second, "every event", func() bool { return len(f.readAll()) == 3 })
	require.NoError(t, stop())
	evs := f.readAll()
	checkStream(t, f.committed(), evs)
	seqs := map[string]uint64{}
	for _, s := range evs {
		seqs[s.ev.ID] = s.ev.Sequence
	}
	require.Equal(t, map[string]uint64{"slow": 1, "after": 2, "fast": 1}, seqs, "per-aggregate numbers follow commit order")
}

// TestRelaysShareTheOutbox: three relays on one outbox, the publishing one stopped twice
// while writes go on: one publishes at a time, and the stream still holds every committed
// write in per-aggregate order.
func TestRelaysShareTheOutbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withStream(2)
	w := f.writer(dualwrite.Config{})
	type relay struct {
		stop func() error
		m    *outbox.RelayMetrics
	}
	var relays []relay
	for i := 0; i < 3; i++ {
		m := outbox.DiscardRelayMetrics()
		relays = append(relays, relay{stop: f.startRelay(outbox.RelayConfig{Metrics: m, Batch: 5}), m: m})
	}
	leader := func() int {
		n, who := 0, -1
		for i, r := range relays {
			if gauge(t, r.m.Leader) == 1 {
				n++
				who = i
			}
		}
		require.LessOrEqual(t, n, 1, "two relays publish at once")
		return who
	}
	// Four writers, 40 writes each over 12 aggregates; the publishing relay is stopped
	// after a third and after two thirds of the writes.
	var written atomic.Int64
	writeErrs := make(chan error, 4)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if err := w.Do(context.Background(), writeItem(fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("a%d", (g*40+i)%12), false)); err != nil {
					writeErrs <- err
					return
				}
				written.Add(1)
			}
		}()
	}
	stopped := map[int]bool{}
	for k := 1; k <= 2; k++ {
		waitFor(t, 60*time.Second, "writes to progress", func() bool { return written.Load() >= int64(k*160/3) })
		var who int
		waitFor(t, 60*time.Second, "a leader", func() bool { who = leader(); return who >= 0 && !stopped[who] })
		require.NoError(t, relays[who].stop())
		stopped[who] = true
	}
	wg.Wait()
	close(writeErrs)
	for err := range writeErrs {
		require.NoError(t, err)
	}
	waitFor(t, 90*time.Second, "the last relay to drain the outbox", func() bool { return f.outboxRows() == 0 })
	for _, r := range relays {
		require.NoError(t, r.stop())
	}
	committed := f.committed()
	require.Len(t, committed, 160)
	checkStream(t, committed, f.readAll())
}

// TestOutboxFailedWritesEmitNothing: a failing function, a duplicate key and a deadlock in
// the legacy write roll everything back, the outbox rows included; with DeadlockRetries
// the deadlock victim runs again and commits.
func TestOutboxFailedWritesEmitNothing(t *testing.T) {
	t.Parallel()
	for _, retries := range []int{0, 3} {
		t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			w := f.writer(dualwrite.Config{DeadlockRetries: retries})
			ctx := context.Background()
			f.db.Exec(t, "INSERT INTO counters VALUES ('p', 0), ('q', 0)")

			require.ErrorContains(t, w.Do(ctx, writeItem("boom", "a", true)), "the legacy write of boom failed")
			require.NoError(t, w.Do(ctx, writeItem("dup", "a", false)))
			err := w.Do(ctx, writeItem("dup", "b", false))
			var me *mysql.MySQLError
			require.ErrorAs(t, err, &me)
			require.EqualValues(t, 1062, me.Number, "duplicate key")

			// Two writes lock p and q in opposite orders: InnoDB kills one.
			deadlocks := runDeadlock(t, w)
			committed := f.committed()
			if retries == 0 {
				require.Equal(t, 1, deadlocks, "one victim")
				require.Len(t, committed, 2)
			} else {
				require.Zero(t, deadlocks, "the victim ran again")
				require.Len(t, committed, 3)
			}
			// The outbox holds exactly the committed writes' events.
			rows, err := f.db.DB.Query("SELECT id FROM " + prefix + "outbox ORDER BY seq")
			require.NoError(t, err)
			defer rows.Close()
			var got []string
			for rows.Next() {
				var id string
				require.NoError(t, rows.Scan(&id))
				got = append(got, id)
			}
			want := []string{}
			for _, it := range committed {
				want = append(want, it.ID)
			}
			require.ElementsMatch(t, want, got)
		})
	}
}

// TestOutboxCDCDeliveryKeepsTheTableEmpty: with CDC delivery each row is deleted in the
// transaction that inserted it, single and multi-event units alike.
func TestOutboxCDCDeliveryKeepsTheTableEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.writer(dualwrite.Config{Delivery: outbox.DeliveryCDC})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		require.NoError(t, w.Do(ctx, writeItem(fmt.Sprintf("i%d", i), "a", false)))
	}
	require.NoError(t, w.Do(ctx, func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
		var evs []dualwrite.Event
		for i := 0; i < 6; i++ { // more than the prepared statements cover
			evs = append(evs, dualwrite.Event{Type: "Many", AggregateType: "m", AggregateID: fmt.Sprint(i % 2), Payload: []byte(`{}`)})
		}
		return evs, nil
	}))
	require.Zero(t, f.outboxRows())
	require.Equal(t, 5, f.count("SELECT COUNT(*) FROM items"))
}

// TestEnlistAnExistingTransaction: an application (an ORM) opens and commits the
// transaction itself; Enlist writes the events in it. A rolled-back transaction leaves
// nothing. Bad events are refused with the field at fault.
func TestEnlistAnExistingTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.writer(dualwrite.Config{})
	ctx := context.Background()
	for _, commit := range []bool{true, false} {
		tx, err := f.db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		id := fmt.Sprintf("enlisted-%v", commit)
		_, err = tx.ExecContext(ctx, "INSERT INTO items VALUES (?, 'e', 1)", id)
		require.NoError(t, err)
		u, err := w.Enlist(ctx, tx, dualwrite.Event{ID: id, Type: "ItemAdded", AggregateType: "item", AggregateID: "e", Payload: []byte(`{"n":1}`)})
		require.NoError(t, err)
		var txErr error
		if commit {
			txErr = tx.Commit()
		} else {
			require.NoError(t, tx.Rollback())
			txErr = errors.New("rolled back")
		}
		err = u.Finish(ctx, txErr)
		if commit {
			require.NoError(t, err)
		} else {
			require.Error(t, err)
		}
	}
	// A transaction of another pool on the same database (an ORM's own *sql.DB).
	other := openDB(t, f.db.Addr)
	otx, err := other.BeginTx(ctx, nil)
	require.NoError(t, err)
	u, err := w.Enlist(ctx, otx, dualwrite.Event{ID: "other-pool", Type: "T", AggregateType: "item", AggregateID: "e", Payload: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, u.Finish(ctx, otx.Commit()))

	require.Equal(t, 2, f.outboxRows())
	require.Equal(t, 1, f.count("SELECT COUNT(*) FROM "+prefix+"outbox WHERE id = 'enlisted-true'"))
	require.Equal(t, 1, f.count("SELECT COUNT(*) FROM "+prefix+"outbox WHERE id = 'other-pool'"))

	tx, err := f.db.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	for _, tc := range []struct {
		ev   dualwrite.Event
		want string
	}{
		{dualwrite.Event{AggregateType: "a", AggregateID: "1"}, "Type is empty"},
		{dualwrite.Event{Type: "T", AggregateID: "1"}, "AggregateType is empty"},
		{dualwrite.Event{Type: "T", AggregateType: "a", AggregateID: "1", Payload: []byte("{nope")}, "Payload is not valid JSON"},
		{dualwrite.Event{Type: "T", AggregateType: "a", AggregateID: "1", Compensates: "x"}, "compensating events are made by the writer"},
	} {
		_, err := w.Enlist(ctx, tx, tc.ev)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestWriterConfigurationErrors: misconfigurations are refused with their fix.
func TestWriterConfigurationErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		cfg  dualwrite.Config
		want string
	}{
		{dualwrite.Config{Mode: "sideways"}, `mode "sideways"`},
		{dualwrite.Config{Mode: dualwrite.ModeMirror}, "mirror mode needs a Target"},
		{dualwrite.Config{Mode: dualwrite.ModeShadow}, "shadow mode needs a Target"},
		{dualwrite.Config{TablePrefix: "x-"}, "table prefix"},
		{dualwrite.Config{TablePrefix: "missing_"}, "strangler migrate up"},
		{dualwrite.Config{Delivery: "carrier-pigeon"}, "outbox delivery"},
	} {
		_, err := dualwrite.New(ctx, f.db.DB, tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
}
