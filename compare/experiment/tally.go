package experiment

import (
	"context"

	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/compare/tally"
)

// TallyPublisher records results in a tally under "experiment:<name>", for the parity
// store and reports: a mismatch shows as the field "value" (or "error") with the control's
// value as source and the candidate's as target.
func TallyPublisher[T any](t *tally.Tally) Publisher[T] {
	return PublisherFunc[T](func(_ context.Context, r Result[T]) {
		name := "experiment:" + r.Name
		t.Mirrored(name)
		t.Request(name)
		o := tally.Outcome{Method: "CALL", URL: r.Name}
		if r.Candidate.Panic != nil || r.Candidate.TimedOut || (r.Candidate.Err != nil && r.Control.Err == nil) {
			o.CandidateErr = r.Candidate.Err
			t.Record(name, o)
			return
		}
		if r.Mismatched() {
			o.Fields = map[string]report.Values{}
			if !sameErr(r.Control.Err, r.Candidate.Err) {
				o.Fields["error"] = report.Values{Source: errText(r.Control.Err), Target: errText(r.Candidate.Err)}
			} else {
				o.Fields["value"] = report.Values{Source: r.Control.Value, Target: r.Candidate.Value}
			}
		}
		t.Record(name, o)
	})
}

func errText(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
