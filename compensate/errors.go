package compensate

import (
	"errors"
	"fmt"
)

// failure marks an error as a definitive business failure.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// Fail marks err as a definitive business failure (insufficient funds, out of stock): the
// action is not retried, it is taken to have changed nothing, and the saga compensates the
// steps before it. Any other error is taken as one that may go away: the action is tried
// again, and if its attempts run out its effect is unknown and it is compensated too.
//
// Returned by a compensation, Fail means retrying cannot help: the saga is stuck at once
// and waits for an operator.
func Fail(err error) error {
	if err == nil {
		err = errors.New("failed")
	}
	return &failure{err: err}
}

// Failf is Fail(fmt.Errorf(format, args...)).
func Failf(format string, args ...any) error { return Fail(fmt.Errorf(format, args...)) }

// IsFailure reports whether err (or an error it wraps) was made by Fail.
func IsFailure(err error) bool {
	var f *failure
	return errors.As(err, &f)
}

// ErrUnknownSaga is wrapped by errors about a saga name no Register call gave.
var ErrUnknownSaga = errors.New("unknown saga")
