package compensate_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/internal/testenv"
)

var crashLine = regexp.MustCompile(`(?m)^(CRASHPOINT|ENDED) ([0-9a-f-]{36})`)

// A process running a saga is SIGKILLed at every point of every step: after an attempt
// is recorded (before the call), after the call returned (before its outcome is
// recorded), and after the outcome is recorded; forward, and while compensating. Another
// engine's recovery loop then finishes the saga from the journal, and the invariant
// holds: a completed order is reserved, charged and shipped; a compensated one has
// nothing left reserved or charged; no attempt ran twice; a crashed attempt counts as
// lost and is retried (its function is idempotent).
func TestCrashAtEachPoint(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildProgram(t, "./compensate/internal/testdata/crashsaga")
	points := []compensate.EventKind{compensate.AttemptStarted, compensate.AttemptReturned, compensate.AttemptFinished}
	type crashCase struct {
		step string
		op   compensate.Op
		fail string // step whose action fails for good
		want compensate.State
	}
	var cases []crashCase
	for _, step := range []string{sagatest.Reserve, sagatest.Pay, sagatest.Ship} {
		cases = append(cases, crashCase{step, compensate.OpAction, "", compensate.Completed})
	}
	cases = append(cases, crashCase{sagatest.Ship, compensate.OpAction, sagatest.Ship, compensate.Compensated})
	for _, step := range []string{sagatest.Pay, sagatest.Reserve} {
		cases = append(cases, crashCase{step, compensate.OpCompensation, sagatest.Ship, compensate.Compensated})
	}
	for _, c := range cases {
		for _, point := range points {
			name := fmt.Sprintf("%s/%s/%s", c.step, c.op, point)
			if c.fail != "" {
				name += "/failing-" + c.fail
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				db := sagatest.Database(t)
				p := testenv.StartProgram(t, bin, nil, "-db", db.Addr, "-crash", fmt.Sprintf("%s:%s:%s", point, c.step, c.op), "-fail", c.fail)
				var id string
				for deadline := time.Now().Add(2 * time.Minute); id == ""; time.Sleep(10 * time.Millisecond) {
					m := crashLine.FindStringSubmatch(p.Output())
					switch {
					case m != nil:
						require.Equal(t, "CRASHPOINT", m[1], "the saga ended without reaching the crash point:\n%s", p.Output())
						id = m[2]
					case p.Exited():
						t.Fatalf("crashsaga exited before its crash point:\n%s", p.Output())
					case time.Now().After(deadline):
						t.Fatalf("crashsaga did not reach its crash point in 2 minutes:\n%s", p.Output())
					}
				}
				p.Kill()

				e := newEngine(t, db.DB, compensate.Options{Instance: "recovery"}, sagatest.OrderSaga("place-order", db.DB, sagatest.CrashFaults(c.fail)))
				runEngine(t, e)
				g := wait(t, e, id)
				require.Equal(t, c.want, g.State, "attempts: %v", attemptsOf(g))
				if c.want == compensate.Completed {
					sagatest.RequireCompleted(t, db.DB, "o1")
				} else {
					sagatest.RequireUndone(t, db.DB, "o1")
				}
				sagatest.RequireNoDoubleExecution(t, db.DB, g)

				// What became of the attempt the crash interrupted.
				var crashed, next *compensate.Attempt
				for i := range g.Attempts {
					a := &g.Attempts[i]
					if a.Step == c.step && a.Op == c.op {
						if crashed == nil {
							crashed = a
						} else if next == nil {
							next = a
						}
					}
				}
				require.NotNil(t, crashed)
				require.Equal(t, "crashsaga", crashed.Owner[:len("crashsaga")])
				called := false
				for _, call := range sagatest.Calls(t, db.DB, id) {
					called = called || (call.Step == c.step && call.Op == c.op && call.Attempt == 1)
				}
				switch point {
				case compensate.AttemptStarted, compensate.AttemptReturned:
					require.Equal(t, journal.OutcomeLost, crashed.Outcome, "attempts: %v", attemptsOf(g))
					require.NotNil(t, next, "a lost attempt is tried again")
					require.Equal(t, "recovery", next.Owner[:len("recovery")])
					require.Equal(t, point == compensate.AttemptReturned, called, "the function was called before the crash only if it returned")
				case compensate.AttemptFinished:
					require.NotEqual(t, journal.OutcomeLost, crashed.Outcome)
					require.Nil(t, next, "a recorded outcome is not tried again")
					require.True(t, called)
				}
			})
		}
	}
}
