package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Document is the JSON report (docs/compare-report.schema.json): the latest data run's
// tables in full, the readiness of each table over the recent runs, the history of runs,
// and the latest shadow run's endpoints.
type Document struct {
	Verdict     string       `json:"verdict"` // of the latest data run: match, mismatch or error
	GeneratedAt time.Time    `json:"generated_at"`
	Run         *RunSummary  `json:"run,omitempty"` // the run Tables come from
	Tables      []Table      `json:"tables"`
	Readiness   []Readiness  `json:"readiness"`
	Policy      Policy       `json:"policy"`
	History     []RunSummary `json:"history"` // newest first
	Shadow      []Endpoint   `json:"shadow,omitempty"`
	ShadowRun   *RunSummary  `json:"shadow_run,omitempty"`
}

// Policy is the rule a table must meet to be ready to cut over.
type Policy struct {
	Threshold float64 `json:"threshold"` // minimum parity, percent, in each of the last Window runs
	Window    int     `json:"window"`    // runs considered
}

// Readiness says whether a table can be cut over, and why.
type Readiness struct {
	Source  string        `json:"source"`
	Target  string        `json:"target"`
	Ready   bool          `json:"ready"`
	Reason  string        `json:"reason"`
	History []ParityPoint `json:"history"` // oldest first
}

// ParityPoint is a table's parity in one run.
type ParityPoint struct {
	Run         int64     `json:"run"`
	At          time.Time `json:"at"`
	Parity      float64   `json:"parity"`
	Differences int64     `json:"differences"`
	Verdict     string    `json:"verdict"`
}

// RunSummary is a run without its samples.
type RunSummary struct {
	ID         int64          `json:"id"`
	Kind       string         `json:"kind"`
	Name       string         `json:"name,omitempty"`
	Status     string         `json:"status"`
	Verdict    string         `json:"verdict"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Source     string         `json:"source,omitempty"`
	Target     string         `json:"target,omitempty"`
	Tables     []TableSummary `json:"tables,omitempty"`
}

// TableSummary is one table of a run, counts only.
type TableSummary struct {
	Source     string  `json:"source"`
	Target     string  `json:"target"`
	Verdict    string  `json:"verdict"`
	SourceRows int64   `json:"source_rows"`
	TargetRows int64   `json:"target_rows"`
	Parity     float64 `json:"parity"`
	Counts     Counts  `json:"counts"`
}

// Summary drops a run's samples.
func (r Run) Summary() RunSummary {
	s := RunSummary{ID: r.ID, Kind: r.Kind, Name: r.Name, Status: r.Status, Verdict: r.Verdict, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Source: r.Source, Target: r.Target}
	for _, t := range r.Tables {
		s.Tables = append(s.Tables, TableSummary{Source: t.Source, Target: t.Target, Verdict: t.Verdict,
			SourceRows: t.SourceRows, TargetRows: t.TargetRows, Parity: t.Parity, Counts: t.Counts})
	}
	return s
}

// Build assembles a document from runs, newest first. The first data run gives the tables;
// the first shadow run gives the endpoints.
func Build(runs []Run, p Policy, now time.Time) *Document {
	if p.Window <= 0 {
		p.Window = 3
	}
	if p.Threshold <= 0 {
		p.Threshold = 99.99
	}
	d := &Document{GeneratedAt: now.UTC(), Policy: p, Verdict: Match, Tables: []Table{}, Readiness: []Readiness{}, History: []RunSummary{}}
	var data []Run
	for _, r := range runs {
		d.History = append(d.History, r.Summary())
		switch r.Kind {
		case "data":
			data = append(data, r)
		case "shadow":
			if d.ShadowRun == nil {
				s := r.Summary()
				d.ShadowRun = &s
				d.Shadow = r.Endpoints
				sort.Slice(d.Shadow, func(i, j int) bool {
					if d.Shadow[i].Mismatches != d.Shadow[j].Mismatches {
						return d.Shadow[i].Mismatches > d.Shadow[j].Mismatches
					}
					return d.Shadow[i].Endpoint < d.Shadow[j].Endpoint
				})
			}
		}
	}
	if len(data) > 0 {
		latest := data[0]
		s := latest.Summary()
		d.Run = &s
		d.Tables = latest.Tables
		d.Verdict = Verdict(latest.Tables)
		d.Readiness = readiness(data, p)
	}
	if d.ShadowRun != nil && d.Verdict == Match {
		for _, e := range d.Shadow {
			if e.Mismatches > 0 {
				d.Verdict = Mismatch
			}
		}
	}
	return d
}

// readiness decides per table of the latest run, looking at the last Window runs that
// compared it.
func readiness(data []Run, p Policy) []Readiness {
	var out []Readiness
	for _, t := range data[0].Tables {
		rd := Readiness{Source: t.Source, Target: t.Target}
		var points []ParityPoint
		for _, r := range data {
			for _, rt := range r.Tables {
				if rt.Source == t.Source && rt.Target == t.Target {
					points = append(points, ParityPoint{Run: r.ID, At: r.StartedAt, Parity: rt.Parity, Differences: rt.Counts.Differences(), Verdict: rt.Verdict})
				}
			}
		}
		for i, j := 0, len(points)-1; i < j; i, j = i+1, j-1 {
			points[i], points[j] = points[j], points[i]
		}
		rd.History = points
		window := points
		if len(window) > p.Window {
			window = window[len(window)-p.Window:]
		}
		last := points[len(points)-1]
		switch {
		case t.Verdict == Error:
			rd.Reason = "the latest run could not compare it: " + t.Error
		case last.Differences > 0:
			rd.Reason = fmt.Sprintf("%s in the latest run (%s): unresolved", plural(last.Differences, "row differs", "rows differ"), describe(t.Counts))
		case len(window) < p.Window:
			rd.Reason = fmt.Sprintf("only %d of the %d runs the policy asks for", len(window), p.Window)
		default:
			worst := window[0]
			for _, pt := range window {
				if pt.Parity < worst.Parity || pt.Verdict == Error {
					worst = pt
				}
			}
			if worst.Verdict == Error {
				rd.Reason = fmt.Sprintf("run #%d could not compare it", worst.Run)
			} else if worst.Parity < p.Threshold {
				rd.Reason = fmt.Sprintf("parity %s in run #%d, below the %s required", pct(worst.Parity), worst.Run, pct(p.Threshold))
			} else {
				rd.Ready = true
				rd.Reason = fmt.Sprintf("parity at least %s in each of the last %d runs and no difference in the latest", pct(p.Threshold), len(window))
				if t.Counts.InFlight > 0 {
					rd.Reason += fmt.Sprintf(" (%d rows were in flight and converged)", t.Counts.InFlight)
				}
			}
		}
		out = append(out, rd)
	}
	return out
}

func describe(c Counts) string {
	var parts []string
	if c.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d missing in the target", c.Missing))
	}
	if c.Extra > 0 {
		parts = append(parts, fmt.Sprintf("%d extra in the target", c.Extra))
	}
	if c.Changed > 0 {
		parts = append(parts, fmt.Sprintf("%d with different values", c.Changed))
	}
	return strings.Join(parts, ", ")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func pct(p float64) string {
	s := fmt.Sprintf("%.4f", p)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// Ready counts the ready tables.
func (d *Document) Ready() (ready, total int) {
	for _, r := range d.Readiness {
		if r.Ready {
			ready++
		}
	}
	return ready, len(d.Readiness)
}

// WriteJSON writes the document as indented JSON.
func (d *Document) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
