// Package tally counts behaviour comparisons per endpoint (an HTTP route, or an
// experiment's name): how many were compared and matched, which fields differed and how
// often, which fields were learnt as noise, and a capped list of samples. The shadow proxy
// and experiments record into it; its snapshots go to reports and the parity store.
package tally

import (
	"sort"
	"sync"
	"time"

	"github.com/strangler/strangler/compare/report"
)

// Tally is safe for concurrent use.
type Tally struct {
	mu         sync.Mutex
	maxSamples int
	eps        map[string]*endpoint
}

type endpoint struct {
	e      report.Endpoint
	fields map[string]int64
	noise  map[string]bool
}

// New keeps up to maxSamples mismatch samples per endpoint.
func New(maxSamples int) *Tally {
	if maxSamples < 0 {
		maxSamples = 0
	}
	return &Tally{maxSamples: maxSamples, eps: map[string]*endpoint{}}
}

func (t *Tally) get(name string) *endpoint {
	e := t.eps[name]
	if e == nil {
		e = &endpoint{e: report.Endpoint{Endpoint: name}, fields: map[string]int64{}, noise: map[string]bool{}}
		t.eps[name] = e
	}
	return e
}

// Request counts a request served by the legacy side.
func (t *Tally) Request(name string) {
	t.mu.Lock()
	t.get(name).e.Requests++
	t.mu.Unlock()
}

// Mirrored counts a request sent to the candidate.
func (t *Tally) Mirrored(name string) {
	t.mu.Lock()
	t.get(name).e.Mirrored++
	t.mu.Unlock()
}

// Dropped counts a sampled request not mirrored (queue full).
func (t *Tally) Dropped(name string) {
	t.mu.Lock()
	t.get(name).e.Dropped++
	t.mu.Unlock()
}

// LearnNoise marks fields as noise for an endpoint: they differ between two answers of
// the legacy side, so their differences say nothing about the candidate.
func (t *Tally) LearnNoise(name string, fields []string) {
	if len(fields) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(name)
	for _, f := range fields {
		e.noise[f] = true
	}
}

// IsNoise reports whether a field was learnt as noise.
func (t *Tally) IsNoise(name, field string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.get(name).noise[field]
}

// Outcome is one comparison.
type Outcome struct {
	CandidateErr    error                    // the candidate failed: not compared
	Fields          map[string]report.Values // differing fields (after noise and ignore rules); empty: a match
	Method, URL     string
	LegacyStatus    int
	CandidateStatus int
}

// Record counts one comparison.
func (t *Tally) Record(name string, o Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(name)
	if o.CandidateErr != nil {
		e.e.CandidateErrors++
		return
	}
	e.e.Compared++
	if len(o.Fields) == 0 {
		e.e.Matches++
		return
	}
	e.e.Mismatches++
	for f := range o.Fields {
		e.fields[f]++
	}
	if len(e.e.Samples) < t.maxSamples {
		e.e.Samples = append(e.e.Samples, report.ShadowSample{At: time.Now().UTC(), Method: o.Method, URL: o.URL, Fields: o.Fields,
			Legacy: o.LegacyStatus, Candidate: o.CandidateStatus})
	}
}

// Snapshot returns every endpoint's counts so far, sorted by name.
func (t *Tally) Snapshot() []report.Endpoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]report.Endpoint, 0, len(t.eps))
	for _, e := range t.eps {
		r := e.e
		r.Samples = append([]report.ShadowSample(nil), e.e.Samples...)
		r.Fields = []report.FieldCount{}
		for f, n := range e.fields {
			r.Fields = append(r.Fields, report.FieldCount{Field: f, Count: n})
		}
		sort.Slice(r.Fields, func(i, j int) bool {
			if r.Fields[i].Count != r.Fields[j].Count {
				return r.Fields[i].Count > r.Fields[j].Count
			}
			return r.Fields[i].Field < r.Fields[j].Field
		})
		r.Noise = []string{}
		for f := range e.noise {
			r.Noise = append(r.Noise, f)
		}
		sort.Strings(r.Noise)
		if r.Samples == nil {
			r.Samples = []report.ShadowSample{}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}
