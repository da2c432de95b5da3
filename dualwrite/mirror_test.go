package dualwrite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/mirror"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/testenv"
)

// journal returns the mirror journal's entries as unit state -> count.
func (f *fixture) journal() map[string]int {
	rows, err := f.db.DB.Query("SELECT state, COUNT(*) FROM " + prefix + "mirror_journal GROUP BY state")
	require.NoError(f.t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(f.t, rows.Scan(&s, &n))
		out[s] = n
	}
	return out
}

// recoverAll runs recovery passes until no entry is pending.
func (f *fixture) recoverAll(tgt mirror.Target) mirror.Report {
	r, err := mirror.NewRecoverer(context.Background(), mirror.RecoveryConfig{DB: f.db.DB, TablePrefix: prefix, Target: tgt, Grace: time.Millisecond, Logger: testLogger(f.t)})
	require.NoError(f.t, err)
	var total mirror.Report
	waitFor(f.t, 60*time.Second, "recovery to resolve every entry", func() bool {
		rep, err := r.RecoverOnce(context.Background())
		require.NoError(f.t, err)
		total.Finished += rep.Finished
		total.Compensated += rep.Compensated
		total.Failed += rep.Failed
		j := f.journal()
		return j["pending"] == 0 && j["compensating"] == 0
	})
	return total
}

// TestMirrorToKinesis: concurrent mirrored writes, some failing in the legacy write
// (error, duplicate key): the stream holds exactly the committed ones, in per-aggregate
// order, and the journal ends empty (nothing was journaled for the failed ones).
func TestMirrorToKinesis(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withStream(2)
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: f.kinesisTarget(f.endpoint)})
	writeConcurrently(t, w, 6, 10, 4, func(i int) bool { return i%4 == 1 })
	// A duplicate key fails in the legacy write, before anything is journaled.
	err := w.Do(context.Background(), writeItem("g0-0", "a0", false))
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	require.EqualValues(t, 1062, me.Number)
	committed := f.committed()
	require.Len(t, committed, 6*7)
	v := checkStream(t, committed, f.readAll())
	require.Empty(t, v.compensated)
	require.Zero(t, v.duplicates)
	require.Empty(t, f.journal(), "finished units leave no journal entry")
}

// newService is a test double of the new service's HTTP API: it records applied events
// by idempotency key and undoes them; fail makes it answer 500 for an event id.
type newService struct {
	mu      sync.Mutex
	applied map[string]event.Event // by Idempotency-Key
	order   []string
	undone  map[string]string // event id -> Idempotency-Key of the undo
	fail    map[string]bool
	srv     *httptest.Server
}

