package journal_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/internal/testenv"
)

func store(t *testing.T) (*journal.Store, *sql.DB) {
	t.Helper()
	db := sagatest.Database(t)
	s, err := journal.New(db.DB, sagatest.Prefix)
	require.NoError(t, err)
	require.NoError(t, s.Check(context.Background()))
	return s, db.DB
}

func enter(t *testing.T, s *journal.Store, db *sql.DB, saga, step string, op journal.Op, repeatable bool) journal.Decision {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	d, err := s.Enter(context.Background(), tx, saga, step, op, repeatable)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return d
}

func TestBarrier(t *testing.T) {
	t.Parallel()
	s, db := store(t)
	A, C := journal.OpAction, journal.OpCompensation
	for _, tc := range []struct {
		name       string
		repeatable bool
		ops        []journal.Op
		want       []journal.Decision
	}{
		{"action then compensation", false, []journal.Op{A, C}, []journal.Decision{journal.Run, journal.Run}},
		{"duplicates are skipped", false, []journal.Op{A, A, C, C}, []journal.Decision{journal.Run, journal.SkipDuplicate, journal.Run, journal.SkipDuplicate}},
		{"null compensation, then hanging action", false, []journal.Op{C, A, C}, []journal.Decision{journal.SkipNull, journal.SkipHanging, journal.SkipNull}},
		{"repeatable: retries pass", true, []journal.Op{A, A, C, C}, []journal.Decision{journal.Run, journal.Run, journal.Run, journal.Run}},
		{"repeatable: null and hanging still hold", true, []journal.Op{C, A, C}, []journal.Decision{journal.SkipNull, journal.SkipHanging, journal.SkipNull}},
	} {
		var got []journal.Decision
		for _, op := range tc.ops {
			got = append(got, enter(t, s, db, "saga-"+tc.name, "step", op, tc.repeatable))
		}
		require.Equal(t, tc.want, got, tc.name)
	}

	// Rows written in a transaction that rolls back vanish with it: the action then never ran.
	tx, err := db.Begin()
	require.NoError(t, err)
	d, err := s.Enter(context.Background(), tx, "rolled", "step", A, false)
	require.NoError(t, err)
	require.Equal(t, journal.Run, d)
	require.NoError(t, tx.Rollback())
	require.Equal(t, journal.SkipNull, enter(t, s, db, "rolled", "step", C, false))
	_, err = s.Enter(context.Background(), db, "x", "y", journal.Op("undo"), false)
	require.ErrorContains(t, err, `use "action" or "compensation"`)
}

