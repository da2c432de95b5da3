package kinesisbus_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/kinesisbus"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv()
	os.Exit(m.Run())
}

type setup struct {
	db                *sql.DB
	c                 *kinesis.Client
	commands, replies string
}

func newSetup(t *testing.T) setup {
	ep := testenv.KinesisEndpoint(t)
	return setup{db: sagatest.Database(t).DB, c: testenv.KinesisClient(t, ep), commands: testenv.NewStream(t, 2), replies: testenv.NewStream(t, 2)}
}

func (s setup) bus(t *testing.T, instance string) *kinesisbus.Bus {
	b, err := kinesisbus.New(s.c, s.db, kinesisbus.Options{CommandStream: s.commands, ReplyStream: s.replies, TablePrefix: sagatest.Prefix,
		Instance: instance, PollInterval: 10 * time.Millisecond, ShardLease: 5 * time.Second})
	require.NoError(t, err)
	return b
}

func command(i int) compensate.Command {
	id := fmt.Sprintf("saga-%02d", i)
	return compensate.Command{ID: id + "/step/action", SagaID: id, Saga: "s", Step: "step", Op: compensate.OpAction, Attempt: 1, Type: "DO", Input: []byte(`{}`)}
}

// collector gathers what a consumer delivers.
type collector struct {
	mu  sync.Mutex
	ids []string
}

func (c *collector) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
}

func (c *collector) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.ids...)
	sort.Strings(out)
	return out
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// consume runs fn as a consumer until the returned stop is called.
func consume(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return stop
}

func sagaIDs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("saga-%02d", i))
	}
	return out
}

// Serve answers commands; the bus reads the replies; a restarted consumer goes on from
// its cursors instead of reading the stream again.
func TestServeAndConsumeResumeFromCursors(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	bus := s.bus(t, "engine-1")
	stopServe := consume(t, func(ctx context.Context) error {
		return kinesisbus.Serve(ctx, s.c, s.db, kinesisbus.ServeOptions{CommandStream: s.commands, Consumer: "svc", Types: []string{"DO"},
			TablePrefix: sagatest.Prefix, PollInterval: 10 * time.Millisecond},
			func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error) {
				return cmd.OK(map[string]int{"attempt": cmd.Attempt})
			})
	})
	defer stopServe()
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		require.NoError(t, bus.Send(ctx, command(i)))
	}
	require.NoError(t, bus.Send(ctx, compensate.Command{ID: "x", SagaID: "other", Step: "s", Type: "NOT_MINE"}))

	got := &collector{}
	var bad []compensate.Reply
	deliver := func(_ context.Context, r compensate.Reply) error {
		if r.Status != compensate.ReplyOK || r.ID != r.SagaID+"/step/action" || string(r.Output) != `{"attempt":1}` {
			bad = append(bad, r)
		}
		got.add(r.SagaID)
		return nil
	}
	stop := consume(t, func(ctx context.Context) error { return bus.Consume(ctx, deliver) })
	require.Eventually(t, func() bool { return got.len() >= 10 }, 30*time.Second, 10*time.Millisecond)
	stop()
	require.Equal(t, sagaIDs(0, 10), got.sorted(), "every reply once; the command of another type got none")
	require.Empty(t, bad)

	for i := 10; i < 15; i++ {
		require.NoError(t, bus.Send(ctx, command(i)))
	}
	again := &collector{}
	consume(t, func(ctx context.Context) error {
		return bus.Consume(ctx, func(_ context.Context, r compensate.Reply) error { again.add(r.SagaID); return nil })
	})
	require.Eventually(t, func() bool { return again.len() >= 5 }, 30*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, sagaIDs(10, 15), again.sorted(), "the restarted consumer reads only what is new")
}

// A reply the handler could not take is delivered again.
func TestFailedDeliveryIsRetried(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	bus := s.bus(t, "engine-1")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		r, err := command(i).OK(nil)
		require.NoError(t, err)
		require.NoError(t, putReply(ctx, s, r))
	}
	got := &collector{}
	failures := 0
	consume(t, func(ctx context.Context) error {
		return bus.Consume(ctx, func(_ context.Context, r compensate.Reply) error {
			if r.SagaID == "saga-01" && failures < 2 {
				failures++
				return errors.New("database down")
			}
			got.add(r.SagaID)
			return nil
		})
	})
	require.Eventually(t, func() bool { return got.len() >= 3 }, 30*time.Second, 10*time.Millisecond)
	ids := got.sorted()
	require.Equal(t, 2, failures)
	require.Contains(t, ids, "saga-01", "delivered again until taken")
	require.Subset(t, ids, sagaIDs(0, 3))
}

// putReply writes a reply the way a service does.
func putReply(ctx context.Context, s setup, r compensate.Reply) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(s.replies), PartitionKey: aws.String(r.SagaID), Data: data})
	return err
}

// Two instances of the same consumer share the shards: each reply is delivered once.
func TestInstancesShareShards(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	got := &collector{}
	deliver := func(_ context.Context, r compensate.Reply) error { got.add(r.SagaID); return nil }
	for _, inst := range []string{"a", "b"} {
		b := s.bus(t, inst)
		consume(t, func(ctx context.Context) error { return b.Consume(ctx, deliver) })
	}
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		r, err := command(i).OK(nil)
		require.NoError(t, err)
		require.NoError(t, putReply(ctx, s, r))
	}
	require.Eventually(t, func() bool { return got.len() >= 20 }, 30*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, sagaIDs(0, 20), got.sorted())
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	_, err := kinesisbus.New(nil, nil, kinesisbus.Options{})
	require.ErrorContains(t, err, "CommandStream")
	err = kinesisbus.Serve(context.Background(), nil, nil, kinesisbus.ServeOptions{CommandStream: "x"}, nil)
	require.ErrorContains(t, err, "Consumer")
}
