package compensate_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/kinesisbus"
	"github.com/strangler/strangler/compensate/metrics"
	"github.com/strangler/strangler/internal/testenv"
)

// responder is the other services of the order saga, written here with the bare Kinesis
// API: it reads the command stream, applies each command in its own database behind the
// barrier, and writes replies to the reply stream.
type responder struct {
	t      *testing.T
	c      *kinesis.Client
	db     *sql.DB
	stream string
	// policy says how to answer a command: drop it (no reply ever), or reply with status.
	policy  func(cmd compensate.Command) (drop bool, status string)
	barrier *compensate.Barrier

	mu       sync.Mutex
	received []received
}

type received struct {
	cmd compensate.Command
	key string // partition key
}

func startResponder(t *testing.T, c *kinesis.Client, stream string, policy func(compensate.Command) (bool, string)) *responder {
	svc := sagatest.Database(t) // the services' own database, with its barrier table
	_, err := svc.DB.Exec("CREATE TABLE svc_effects (saga_id CHAR(36), type VARCHAR(64), PRIMARY KEY (saga_id, type))")
	require.NoError(t, err)
	b, err := compensate.NewBarrier(svc.DB, sagatest.Prefix)
	require.NoError(t, err)
	r := &responder{t: t, c: c, db: svc.DB, stream: stream, policy: policy, barrier: b}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go r.run(ctx, done)
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *responder) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	shards, err := r.c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(r.stream)})
	if err != nil {
		r.t.Errorf("responder: list shards: %v", err)
		return
	}
	var iters []*string
	for _, s := range shards.Shards {
		it, err := r.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(r.stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			r.t.Errorf("responder: shard iterator: %v", err)
			return
		}
		iters = append(iters, it.ShardIterator)
	}
	for ctx.Err() == nil {
		for i, it := range iters {
			out, err := r.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
			if err != nil {
				if ctx.Err() == nil {
					r.t.Errorf("responder: get records: %v", err)
				}
				return
			}
			iters[i] = out.NextShardIterator
			for _, rec := range out.Records {
				var cmd compensate.Command
				if err := json.Unmarshal(rec.Data, &cmd); err != nil {
					r.t.Errorf("responder: a command record is not JSON: %v", err)
					continue
				}
				r.mu.Lock()
				r.received = append(r.received, received{cmd: cmd, key: aws.ToString(rec.PartitionKey)})
				r.mu.Unlock()
				if drop, status := r.policy(cmd); !drop {
					r.answer(ctx, cmd, status)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// apply runs a command behind the barrier and returns the decision.
func (r *responder) apply(ctx context.Context, cmd compensate.Command) (compensate.Decision, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	d, err := r.barrier.Enter(ctx, tx, cmd)
	if err != nil {
		return 0, err
	}
	if d == compensate.Run {
		if _, err := tx.ExecContext(ctx, "INSERT INTO svc_effects (saga_id, type) VALUES (?, ?)", cmd.SagaID, cmd.Type); err != nil {
			return 0, err
		}
	}
	return d, tx.Commit()
}

// answer applies a command the policy accepts and replies. It runs on the responder's
// goroutine, so it reports errors with Errorf.
func (r *responder) answer(ctx context.Context, cmd compensate.Command, status string) {
	reply := cmd.Failed("refused by the service")
	if status == compensate.ReplyOK {
		d, err := r.apply(ctx, cmd)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.t.Errorf("responder: apply %s: %v", cmd.ID, err)
			}
			return
		case d == compensate.SkipHanging:
			reply = cmd.Failed("arrived after its compensation")
		default:
			if reply, err = cmd.OK(map[string]string{"by": cmd.Type}); err != nil {
				r.t.Errorf("responder: %v", err)
				return
			}
		}
	}
	data, err := json.Marshal(reply)
	if err != nil {
		r.t.Errorf("responder: %v", err)
		return
	}
	_, err = r.c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(cmd.ReplyTo), PartitionKey: aws.String(cmd.SagaID), Data: data})
	if err != nil && ctx.Err() == nil {
		r.t.Errorf("responder: put reply: %v", err)
	}
}

