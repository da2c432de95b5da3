package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite"
	dwevent "github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/testenv"
	"github.com/strangler/strangler/migrations"
)

const dwPrefix = "dwcli_"

// dwDatabase is a legacy database with the toolkit's tables and a ledger table whose
// per-account n numbers each account's writes in commit order.
func dwDatabase(t *testing.T) *testenv.MySQLDatabase {
	db := testenv.NewMySQLDatabase(t)
	m, err := migrations.New(db.DB, dwPrefix)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	db.Exec(t, "CREATE TABLE accounts (id VARCHAR(16) PRIMARY KEY, n INT NOT NULL)",
		"CREATE TABLE ledger (id VARCHAR(64) PRIMARY KEY, account VARCHAR(16) NOT NULL, n INT NOT NULL)")
	return db
}

// credit is a legacy write and its event.
func credit(id, account string) dualwrite.TxFunc {
	return func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO accounts VALUES (?, 1) ON DUPLICATE KEY UPDATE n = n + 1", account); err != nil {
			return nil, err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT n FROM accounts WHERE id = ?", account).Scan(&n); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO ledger VALUES (?, ?, ?)", id, account, n); err != nil {
			return nil, err
		}
		payload, _ := json.Marshal(map[string]int{"n": n})
		return []dualwrite.Event{{ID: id, Type: "Credited", AggregateType: "account", AggregateID: account, Payload: payload}}, nil
	}
}

// checkLedgerOnStream checks the stream, deduplicated by id, holds exactly the ledger's
// rows, each account's in order.
func checkLedgerOnStream(t *testing.T, db *testenv.MySQLDatabase, recs []testenv.StreamRecord) {
	t.Helper()
	want := map[string]bool{}
	rows, err := db.DB.Query("SELECT id FROM ledger")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		want[id] = true
	}
	require.NoError(t, rows.Close())
	seen := map[string]bool{}
	last := map[string]int{}
	for _, r := range recs {
		ev, _, err := dwevent.Unmarshal(r.Data)
		require.NoError(t, err)
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		require.True(t, want[ev.ID], "event %s on the stream did not commit", ev.ID)
		var p struct{ N int }
		require.NoError(t, json.Unmarshal(ev.Payload, &p))
		require.Greater(t, p.N, last[ev.AggregateID], "account %s out of order at %s", ev.AggregateID, ev.ID)
		last[ev.AggregateID] = p.N
	}
	require.Len(t, seen, len(want), "every committed write is on the stream")
}

// TestOutboxRelayCommandSurvivesSIGKILL: `strangler outbox relay` is killed twice while
// the monolith writes; restarted each time, it ends with every committed write on the
// stream exactly once after deduplication, in per-account order, and exits 0 on SIGTERM.
func TestOutboxRelayCommandSurvivesSIGKILL(t *testing.T) {
	testenv.UseLocalAWSEnv()
	t.Parallel()
	db := dwDatabase(t)
	ep := testenv.KinesisEndpoint(t)
	stream := testenv.NewStream(t, 2)
	kc := testenv.KinesisClient(t, ep)
	w, err := dualwrite.New(context.Background(), db.DB, dualwrite.Config{TablePrefix: dwPrefix})
	require.NoError(t, err)
	args := []string{"outbox", "relay", "--db", db.Addr, "--stream", stream, "--kinesis-endpoint", ep, "--table-prefix", dwPrefix,
		"--poll-interval", "20ms", "--batch", "10"}

	// 300 writes, paced, while the relay is killed after 60 and after 150 events.
	const writes = 300
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; i < writes; i++ {
			if err := w.Do(context.Background(), credit(fmt.Sprintf("c%d", i), fmt.Sprintf("acc%d", i%3))); err != nil {
				writeErr <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		writeErr <- nil
	}()
	for _, published := range []int{60, 150} {
		relay := testenv.StartStrangler(t, nil, args...)
		dwWaitUntil(t, 90*time.Second, "the relay to publish", func() bool {
			return len(testenv.ReadStream(t, kc, stream, published, 100*time.Millisecond)) >= published
		})
		relay.Kill()
	}
	require.NoError(t, <-writeErr)
	relay := testenv.StartStrangler(t, nil, args...)
	// The earlier relay may have drained the outbox already: wait until this one is up,
	// or the SIGTERM below could reach it before it handles signals.
	dwWaitUntil(t, 90*time.Second, "the relay to take the lease", func() bool {
		return strings.Contains(relay.Output(), "lease taken")
	})
	dwWaitUntil(t, 90*time.Second, "the outbox to drain", func() bool {
		var n int
		require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM "+outbox.Table(dwPrefix)).Scan(&n))
		return n == 0
	})
	require.Equal(t, 0, relay.Terminate(30*time.Second), relay.Output())
	recs := testenv.ReadStream(t, kc, stream, math.MaxInt32, 300*time.Millisecond)
	checkLedgerOnStream(t, db, recs)
	require.GreaterOrEqual(t, len(recs), writes)
}

// TestDualwriteRecoverCommand: a unit whose compensation failed (the new service's undo
// was down) stays pending; `strangler dualwrite status` shows it and `strangler dualwrite
// recover` compensates it once the service is back.
func TestDualwriteRecoverCommand(t *testing.T) {
	t.Parallel()
	db := dwDatabase(t)
	var mu sync.Mutex
	undoDown := true
	var undone []string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodDelete {
			if undoDown {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			undone = append(undone, strings.TrimPrefix(r.URL.Path, "/events/")+" "+r.Header.Get("Idempotency-Key"))
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer svc.Close()
	tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.URL + "/events"})
	require.NoError(t, err)
	w, err := dualwrite.New(context.Background(), db.DB, dualwrite.Config{Mode: dualwrite.ModeMirror, TablePrefix: dwPrefix, Target: tgt,
		TestHook: func(ctx context.Context, point string) error {
			if point == dualwrite.PointBeforeCommit {
				return errors.New("injected: the commit fails")
			}
			return nil
		}})
	require.NoError(t, err)
	err = w.Do(context.Background(), credit("c1", "acc"))
	require.ErrorIs(t, err, dualwrite.ErrCompensationPending)

	code, out := testenv.RunStrangler(t, 30*time.Second, nil, "dualwrite", "status", "--db", db.Addr, "--table-prefix", dwPrefix)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `mirror units pending\s+1 \(oldest`, out)
	require.Regexp(t, `outbox backlog\s+0`, out)

	code, out = testenv.RunStrangler(t, 30*time.Second, nil, "dualwrite", "recover", "--db", db.Addr, "--table-prefix", dwPrefix)
	require.Equal(t, 1, code)
	require.Contains(t, out, "--stream (Kinesis) or --http-url (HTTP)")

	mu.Lock()
	undoDown = false
	mu.Unlock()
	recoverArgs := []string{"dualwrite", "recover", "--db", db.Addr, "--table-prefix", dwPrefix, "--http-url", svc.URL + "/events", "--grace", "1ms"}
	dwWaitUntil(t, 30*time.Second, "recover to compensate the unit (after its backoff)", func() bool {
		code, out = testenv.RunStrangler(t, 30*time.Second, nil, recoverArgs...)
		require.Equal(t, 0, code, out)
		return strings.Contains(out, "compensated 1")
	})
	mu.Lock()
	require.Equal(t, []string{"c1 " + dwevent.CompensationID("c1")}, undone)
	mu.Unlock()
	code, out = testenv.RunStrangler(t, 30*time.Second, nil, "dualwrite", "status", "--db", db.Addr, "--table-prefix", dwPrefix)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `mirror units pending\s+0`, out)
	require.Regexp(t, `mirror units compensated\s+1`, out)
}

