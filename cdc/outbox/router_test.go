package outbox_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc"
	"github.com/strangler/strangler/cdc/event"
	"github.com/strangler/strangler/cdc/outbox"
	"github.com/strangler/strangler/dualwrite"
	dwevent "github.com/strangler/strangler/dualwrite/event"
	dwoutbox "github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/internal/testenv"
	"github.com/strangler/strangler/migrations"
)

func outboxChange(op event.Op, after []any) *event.Change {
	cols := []string{"seq", "id", "aggregate_type", "aggregate_id", "type", "payload", "headers", "sequence", "occurred_at"}
	c := &event.Change{ID: "chg-1", Op: op, DB: "shop", Table: "strangler_outbox", Columns: cols, KeyColumns: []int{0},
		Source: event.Source{Connector: "mariadb", ServerID: 1, GTID: "0-1-42", File: "binlog.000003", Pos: 1234, Row: 0, TsMs: 1700000000123}}
	if op == event.OpDelete {
		c.Before = after
	} else {
		c.After = after
	}
	return c
}

func TestRouteOutboxRows(t *testing.T) {
	t.Parallel()
	r, err := outbox.New([]string{"shop.strangler_outbox"}, outbox.Columns{})
	require.NoError(t, err)
	row := []any{uint64(17), "ev-1", "order", "42", "OrderPlaced", `{"total":"10.50"}`, `{"trace-id":"abc"}`, uint64(3), "2025-01-02T03:04:05.123456"}

	rec, handled, err := r.Route(outboxChange(event.OpCreate, row), event.Envelope{})
	require.NoError(t, err)
	require.True(t, handled)
	require.Equal(t, "order:42", rec.PartitionKey)
	require.Equal(t, "ev-1", rec.ID)
	require.Equal(t, "17", rec.Key)
	ev, src, err := dwevent.Unmarshal(rec.Data)
	require.NoError(t, err)
	require.Equal(t, dwevent.Event{ID: "ev-1", Type: "OrderPlaced", AggregateType: "order", AggregateID: "42", Payload: json.RawMessage(`{"total":"10.50"}`),
		Headers: map[string]string{"trace-id": "abc"}, OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC), Sequence: 3}, ev)
	require.Equal(t, &dwevent.Source{Via: "cdc", DB: "shop", Table: "strangler_outbox", OutboxSeq: 17, ServerID: 1, GTID: "0-1-42",
		File: "binlog.000003", Pos: 1234, TsMs: 1700000000123}, src)
	require.JSONEq(t, `{"total":"10.50"}`, string(json.RawMessage(mustField(t, rec.Data, "payload"))), "the payload is embedded, not quoted")

	for _, op := range []event.Op{event.OpDelete, event.OpRead} {
		rec, handled, err = r.Route(outboxChange(op, row), event.Envelope{})
		require.NoError(t, err)
		require.True(t, handled, "op %s", op)
		require.Nil(t, rec, "op %s sends nothing", op)
	}

	other := outboxChange(event.OpCreate, row)
	other.Table = "orders"
	_, handled, err = r.Route(other, event.Envelope{})
	require.NoError(t, err)
	require.False(t, handled, "other tables pass on")

	for _, tc := range []struct {
		name string
		c    *event.Change
		want string
	}{
		{"update", outboxChange(event.OpUpdate, row), "outbox rows are only inserted and deleted"},
		{"bad payload", outboxChange(event.OpCreate, []any{uint64(1), "e", "o", "1", "T", "{nope", nil, nil, nil}), "is not JSON"},
		{"null id", outboxChange(event.OpCreate, []any{uint64(1), nil, "o", "1", "T", "{}", nil, nil, nil}), `column "id" is NULL`},
	} {
		_, _, err := r.Route(tc.c, event.Envelope{})
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	noType := outboxChange(event.OpCreate, []any{uint64(1), "e", "o", "1"})
	noType.Columns = noType.Columns[:4]
	_, _, err = r.Route(noType, event.Envelope{})
	require.ErrorContains(t, err, `no column "type"`)

	for _, bad := range []string{"shop", "shop.*", ".t"} {
		_, err := outbox.New([]string{bad}, outbox.Columns{})
		require.ErrorContains(t, err, "db.table", bad)
	}
}

func mustField(t *testing.T, data []byte, field string) []byte {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &m))
	return m[field]
}

