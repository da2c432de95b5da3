// Package report holds what a parity run found, in the shape of the JSON report
// (docs/compare-report.schema.json), and renders it as JSON, Markdown and a self-contained
// HTML page. It also decides, per table, whether it is ready to cut over.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strangler/strangler/cdc/event"
)

// Verdicts.
const (
	Match    = "match"
	Mismatch = "mismatch"
	Error    = "error"
)

// KV is one column of a key.
type KV struct {
	Column string
	Value  any // as in CDC events: nil, int64, uint64, float64, bool, string, []byte, json.RawMessage
}

// Key is a row's key: an object from key column name to value, in key order.
type Key []KV

// MarshalJSON writes the key as an object, values encoded as CDC events encode them.
func (k Key) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, kv := range k {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = event.AppendString(buf, kv.Column)
		buf = append(buf, ':')
		buf = event.AppendValue(buf, kv.Value)
	}
	return append(buf, '}'), nil
}

// UnmarshalJSON reads an object keeping its order; values stay as raw JSON.
func (k *Key) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("key: expected an object")
	}
	*k = nil
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*k = append(*k, KV{Column: t.(string), Value: v})
	}
	return nil
}

// String is the key as compact JSON.
func (k Key) String() string {
	b, _ := k.MarshalJSON()
	return string(b)
}

// Values is one column's two values.
type Values struct {
	Source any
	Target any
}

// MarshalJSON writes {"source": v, "target": v} with CDC encoding.
func (v Values) MarshalJSON() ([]byte, error) {
	buf := []byte(`{"source":`)
	buf = event.AppendValue(buf, v.Source)
	buf = append(buf, `,"target":`...)
	buf = event.AppendValue(buf, v.Target)
	return append(buf, '}'), nil
}

// UnmarshalJSON keeps both values as raw JSON.
func (v *Values) UnmarshalJSON(b []byte) error {
	var raw struct {
		Source json.RawMessage `json:"source"`
		Target json.RawMessage `json:"target"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v.Source, v.Target = nullable(raw.Source), nullable(raw.Target)
	return nil
}

func nullable(r json.RawMessage) any {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return r
}

// Change is a row present on both sides with different values.
type Change struct {
	Key     Key               `json:"key"`
	Columns map[string]Values `json:"columns"`
}

// Counts are the number of rows of each kind. They are exact whatever the sample cap.
type Counts struct {
	Missing  int64 `json:"missing"`   // in the source, not in the target
	Extra    int64 `json:"extra"`     // in the target, not in the source
	Changed  int64 `json:"changed"`   // in both, with different values
	InFlight int64 `json:"in_flight"` // found different, then equal when checked again: changes still replicating
}

// Differences is the number of rows that differ for good.
func (c Counts) Differences() int64 { return c.Missing + c.Extra + c.Changed }

// Table is the result of comparing one table pair.
type Table struct {
	Source      string   `json:"source"`
	Target      string   `json:"target"`
	Verdict     string   `json:"verdict"`
	Error       string   `json:"error,omitempty"`
	SourceRows  int64    `json:"source_rows"`
	TargetRows  int64    `json:"target_rows"`
	Parity      float64  `json:"parity"` // percent of rows that match: 100 × (1 − differences / max(source_rows, target_rows))
	Counts      Counts   `json:"counts"`
	Missing     []Key    `json:"missing"`
	Extra       []Key    `json:"extra"`
	Changed     []Change `json:"changed"`
	Truncated   bool     `json:"samples_truncated"` // more rows differ than the samples list
	Key         []string `json:"key,omitempty"`
	Columns     []string `json:"columns,omitempty"`      // compared columns (source names)
	NotCompared []string `json:"not_compared,omitempty"` // target columns with no source counterpart
	Warnings    []string `json:"warnings,omitempty"`
	Chunks      int64    `json:"chunks"`
	DurationMS  int64    `json:"duration_ms"`
	Resumed     bool     `json:"resumed,omitempty"`
}

// Finish sets the verdict and parity from the counts.
func (t *Table) Finish() {
	if t.Missing == nil {
		t.Missing = []Key{}
	}
	if t.Extra == nil {
		t.Extra = []Key{}
	}
	if t.Changed == nil {
		t.Changed = []Change{}
	}
	t.Parity = Parity(t.SourceRows, t.TargetRows, t.Counts)
	switch {
	case t.Error != "":
		t.Verdict = Error
	case t.Counts.Differences() > 0:
		t.Verdict = Mismatch
	default:
		t.Verdict = Match
	}
}

// Parity is the percent of rows that match.
func Parity(sourceRows, targetRows int64, c Counts) float64 {
	n := max(sourceRows, targetRows)
	if n == 0 {
		if c.Differences() > 0 {
			return 0
		}
		return 100
	}
	p := 100 * (1 - float64(c.Differences())/float64(n))
	if p < 0 {
		return 0
	}
	return p
}

// Endpoint is what the shadow proxy saw for one endpoint (method and route).
type Endpoint struct {
	Endpoint        string         `json:"endpoint"`
	Requests        int64          `json:"requests"`         // requests proxied to the legacy service
	Mirrored        int64          `json:"mirrored"`         // sampled and sent to the candidate
	Compared        int64          `json:"compared"`         // answered by both and compared
	Matches         int64          `json:"matches"`          // same answer (noise excluded)
	Mismatches      int64          `json:"mismatches"`       // different answer
	CandidateErrors int64          `json:"candidate_errors"` // the candidate failed or timed out
	Dropped         int64          `json:"dropped"`          // not mirrored because the mirror queue was full
	Fields          []FieldCount   `json:"fields"`           // differing fields, most frequent first
	Noise           []string       `json:"noise"`            // fields that differ between two legacy answers: ignored
	Samples         []ShadowSample `json:"samples"`
}

// FieldCount is how often a field differed.
type FieldCount struct {
	Field string `json:"field"`
	Count int64  `json:"count"`
}

// ShadowSample is one mismatching answer.
type ShadowSample struct {
	At        time.Time         `json:"at"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Fields    map[string]Values `json:"fields"` // field path to legacy (source) and candidate (target) value
	Legacy    int               `json:"legacy_status"`
	Candidate int               `json:"candidate_status"`
}

// Parity of an endpoint: percent of compared answers that matched.
func (e Endpoint) Parity() float64 {
	if e.Compared == 0 {
		return 100
	}
	return 100 * float64(e.Matches) / float64(e.Compared)
}

// Run is one data or shadow run.
type Run struct {
	ID         int64      `json:"id,omitempty"`
	Kind       string     `json:"kind"` // data or shadow
	Name       string     `json:"name,omitempty"`
	Status     string     `json:"status"` // running, done, failed
	Verdict    string     `json:"verdict"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Source     string     `json:"source,omitempty"` // redacted address
	Target     string     `json:"target,omitempty"`
	Error      string     `json:"error,omitempty"`
	Tables     []Table    `json:"tables,omitempty"`
	Endpoints  []Endpoint `json:"endpoints,omitempty"`
}

// Verdict of a set of tables: error if any failed, else mismatch if any differs.
func Verdict(tables []Table) string {
	v := Match
	for _, t := range tables {
		switch t.Verdict {
		case Error:
			return Error
		case Mismatch:
			v = Mismatch
		}
	}
	return v
}