func startNewService(t *testing.T) *newService {
	s := &newService{applied: map[string]event.Event{}, undone: map[string]string{}, fail: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		key := r.Header.Get("Idempotency-Key")
		switch r.Method {
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			ev, _, err := event.Unmarshal(body)
			if err != nil || key != ev.ID {
				http.Error(w, "bad event or key", http.StatusBadRequest)
				return
			}
			if s.fail[ev.ID] {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			if _, dup := s.applied[key]; !dup {
				s.order = append(s.order, key)
			}
			s.applied[key] = ev
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			id := strings.TrimPrefix(r.URL.Path, "/events/")
			if key != event.CompensationID(id) {
				http.Error(w, "bad key", http.StatusBadRequest)
				return
			}
			s.undone[id] = key
			if _, ok := s.applied[id]; !ok {
				w.WriteHeader(http.StatusNotFound) // never applied: the undo still succeeds
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *newService) url() string { return s.srv.URL + "/events" }

func (s *newService) snapshot() (applied []string, undone map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := map[string]string{}
	for k, v := range s.undone {
		u[k] = v
	}
	return append([]string(nil), s.order...), u
}

// TestMirrorToHTTP: events reach the new service with the event id as Idempotency-Key; a
// write the service answers 500 for is rolled back and undone (DELETE with the
// compensation's key); a refused connection (service down) rolls back with nothing to undo.
func TestMirrorToHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	svc := startNewService(t)
	svc.fail["bad"] = true
	tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.url()})
	require.NoError(t, err)
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: tgt})
	ctx := context.Background()

	require.NoError(t, w.Do(ctx, writeItem("one", "a", false)))
	require.Error(t, w.Do(ctx, writeItem("nope", "a", true)))
	err = w.Do(ctx, writeItem("bad", "a", false))
	require.ErrorIs(t, err, dualwrite.ErrNotCommitted)
	require.NotErrorIs(t, err, dualwrite.ErrCompensationPending)
	require.NoError(t, w.Do(ctx, writeItem("two", "a", false)))

	applied, undone := svc.snapshot()
	require.Equal(t, []string{"one", "two"}, applied)
	require.Equal(t, map[string]string{"bad": event.CompensationID("bad")}, undone, "the 500 may have applied it: undone")
	require.Equal(t, []item{{"one", "a", 1}, {"two", "a", 2}}, f.committed(), "the failed writes rolled their counter back")
	require.Equal(t, map[string]int{"compensated": 1}, f.journal())

	// The service is down: the connection is refused, so nothing was applied and
	// nothing needs undoing.
	down, err := target.NewHTTP(target.HTTPOptions{URL: "http://" + closedAddr(t) + "/events"})
	require.NoError(t, err)
	wd := f.writer(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: down})
	err = wd.Do(ctx, writeItem("offline", "b", false))
	require.ErrorIs(t, err, dualwrite.ErrNotCommitted)
	require.True(t, target.NotApplied(err))
	require.Equal(t, 0, f.count("SELECT COUNT(*) FROM items WHERE id = 'offline'"))
	require.Equal(t, map[string]int{"compensated": 1}, f.journal(), "an unapplied unit leaves no entry")
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// TestMirrorKinesisDownThenBack: with the stream failing every request, the unit cannot
// be acknowledged in time: the legacy write rolls back and its compensation stays
// pending. Once the stream is back, the sink delivers the event and its compensation, in
// that order, and recovery records the compensation.
func TestMirrorKinesisDownThenBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withStream(1)
	proxy := testenv.NewKinesisFaultProxy(t, f.endpoint)
	proxy.SetFaults(testenv.KinesisFaults{FailAllCode: "ServiceUnavailable"})
	tgt := f.kinesisTarget(proxy.URL())
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: tgt, MirrorTimeout: 500 * time.Millisecond, CompensationTimeout: 500 * time.Millisecond})

	err := w.Do(context.Background(), writeItem("lost", "a", false))
	require.ErrorIs(t, err, dualwrite.ErrNotCommitted)
	require.ErrorIs(t, err, dualwrite.ErrCompensationPending)
	require.Empty(t, f.committed())
	require.Equal(t, map[string]int{"compensating": 1}, f.journal())

	proxy.SetFaults(testenv.KinesisFaults{})
	rep := f.recoverAll(tgt)
	require.Equal(t, 1, rep.Compensated)
	require.Equal(t, map[string]int{"compensated": 1}, f.journal())
	var evs []streamed
	waitFor(t, 60*time.Second, "the held event and its compensation", func() bool {
		evs = f.readAll()
		return len(evs) >= 2
	})
	v := checkStream(t, nil, evs)
	require.True(t, v.compensated["lost"])
	require.Equal(t, "lost", evs[0].ev.ID, "the event comes first on its shard, its compensation after")
	require.Equal(t, "lost", evs[1].ev.Compensates)
}

// TestMirrorConnectionLostAtCommit: the legacy connection breaks at COMMIT. Cut before
// the server sees it, the transaction rolls back: the unit is compensated and Do says
// ErrNotCommitted. Cut after the server committed (the answer is lost), the unit reads
// its journal entry, finds it committed and returns nil, with no compensation.
func TestMirrorConnectionLostAtCommit(t *testing.T) {
	t.Parallel()
	t.Run("before the server commits", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t).withStream(1)
		proxy := testenv.NewTCPProxy(t, f.serverAddr())
		db := openDB(t, f.addrThrough(proxy.Addr()))
		w, err := dualwrite.New(context.Background(), db, dualwrite.Config{Mode: dualwrite.ModeMirror, TablePrefix: prefix, Target: f.kinesisTarget(f.endpoint),
			Logger: testLogger(t), TestHook: func(ctx context.Context, point string) error {
				if point == dualwrite.PointBeforeCommit {
					proxy.Cut()
				}
				return nil
			}})
		require.NoError(t, err)
		err = w.Do(context.Background(), writeItem("cut", "a", false))
		require.ErrorIs(t, err, dualwrite.ErrNotCommitted)
		require.NotErrorIs(t, err, dualwrite.ErrCompensationPending)
		require.Empty(t, f.committed())
		require.Equal(t, map[string]int{"compensated": 1}, f.journal())
		v := checkStream(t, nil, f.readAll())
		require.True(t, v.compensated["cut"])
	})
	t.Run("after the server commits", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t).withStream(1)
		proxy := testenv.NewMySQLCommitProxy(t, f.serverAddr())
		db := openDB(t, f.addrThrough(proxy.Addr()))
		w, err := dualwrite.New(context.Background(), db, dualwrite.Config{Mode: dualwrite.ModeMirror, TablePrefix: prefix, Target: f.kinesisTarget(f.endpoint),
			Logger: testLogger(t), TestHook: func(ctx context.Context, point string) error {
				if point == dualwrite.PointBeforeCommit {
					proxy.ArmCommitCut()
				}
				return nil
			}})
		require.NoError(t, err)
		require.NoError(t, w.Do(context.Background(), writeItem("kept", "a", false)), "the commit went through: Do must say so")
		require.Equal(t, 1, proxy.CommitsCut())
		require.Equal(t, []item{{"kept", "a", 1}}, f.committed())
		require.Empty(t, f.journal())
		v := checkStream(t, f.committed(), f.readAll())
		require.Empty(t, v.compensated)
	})
}

