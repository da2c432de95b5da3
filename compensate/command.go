package compensate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strangler/strangler/compensate/journal"
)

// Command is what a CommandStep publishes: a request to another service to run (or undo)
// its part of a saga, answered with a Reply.
type Command struct {
	// ID is the idempotency key, Call.Key: saga id, step and op. It is the same for every
	// attempt, so a service applies a command once however often it arrives.
	ID      string                     `json:"id"`
	SagaID  string                     `json:"saga_id"`
	Saga    string                     `json:"saga"`
	Step    string                     `json:"step"`
	Op      Op                         `json:"op"`
	Attempt int                        `json:"attempt"`
	Type    string                     `json:"type"`               // the step's command or compensation command, e.g. RESERVE_INVENTORY
	Input   json.RawMessage            `json:"input"`              // the saga's input
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`  // outputs of the saga's completed steps (in a compensation, this step's too)
	ReplyTo string                     `json:"reply_to,omitempty"` // the stream to reply to
	SentAt  time.Time                  `json:"sent_at"`
}

// Reply statuses.
const (
	ReplyOK     = "ok"     // done (or had been done already)
	ReplyFailed = "failed" // refused for good: a business failure of an action; a compensation is tried again
)

// Reply answers a Command.
type Reply struct {
	ID      string          `json:"id"` // the command's ID
	SagaID  string          `json:"saga_id"`
	Step    string          `json:"step"`
	Op      Op              `json:"op"`
	Attempt int             `json:"attempt"`
	Status  string          `json:"status"` // ReplyOK or ReplyFailed
	Error   string          `json:"error,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"` // saved as the step's output (Call.Output)
}

// OK is the success reply to c, with an output (nil for none).
func (c Command) OK(output any) (Reply, error) {
	r := c.reply(ReplyOK, "")
	if output != nil {
		b, err := json.Marshal(output)
		if err != nil {
			return r, fmt.Errorf("command %s: encode reply output: %w", c.ID, err)
		}
		r.Output = b
	}
	return r, nil
}

// Failed is the failure reply to c.
func (c Command) Failed(reason string) Reply { return c.reply(ReplyFailed, reason) }

func (c Command) reply(status, reason string) Reply {
	return Reply{ID: c.ID, SagaID: c.SagaID, Step: c.Step, Op: c.Op, Attempt: c.Attempt, Status: status, Error: reason}
}

// DecodeInput decodes the saga's input carried by the command into v.
func (c Command) DecodeInput(v any) error {
	if err := json.Unmarshal(c.Input, v); err != nil {
		return fmt.Errorf("command %s: decode input: %w", c.ID, err)
	}
	return nil
}

// Commander carries commands to services and their replies back; kinesisbus.Bus is one
// over Kinesis streams.
type Commander interface {
	// Send publishes cmd; nil means the stream accepted it.
	Send(ctx context.Context, cmd Command) error
	// Consume reads replies and hands each to deliver, until ctx ends. A reply is handled
	// again (after a restart, say) until deliver has returned nil for it.
	Consume(ctx context.Context, deliver func(ctx context.Context, r Reply) error) error
}

// Decision is what the barrier says about a command; see Barrier.Enter.
type Decision = journal.Decision

// Barrier decisions.
const (
	Run           = journal.Run           // run the command
	SkipDuplicate = journal.SkipDuplicate // already applied: reply OK again
	SkipNull      = journal.SkipNull      // a compensation whose action never ran: reply OK, do nothing
	SkipHanging   = journal.SkipHanging   // an action after its compensation: do nothing, reply Failed
)

// Barrier lets a service that executes commands apply each one exactly once and in a
// safe order, in its own database (which needs the saga_barrier table: `strangler
// migrate up` creates it). Call Enter in the transaction that makes the command's
// writes, and commit or roll back both together.
type Barrier struct{ store *journal.Store }

// NewBarrier returns the barrier of db, whose toolkit tables use prefix ("" for the
// default, "strangler_").
func NewBarrier(db *sql.DB, prefix string) (*Barrier, error) {
	if prefix == "" {
		prefix = defaultPrefix
	}
	s, err := journal.New(db, prefix)
	if err != nil {
		return nil, err
	}
	return &Barrier{store: s}, nil
}

// Enter records cmd in tx and says whether to run it: Run; SkipDuplicate when it was
// applied before; SkipNull for a compensation whose action never arrived (nothing to
// undo; the action is refused if it comes later); SkipHanging for such a late action.
func (b *Barrier) Enter(ctx context.Context, tx *sql.Tx, cmd Command) (Decision, error) {
	return b.store.Enter(ctx, tx, cmd.SagaID, cmd.Step, cmd.Op, false)
}