// TestOutboxThroughTheDaemon: dualwrite (CDC delivery) writes concurrently, some writes
// failing; the real CDC daemon, with the outbox router, streams the binlog into a file.
// The routed events are exactly the committed writes' events, per aggregate in commit
// order, with their binlog position; the outbox's inserts and deletes produce no change
// events, and the outbox table ends empty.
func TestOutboxThroughTheDaemon(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	const prefix = "cdcob_"
	m, err := migrations.New(db.DB, prefix)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	db.Exec(t, "CREATE TABLE accounts (id VARCHAR(16) PRIMARY KEY, balance INT NOT NULL)")
	start := testenv.StartAt(t, db.DB)
	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")

	router, err := outbox.New([]string{db.Name + "." + prefix + "outbox"}, outbox.Columns{})
	require.NoError(t, err)
	cfg := cdc.Defaults()
	cfg.Source = db.Root
	cfg.ServerID = testenv.RandomServerID()
	cfg.Include = []string{db.Name + ".*"}
	cfg.Sink = "file:" + out
	cfg.Checkpoint = "file:" + filepath.Join(dir, "checkpoint.json")
	cfg.Start = start
	cfg.Linger = 5 * time.Millisecond
	cfg.Routers = []cdc.Router{router}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cdc.Run(ctx, cfg) }()

	w, err := dualwrite.New(context.Background(), db.DB, dualwrite.Config{TablePrefix: prefix, Delivery: dwoutbox.DeliveryCDC})
	require.NoError(t, err)
	defer w.Close(context.Background()) //nolint:errcheck
	type write struct {
		account string
		balance int
	}
	var mu sync.Mutex
	var committed []write
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				account := fmt.Sprintf("acc%d", (g+i)%3)
				fail := i%5 == 4
				var balance int
				err := w.Do(context.Background(), func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
					if _, err := tx.ExecContext(ctx, "INSERT INTO accounts VALUES (?, 1) ON DUPLICATE KEY UPDATE balance = balance + 1", account); err != nil {
						return nil, err
					}
					if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", account).Scan(&balance); err != nil {
						return nil, err
					}
					if fail {
						return nil, errors.New("refused")
					}
					payload, _ := json.Marshal(map[string]int{"balance": balance})
					return []dualwrite.Event{{Type: "Credited", AggregateType: "account", AggregateID: account, Payload: payload}}, nil
				})
				if err == nil {
					mu.Lock()
					committed = append(committed, write{account, balance})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, committed, 4*12)
	var outboxRows int
	require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM "+prefix+"outbox").Scan(&outboxRows))
	require.Zero(t, outboxRows, "CDC delivery deletes each row in its transaction")

	var routed []dwevent.Event
	var changes []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		routed, changes = readEvents(t, out)
		if len(routed) >= len(committed) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
	routed, changes = readEvents(t, out)
	require.Len(t, routed, len(committed), "one routed event per committed write (the daemon read to the end)")

	want := map[string][]int{}
	for _, c := range committed {
		want[c.account] = append(want[c.account], c.balance)
	}
	got := map[string][]int{}
	ids := map[string]bool{}
	for _, ev := range routed {
		require.False(t, ids[ev.ID], "duplicate event %s", ev.ID)
		ids[ev.ID] = true
		var p struct{ Balance int }
		require.NoError(t, json.Unmarshal(ev.Payload, &p))
		got[ev.AggregateID] = append(got[ev.AggregateID], p.Balance)
	}
	for account, bs := range want {
		// Balances of an account increase with its commit order: the routed events
		// must carry them in increasing order, without the failed writes' values.
		require.IsIncreasing(t, got[account], "account %s in commit order", account)
		require.ElementsMatch(t, bs, got[account], "account %s", account)
	}
	for _, ch := range changes {
		src := ch["source"].(map[string]any)
		require.NotEqual(t, prefix+"outbox", src["table"], "outbox rows are routed, not streamed as changes")
	}
	require.NotEmpty(t, changes, "the accounts table's own changes still stream")
}

// readEvents splits a file sink's lines into routed outbox events and change events.
func readEvents(t *testing.T, path string) ([]dwevent.Event, []map[string]any) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	require.NoError(t, err)
	defer f.Close()
	var routed []dwevent.Event
	var changes []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), "%s", line)
		if _, ok := m["aggregate"]; ok {
			ev, src, err := dwevent.Unmarshal(line)
			require.NoError(t, err)
			require.Equal(t, "cdc", src.Via)
			require.NotEmpty(t, src.File)
			require.NotZero(t, src.OutboxSeq)
			routed = append(routed, ev)
			continue
		}
		changes = append(changes, m)
	}
	require.NoError(t, sc.Err())
	return routed, changes
}
