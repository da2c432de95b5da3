package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/strangler/strangler/cdc/event"
)

// WriteMarkdown renders the document for a pull request or a ticket.
func (d *Document) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	ready, total := d.Ready()
	b.WriteString("# Parity report\n\n")
	fmt.Fprintf(&b, "Generated %s. Verdict: **%s**", d.GeneratedAt.Format("2006-01-02 15:04 MST"), d.Verdict)
	if total > 0 {
		fmt.Fprintf(&b, " — **%d of %d tables ready to cut over**", ready, total)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "A table is ready when its parity is at least %s in each of its last %d runs and its latest run found no difference. Rows found different and equal again when re-checked (changes still replicating) count as *in flight*, not as differences.\n\n",
		pct(d.Policy.Threshold), d.Policy.Window)

	if len(d.Readiness) > 0 {
		b.WriteString("## Ready to cut over?\n\n| Table (legacy → new) | Ready | Why | Parity, latest | Parity, runs oldest → newest |\n|---|---|---|---|---|\n")
		for _, r := range d.Readiness {
			mark := "❌ no"
			if r.Ready {
				mark = "✅ yes"
			}
			var hist []string
			for _, p := range r.History {
				hist = append(hist, pct(p.Parity))
			}
			latest := ""
			if n := len(r.History); n > 0 {
				latest = pct(r.History[n-1].Parity)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(pairName(r.Source, r.Target)), mark, mdCell(r.Reason), latest, strings.Join(hist, " → "))
		}
		b.WriteString("\n")
	}

	if d.Run != nil {
		fmt.Fprintf(&b, "## Data run #%d\n\nStarted %s, status %s. Legacy (source): `%s`. New (target): `%s`.\n\n",
			d.Run.ID, d.Run.StartedAt.Format("2006-01-02 15:04:05 MST"), d.Run.Status, d.Run.Source, d.Run.Target)
		b.WriteString("| Table | Verdict | Source rows | Target rows | Missing | Extra | Changed | In flight | Parity |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range d.Tables {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %s |\n", mdCell(pairName(t.Source, t.Target)), t.Verdict,
				t.SourceRows, t.TargetRows, t.Counts.Missing, t.Counts.Extra, t.Counts.Changed, t.Counts.InFlight, pct(t.Parity))
		}
		b.WriteString("\n")
		for _, t := range d.Tables {
			writeTableMD(&b, t)
		}
	}

	if d.ShadowRun != nil {
		fmt.Fprintf(&b, "## Behaviour: shadow run #%d\n\nLegacy: `%s`. Candidate: `%s`. Fields that differ between two answers of the legacy service (timestamps, generated ids) are learnt as noise and not reported.\n\n",
			d.ShadowRun.ID, d.ShadowRun.Source, d.ShadowRun.Target)
		b.WriteString("| Endpoint | Requests | Compared | Matches | Mismatches | Candidate errors | Parity | Differing fields | Noise ignored |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, e := range d.Shadow {
			var fs []string
			for _, f := range e.Fields {
				fs = append(fs, fmt.Sprintf("`%s` (%d)", f.Field, f.Count))
			}
			var ns []string
			for _, n := range e.Noise {
				ns = append(ns, "`"+n+"`")
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s |\n", mdCell(e.Endpoint), e.Requests, e.Compared, e.Matches,
				e.Mismatches, e.CandidateErrors, pct(e.Parity()), strings.Join(fs, ", "), strings.Join(ns, ", "))
		}
		b.WriteString("\n")
		for _, e := range d.Shadow {
			if len(e.Samples) == 0 {
				continue
			}
			fmt.Fprintf(&b, "### %s: sample mismatches\n\n| Request | Field | Legacy | Candidate |\n|---|---|---|---|\n", mdCell(e.Endpoint))
			for i, s := range e.Samples {
				if i >= 20 {
					fmt.Fprintf(&b, "\n…and %d more samples in the JSON report.\n", len(e.Samples)-i)
					break
				}
				for _, f := range sortedFields(s.Fields) {
					v := s.Fields[f]
					fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", mdCell(s.Method+" "+s.URL), f, mdValue(v.Source), mdValue(v.Target))
				}
			}
			b.WriteString("\n")
		}
	}

	if len(d.History) > 0 {
		b.WriteString("## Run history\n\n| Run | Kind | Started | Status | Verdict | Tables |\n|---|---|---|---|---|---|\n")
		for _, r := range d.History {
			var ts []string
			for _, t := range r.Tables {
				ts = append(ts, fmt.Sprintf("%s %s", t.Source, pct(t.Parity)))
			}
			fmt.Fprintf(&b, "| #%d %s | %s | %s | %s | %s | %s |\n", r.ID, mdCell(r.Name), r.Kind, r.StartedAt.Format("2006-01-02 15:04"), r.Status, r.Verdict, mdCell(strings.Join(ts, ", ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTableMD(b *strings.Builder, t Table) {
	if t.Verdict == Error {
		fmt.Fprintf(b, "### %s: error\n\n%s\n\n", pairName(t.Source, t.Target), t.Error)
		return
	}
	if t.Counts.Differences() == 0 {
		return
	}
	fmt.Fprintf(b, "### %s: %s\n\n", pairName(t.Source, t.Target), describe(t.Counts))
	if t.Truncated {
		b.WriteString("Samples below are capped; the counts above are exact.\n\n")
	}
	if len(t.Missing) > 0 {
		b.WriteString("In the legacy table, not in the new one (keys): ")
		writeKeys(b, t.Missing)
	}
	if len(t.Extra) > 0 {
		b.WriteString("In the new table, not in the legacy one (keys): ")
		writeKeys(b, t.Extra)
	}
	if len(t.Changed) > 0 {
		b.WriteString("| Key | Column | Legacy (source) | New (target) |\n|---|---|---|---|\n")
		for i, c := range t.Changed {
			if i >= 50 {
				fmt.Fprintf(b, "\n…and %d more changed rows in the JSON report.\n", len(t.Changed)-i)
				break
			}
			for _, col := range sortedFields(c.Columns) {
				v := c.Columns[col]
				fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", c.Key.String(), col, mdValue(v.Source), mdValue(v.Target))
			}
		}
	}
	b.WriteString("\n")
}

func writeKeys(b *strings.Builder, ks []Key) {
	for i, k := range ks {
		if i >= 50 {
			fmt.Fprintf(b, " …and %d more", len(ks)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + k.String() + "`")
	}
	b.WriteString("\n\n")
}

func sortedFields(m map[string]Values) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func pairName(s, t string) string {
	if s == t {
		return s
	}
	return s + " → " + t
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// valueText renders a value as its JSON encoding (as in CDC events).
func valueText(v any) string {
	if r, ok := v.(json.RawMessage); ok {
		return string(r)
	}
	return string(event.AppendValue(nil, v))
}

func mdValue(v any) string {
	s := valueText(v)
	if len(s) > 120 {
		s = s[:117] + "…"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