func TestClaimRenewRelease(t *testing.T) {
	t.Parallel()
	s, _ := store(t)
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, journal.NewSaga{ID: "s1", Name: "n", Input: []byte(`{}`), Steps: []journal.NewStep{{Name: "a", Kind: "func"}}}))
	due, err := s.Due(ctx, []string{"n"}, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"s1"}, due)
	due, err = s.Due(ctx, []string{"other"}, 10)
	require.NoError(t, err)
	require.Empty(t, due, "only sagas of the engine's names")

	ok, err := s.Claim(ctx, "s1", "a#1", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.Claim(ctx, "s1", "b#1", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a live lease is not taken")
	require.NoError(t, s.Renew(ctx, "s1", "a#1", time.Minute))
	require.ErrorIs(t, s.Renew(ctx, "s1", "b#1", time.Minute), journal.ErrLeaseLost)
	require.ErrorIs(t, s.Fenced(ctx, "s1", "b#1", time.Minute, func(*journal.Tx) error { return nil }), journal.ErrLeaseLost)

	// Parked for an hour: not due, so not claimable, even unleased.
	require.NoError(t, s.Release(ctx, "s1", "a#1", time.Hour))
	ok, err = s.Claim(ctx, "s1", "b#1", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	g, err := s.Load(ctx, "s1")
	require.NoError(t, err)
	require.Empty(t, g.LeaseOwner)
	require.InDelta(t, time.Hour.Seconds(), g.NextRunAt.Sub(g.DBNow).Seconds(), 5)

	// An expired lease (its instance died) is taken over.
	require.NoError(t, s.Release(ctx, "s1", "nobody", 0), "a release by a non-owner changes nothing")
	_, err = s.DB().Exec("UPDATE " + sagatest.Prefix + "sagas SET next_run_at = UTC_TIMESTAMP(6), lease_owner = 'dead#1', lease_until = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND")
	require.NoError(t, err)
	ok, err = s.Claim(ctx, "s1", "b#2", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestRecordReply(t *testing.T) {
	t.Parallel()
	s, _ := store(t)
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, journal.NewSaga{ID: "s1", Name: "n", Input: []byte(`{}`), Owner: "o#1", Lease: time.Minute,
		Steps: []journal.NewStep{{Name: "pay", Kind: "command"}}}))
	reply := func(op journal.Op, attempt int, status string) bool {
		ok, err := s.RecordReply(ctx, journal.IncomingReply{SagaID: "s1", Step: "pay", Op: op, Attempt: attempt, Status: status})
		require.NoError(t, err)
		return ok
	}
	require.False(t, reply(journal.OpAction, 1, "ok"), "no attempt in flight")
	begin := func(n int) {
		require.NoError(t, s.Fenced(ctx, "s1", "o#1", time.Minute, func(tx *journal.Tx) error {
			return tx.BeginAttempt(ctx, 0, "pay", journal.OpAction, n, time.Minute)
		}))
	}
	begin(1)
	begin(2)
	require.False(t, reply(journal.OpCompensation, 2, "ok"), "wrong op")
	require.False(t, reply(journal.OpAction, 1, "failed"), "a failure answers only the attempt in flight")
	require.True(t, reply(journal.OpAction, 1, "ok"), "a success answers every attempt of the op")
	require.False(t, reply(journal.OpAction, 2, "ok"), "one reply is kept until taken")
	ok, err := s.RecordReply(ctx, journal.IncomingReply{SagaID: "unknown", Step: "pay", Op: journal.OpAction, Attempt: 1, Status: "ok"})
	require.NoError(t, err)
	require.False(t, ok)
	g, err := s.Load(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, &journal.Reply{Op: journal.OpAction, Attempt: 1, Status: "ok"}, g.Steps[0].Reply)
	require.True(t, g.Steps[0].InFlight())
	require.False(t, g.Steps[0].Sent)
}

func TestShardCursors(t *testing.T) {
	t.Parallel()
	s, _ := store(t)
	ctx := context.Background()
	cur, ok, err := s.ClaimShard(ctx, "c", "stream", "shard-0", "a", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, journal.Cursor{}, cur)
	_, ok, err = s.ClaimShard(ctx, "c", "stream", "shard-0", "b", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "one reader per shard")
	_, ok, err = s.ClaimShard(ctx, "other-consumer", "stream", "shard-0", "b", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "consumers keep separate cursors")
	require.NoError(t, s.SaveCursor(ctx, "c", "stream", "shard-0", "a", "123", false, time.Minute))
	require.ErrorIs(t, s.SaveCursor(ctx, "c", "stream", "shard-0", "b", "456", false, time.Minute), journal.ErrLeaseLost)
	require.NoError(t, s.ReleaseShard(ctx, "c", "stream", "shard-0", "a"))
	cur, ok, err = s.ClaimShard(ctx, "c", "stream", "shard-0", "b", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "released: taken at once")
	require.Equal(t, "123", cur.Sequence)
	require.NoError(t, s.SaveCursor(ctx, "c", "stream", "shard-0", "b", "", true, time.Minute))
	cur, ok, err = s.ClaimShard(ctx, "c", "stream", "shard-0", "b", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a finished shard is not read again")
	require.Equal(t, journal.Cursor{Sequence: "123", Finished: true}, cur)
}

func TestPurgeKeepsStuckAndActiveSagas(t *testing.T) {
	t.Parallel()
	s, db := store(t)
	ctx := context.Background()
	for _, id := range []string{"done", "stuck", "running"} {
		require.NoError(t, s.Create(ctx, journal.NewSaga{ID: id, Name: "n", Steps: []journal.NewStep{{Name: "a", Kind: "func"}}}))
	}
	_, err := db.Exec("UPDATE " + sagatest.Prefix + "sagas SET state = id, finished_at = UTC_TIMESTAMP(6) - INTERVAL 2 DAY WHERE id IN ('stuck', 'running')")
	require.NoError(t, err)
	_, err = db.Exec("UPDATE " + sagatest.Prefix + "sagas SET state = 'completed', finished_at = UTC_TIMESTAMP(6) - INTERVAL 2 DAY WHERE id = 'done'")
	require.NoError(t, err)
	n, err := s.Purge(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	left, err := s.List(ctx, journal.Filter{})
	require.NoError(t, err)
	require.Len(t, left, 2)
	var steps int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+sagatest.Prefix+"saga_steps").Scan(&steps))
	require.Equal(t, 2, steps)
}

func TestMissingTablesSayHowToCreateThem(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	s, err := journal.New(db.DB, "strangler_")
	require.NoError(t, err)
	require.ErrorContains(t, s.Check(context.Background()), "strangler migrate up")
	_, err = journal.New(db.DB, "bad-prefix")
	require.Error(t, err)
}
