package compensate

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Call is what an action or compensation is asked to do.
type Call struct {
	SagaID  string // the saga's id
	Saga    string // the saga's name
	Step    string // the step's name
	Op      Op     // OpAction or OpCompensation
	Attempt int    // 1 for the first attempt of this op on this step, then 2, 3...

	input   []byte
	outputs map[string][]byte
	output  []byte
	set     bool
}

// Key is the idempotency key of the operation: saga id, step and op. It stays the same
// across attempts, because a retry (after a timeout or a crash) repeats the same
// operation, which may already have happened: use it to deduplicate the effect (a unique
// key in the service called, an idempotency header).
func (c *Call) Key() string { return c.SagaID + "/" + c.Step + "/" + string(c.Op) }

// AttemptKey names this very attempt (Key plus the attempt number), for logs and tracing.
func (c *Call) AttemptKey() string { return c.Key() + "/" + strconv.Itoa(c.Attempt) }

// Input decodes the saga's input (the value given to Start) into v.
func (c *Call) Input(v any) error {
	if err := json.Unmarshal(c.input, v); err != nil {
		return fmt.Errorf("saga %s %s: decode input: %w", c.SagaID, c.Step, err)
	}
	return nil
}

// Output decodes the output an earlier step's action saved with SetOutput (in a
// compensation, also this step's own action's output) into v. It reports false when the
// step saved none, or its outcome is unknown.
func (c *Call) Output(step string, v any) (bool, error) {
	b, ok := c.outputs[step]
	if !ok || len(b) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("saga %s: decode output of step %s: %w", c.SagaID, step, err)
	}
	return true, nil
}

// SetOutput saves a value (JSON-encoded) with the step when the action succeeds, for later
// steps and for this step's compensation (a payment id to refund, say).
func (c *Call) SetOutput(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("saga %s %s: encode output: %w", c.SagaID, c.Step, err)
	}
	c.output, c.set = b, true
	return nil
}
