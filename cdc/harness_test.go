package cdc_test

import (
	"bufio"
	"bytes"
	"context"
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

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc"
	"github.com/strangler/strangler/internal/testenv"
)

// ev is a change event read back from a sink, decoded for assertions.
type ev struct {
	ID     string                     `json:"id"`
	Op     string                     `json:"op"`
	Key    map[string]json.RawMessage `json:"key"`
	Before map[string]json.RawMessage `json:"before"`
	After  map[string]json.RawMessage `json:"after"`
	Source struct {
		Connector string  `json:"connector"`
		DB        string  `json:"db"`
		Table     string  `json:"table"`
		ServerID  uint32  `json:"server_id"`
		GTID      *string `json:"gtid"`
		File      string  `json:"file"`
		Pos       uint32  `json:"pos"`
		Row       int     `json:"row"`
		Snapshot  string  `json:"snapshot"`
		TsMs      int64   `json:"ts_ms"`
	} `json:"source"`
	Txn struct {
		ID                  string `json:"id"`
		TotalOrder          int64  `json:"total_order"`
		DataCollectionOrder int64  `json:"data_collection_order"`
	} `json:"txn"`
	TsMs int64 `json:"ts_ms"`
	raw  []byte
}

// val returns a column of the row image as compact JSON text.
func (e ev) val(image, col string) string {
	m := e.After
	if image == "before" {
		m = e.Before
	}
	v, ok := m[col]
	if !ok {
		return "<missing>"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// keyOf is the row's key as text, for per-row grouping.
func (e ev) keyOf() string {
	var parts []string
	for k, v := range e.Key {
		parts = append(parts, k+"="+string(v))
	}
	return e.Source.Table + ":" + strings.Join(parts, ",")
}

var (
	schemaOnce sync.Once
	schemaErr  error
	evSchema   *jsonschema.Schema
)

// validate checks an event against docs/event.schema.json.
func validate(t *testing.T, raw []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		path := filepath.Join(testenv.ModuleRoot(), "docs", "event.schema.json")
		f, err := os.Open(path)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		if err := c.AddResource("event.schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		evSchema, schemaErr = c.Compile("event.schema.json")
	})
	require.NoError(t, schemaErr)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	require.NoError(t, evSchema.Validate(inst), "event does not match docs/event.schema.json: %s", raw)
}

func decodeEvent(t *testing.T, line []byte) ev {
	t.Helper()
	var e ev
	dec := json.NewDecoder(bytes.NewReader(line))
	require.NoError(t, dec.Decode(&e), "event is not JSON: %s", line)
	e.raw = append([]byte(nil), line...)
	validate(t, line)
	return e
}

// readFileEvents reads the events a file sink wrote so far.
func readFileEvents(t *testing.T, path string) []ev {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []ev
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		out = append(out, decodeEvent(t, sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return out
}

// waitFileEvents waits until the file holds at least n events and returns them.
func waitFileEvents(t *testing.T, path string, n int, timeout time.Duration) []ev {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := readFileEvents(t, path)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %d events in %s, got %d", timeout, n, path, len(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// harness is one test's source database and the settings of a daemon reading it into a
// file sink with a file checkpoint.
type harness struct {
	t          *testing.T
	db         *testenv.MySQLDatabase
	dir        string
	out        string // file sink
	checkpoint string // file checkpoint
	start      string // --start: the binlog position when the harness was made
	serverID   uint32
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := testenv.NewMySQLDatabase(t)
	dir := t.TempDir()
	return &harness{
		t: t, db: db, dir: dir,
		out:        filepath.Join(dir, "events.jsonl"),
		checkpoint: filepath.Join(dir, "checkpoint.json"),
		start:      testenv.FreshStart(t, db.DB),
		serverID:   testenv.RandomServerID(),
	}
}

// config is a daemon configuration for the harness's database.
func (h *harness) config() cdc.Config {
	c := cdc.Defaults()
	c.Source = h.db.Root
	c.ServerID = h.serverID
	c.Include = []string{h.db.Name + ".*"}
	c.Sink = "file:" + h.out
	c.Checkpoint = "file:" + h.checkpoint
	c.CheckpointInterval = 100 * time.Millisecond
	c.Start = h.start
	c.Linger = 10 * time.Millisecond
	c.Logger = slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return c
}

// args are the same settings as flags of the binary.
func (h *harness) args(extra ...string) []string {
	a := []string{"cdc", "run", "--source", h.db.Root, "--server-id", fmt.Sprint(h.serverID),
		"--include", h.db.Name + ".*", "--sink", "file:" + h.out, "--checkpoint", "file:" + h.checkpoint,
		"--checkpoint-interval", "100ms", "--start", h.start, "--linger", "10ms"}
	return append(a, extra...)
}

// daemon is a daemon running in the test process.
type daemon struct {
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, cfg cdc.Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := cdc.Run(ctx, cfg)
		if err != nil {
			cfg.Logger.Error("daemon stopped", "error", err)
		}
		d.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop within 30 s")
		}
	})
	return d
}

// stop cancels the daemon (as SIGTERM does) and returns what Run returned.
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30 s")
		return nil
	}
}

// wait returns Run's result once it ends by itself (an error, or --stop-at).
func (d *daemon) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("daemon still running after %s", timeout)
		return nil
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
