// Package compensate is a saga engine for a monolith being taken apart: a business
// operation of several steps, each with an action and a compensation, whose completed
// steps are undone, in reverse order, when a later one fails, and which survives crashes.
//
//	def := compensate.Define("place-order",
//		compensate.Step("reserve-inventory", reserve, release),
//		compensate.Step("process-payment", charge, refund),
//		compensate.Step("ship", ship, nil),
//	)
//	engine, _ := compensate.New(db, compensate.Options{})
//	_ = engine.Register(def)
//	go engine.Run(ctx)                                   // recovery loop, on every instance
//	saga, err := engine.Start(ctx, "place-order", order) // runs it; saga.State says how it ended
//
// Steps are local functions (Step), functions writing to the engine's database in its
// transaction (TxStep, exactly once), or commands to other services over Kinesis
// (CommandStep with kinesisbus), whose replies the saga waits for durably.
//
// Everything is journaled in MySQL/MariaDB (package journal): the saga, its steps, every
// attempt. An action is tried again after an error that may go away, up to its attempts,
// and its effect is then unknown, so it is compensated too; a definitive failure (Fail)
// is not retried and needs no compensation. Compensations are retried with exponential
// backoff and jitter, the next attempt time persisted, until they succeed; after
// Options.CompensationAttempts the saga is stuck: counted in strangler_saga_stuck, listed
// by `strangler compensate list --stuck`, re-armed by `strangler compensate retry ID`,
// never dropped.
//
// Every action and compensation gets a Call whose Key (saga, step, op) is stable across
// attempts: after a crash or a timeout an attempt is repeated, so functions must be
// idempotent. A barrier table (after DTM's) records which ops went through: a
// compensation of an action that never ran does nothing, and an action arriving after
// its compensation does not run.
//
// See docs/sagas.md for the crash matrix and the operations guide.
package compensate