func (r *responder) commands() []compensate.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []compensate.Command
	for _, rc := range r.received {
		out = append(out, rc.cmd)
	}
	return out
}

func (r *responder) effects(sagaID string) []string {
	rows, err := r.db.Query("SELECT type FROM svc_effects WHERE saga_id = ? ORDER BY type", sagaID)
	require.NoError(r.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(r.t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func commandSaga(opts ...compensate.StepOption) *compensate.Definition {
	return compensate.Define("place-order",
		compensate.CommandStep(sagatest.Reserve, "RESERVE_INVENTORY", "RELEASE_INVENTORY"),
		compensate.CommandStep(sagatest.Pay, "PROCESS_PAYMENT", "REFUND_PAYMENT", opts...),
		compensate.CommandStep(sagatest.Ship, "SHIP_ORDER", ""),
	)
}

// commandEngine returns an engine whose command steps go over two fresh streams, and
// those streams' names.
func commandEngine(t *testing.T, db *sql.DB, m *metrics.Metrics, def *compensate.Definition) (*compensate.Engine, *kinesis.Client, string) {
	ep := testenv.KinesisEndpoint(t)
	c := testenv.KinesisClient(t, ep)
	commands, replies := testenv.NewStream(t, 2), testenv.NewStream(t, 1)
	bus, err := kinesisbus.New(c, db, kinesisbus.Options{CommandStream: commands, ReplyStream: replies, TablePrefix: sagatest.Prefix,
		PollInterval: 20 * time.Millisecond, ShardLease: 2 * time.Second})
	require.NoError(t, err)
	return newEngine(t, db, compensate.Options{Commands: bus, Metrics: m}, def), c, commands
}

func TestCommandSagaOverKinesis(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	e, c, commands := commandEngine(t, db.DB, nil, commandSaga())
	r := startResponder(t, c, commands, func(compensate.Command) (bool, string) { return false, compensate.ReplyOK })
	runEngine(t, e)
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Running, g.State, "the saga waits for the reply without holding its caller")
	g = wait(t, e, g.ID)
	require.Equal(t, compensate.Completed, g.State)
	require.Equal(t, []string{"reserve-inventory/action/1:ok", "process-payment/action/1:ok", "ship/action/1:ok"}, attemptsOf(g))
	require.JSONEq(t, `{"by":"PROCESS_PAYMENT"}`, string(g.Steps[1].Output), "the reply's output is the step's output")
	require.Equal(t, []string{"PROCESS_PAYMENT", "RESERVE_INVENTORY", "SHIP_ORDER"}, r.effects(g.ID))
	for _, a := range g.Attempts {
		require.False(t, a.SentAt.IsZero())
	}
	cmds := r.commands()
	require.Len(t, cmds, 3)
	r.mu.Lock()
	for _, rc := range r.received {
		require.Equal(t, g.ID, rc.key, "commands are keyed by saga: one shard, in order")
	}
	r.mu.Unlock()
	require.Equal(t, g.ID+"/process-payment/action", cmds[1].ID)
	require.Equal(t, "place-order", cmds[1].Saga)
	require.Equal(t, 1, cmds[1].Attempt)
	var in sagatest.Order
	require.NoError(t, cmds[1].DecodeInput(&in))
	require.Equal(t, order("o1"), in)
	require.JSONEq(t, `{"by":"RESERVE_INVENTORY"}`, string(cmds[1].Outputs[sagatest.Reserve]), "earlier steps' outputs travel with the command")
}

func TestCommandFailureReplyCompensates(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	e, c, commands := commandEngine(t, db.DB, nil, commandSaga())
	r := startResponder(t, c, commands, func(cmd compensate.Command) (bool, string) {
		if cmd.Type == "PROCESS_PAYMENT" {
			return false, compensate.ReplyFailed
		}
		return false, compensate.ReplyOK
	})
	runEngine(t, e)
	id, err := e.Enqueue(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	g := wait(t, e, id)
	require.Equal(t, compensate.Compensated, g.State)
	require.Contains(t, g.Error, "step process-payment failed: the service replied failed: refused by the service")
	require.Equal(t, []string{"compensated", "failed", "pending"}, stepStates(g))
	require.Equal(t, []string{"RELEASE_INVENTORY", "RESERVE_INVENTORY"}, r.effects(id))
}

// A reply that never comes: the attempt times out and is retried with the same command
// id; when the attempts run out the step's effect is unknown and it is compensated too.
// The service never saw the payment, so its barrier makes the refund a no-op (null
// compensation), and the payment, arriving late, is refused (hanging).
func TestCommandReplyNeverComes(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	m := metrics.New(prometheus.NewRegistry())
	e, c, commands := commandEngine(t, db.DB, m, commandSaga(compensate.Timeout(300*time.Millisecond), compensate.CompensationTimeout(10*time.Second), compensate.Attempts(2)))
	r := startResponder(t, c, commands, func(cmd compensate.Command) (bool, string) {
		return cmd.Type == "PROCESS_PAYMENT", compensate.ReplyOK // payments vanish
	})
	runEngine(t, e)
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	g = wait(t, e, g.ID)
	require.Equal(t, compensate.Compensated, g.State)
	require.Equal(t, []string{
		"reserve-inventory/action/1:ok",
		"process-payment/action/1:timeout", "process-payment/action/2:timeout",
		"process-payment/compensation/1:ok",
		"reserve-inventory/compensation/1:ok",
	}, attemptsOf(g))
	require.Equal(t, "no reply within the step's timeout", g.Attempts[1].Error)
	require.GreaterOrEqual(t, g.Attempts[1].FinishedAt.Sub(g.Attempts[1].StartedAt), 300*time.Millisecond)
	var payments []compensate.Command
	for _, cmd := range r.commands() {
		if cmd.Type == "PROCESS_PAYMENT" {
			payments = append(payments, cmd)
		}
	}
	require.Len(t, payments, 2)
	require.Equal(t, payments[0].ID, payments[1].ID, "a retry repeats the same operation: same idempotency key")
	require.Equal(t, []int{1, 2}, []int{payments[0].Attempt, payments[1].Attempt})
	require.Equal(t, []string{"RELEASE_INVENTORY", "RESERVE_INVENTORY"}, r.effects(g.ID), "the refund of a payment never made did nothing")

	// The payment command finally reaches the service: the barrier refuses it.
	d, err := r.apply(context.Background(), payments[0])
	require.NoError(t, err)
	require.Equal(t, compensate.SkipHanging, d)
	require.Equal(t, []string{"RELEASE_INVENTORY", "RESERVE_INVENTORY"}, r.effects(g.ID))

	// Its late reply is ignored by the engine: the saga is over.
	before := testutil.ToFloat64(m.Replies.WithLabelValues("ignored"))
	r.answer(context.Background(), payments[1], compensate.ReplyOK)
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.Replies.WithLabelValues("ignored")) > before }, 10*time.Second, 10*time.Millisecond)
	g = wait(t, e, g.ID)
	require.Equal(t, compensate.Compensated, g.State)
}

func TestCommandStepsNeedACommander(t *testing.T) {
	t.Parallel()
	e, err := compensate.New(nil, compensate.Options{})
	require.ErrorContains(t, err, "nil *sql.DB")
	require.Nil(t, e)
	db := sagatest.Database(t)
	e, err = compensate.New(db.DB, compensate.Options{})
	require.NoError(t, err)
	require.ErrorContains(t, e.Register(commandSaga()), "set Options.Commands")
}