// TestMirrorEnlistedTransaction: an application's own transaction mirrors through
// Enlist; recovery leaves a unit whose transaction is still open alone (its journal row
// is locked) even past the grace period; a rollback after Enlist is settled by Finish
// from the journal and compensated.
func TestMirrorEnlistedTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	svc := startNewService(t)
	tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.url()})
	require.NoError(t, err)
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: tgt})
	ctx := context.Background()
	r, err := mirror.NewRecoverer(ctx, mirror.RecoveryConfig{DB: f.db.DB, TablePrefix: prefix, Target: tgt, Grace: time.Millisecond})
	require.NoError(t, err)

	for _, commit := range []bool{true, false} {
		id := fmt.Sprintf("own-%v", commit)
		tx, err := f.db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "INSERT INTO items VALUES (?, 'o', 1)", id)
		require.NoError(t, err)
		u, err := w.Enlist(ctx, tx, dualwrite.Event{ID: id, Type: "ItemAdded", AggregateType: "item", AggregateID: "o", Payload: []byte(`{"n":1}`)})
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		rep, err := r.RecoverOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, mirror.Report{Skipped: 1}, rep, "the open transaction's entry is locked: recovery skips it")
		var txErr error
		if commit {
			txErr = tx.Commit()
		} else {
			require.NoError(t, tx.Rollback())
			txErr = sql.ErrTxDone
		}
		err = u.Finish(ctx, txErr)
		if commit {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, dualwrite.ErrNotCommitted)
		}
	}
	applied, undone := svc.snapshot()
	require.Equal(t, []string{"own-true", "own-false"}, applied)
	require.Equal(t, map[string]string{"own-false": event.CompensationID("own-false")}, undone)
	require.Equal(t, map[string]int{"compensated": 1}, f.journal())
}

// TestFailedLegacyWritesMirrorNothing: in mirror and shadow modes, a deadlock victim and
// a duplicate key send nothing to the target; with DeadlockRetries the victim runs again.
func TestFailedLegacyWritesMirrorNothing(t *testing.T) {
	t.Parallel()
	for _, mode := range []dualwrite.Mode{dualwrite.ModeMirror, dualwrite.ModeShadow} {
		for _, retries := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/retries=%d", mode, retries), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				svc := startNewService(t)
				tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.url()})
				require.NoError(t, err)
				w := f.writer(dualwrite.Config{Mode: mode, Target: tgt, DeadlockRetries: retries})
				ctx := context.Background()
				f.db.Exec(t, "INSERT INTO counters VALUES ('p', 0), ('q', 0)")
				require.NoError(t, w.Do(ctx, writeItem("first", "a", false)))
				var me *mysql.MySQLError
				require.ErrorAs(t, w.Do(ctx, writeItem("first", "b", false)), &me)
				require.EqualValues(t, 1062, me.Number)

				victims := runDeadlock(t, w)
				if retries == 0 {
					require.Equal(t, 1, victims)
				} else {
					require.Zero(t, victims)
				}
				require.NoError(t, w.Close(ctx)) // shadow: drain
				var want []string
				for _, it := range f.committed() {
					want = append(want, it.ID)
				}
				applied, undone := svc.snapshot()
				require.ElementsMatch(t, want, applied)
				require.Empty(t, undone)
				require.Empty(t, f.journal())
			})
		}
	}
}