// TestCDCRunWithOutboxFlag: `strangler cdc run --outbox db.table`, with an --include
// list that names only the legacy table, streams the outbox's events into Kinesis as
// dualwrite events keyed by aggregate, exactly the committed ones.
func TestCDCRunWithOutboxFlag(t *testing.T) {
	testenv.UseLocalAWSEnv()
	t.Parallel()
	db := dwDatabase(t)
	ep := testenv.KinesisEndpoint(t)
	stream := testenv.NewStream(t, 2)
	kc := testenv.KinesisClient(t, ep)
	start := testenv.StartAt(t, db.DB)
	w, err := dualwrite.New(context.Background(), db.DB, dualwrite.Config{TablePrefix: dwPrefix, Delivery: outbox.DeliveryCDC})
	require.NoError(t, err)
	daemon := testenv.StartStrangler(t, nil, "cdc", "run", "--source", db.Root, "--server-id", fmt.Sprint(testenv.RandomServerID()),
		"--include", db.Name+".ledger", "--outbox", db.Name+"."+outbox.Table(dwPrefix), "--stream", stream, "--kinesis-endpoint", ep,
		"--checkpoint", "file:"+filepath.Join(t.TempDir(), "cp.json"), "--start", start, "--linger", "5ms")
	for i := 0; i < 12; i++ {
		err := w.Do(context.Background(), credit(fmt.Sprintf("c%d", i), fmt.Sprintf("acc%d", i%2)))
		require.NoError(t, err)
	}
	require.Error(t, w.Do(context.Background(), credit("c0", "acc0")), "duplicate key: nothing mirrored")
	var recs []testenv.StreamRecord
	dwWaitUntil(t, 60*time.Second, "the outbox events and the ledger's changes", func() bool {
		recs = testenv.ReadStream(t, kc, stream, 24, 200*time.Millisecond)
		return len(recs) >= 24
	})
	require.Equal(t, 0, daemon.Terminate(30*time.Second), daemon.Output())
	recs = testenv.ReadStream(t, kc, stream, math.MaxInt32, 300*time.Millisecond)
	var events []testenv.StreamRecord
	changes := 0
	for _, r := range recs {
		if strings.Contains(string(r.Data), `"aggregate":`) {
			require.True(t, strings.HasPrefix(r.PartitionKey, "account:"), r.PartitionKey)
			events = append(events, r)
		} else {
			changes++
		}
	}
	require.Len(t, events, 12)
	require.Equal(t, 12, changes, "the ledger's own inserts stream as change events")
	checkLedgerOnStream(t, db, events)
}

func dwWaitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
