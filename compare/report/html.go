package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML renders the document as one self-contained page: inline CSS and SVG charts,
// no scripts, fonts or images from elsewhere.
func (d *Document) WriteHTML(w io.Writer) error {
	return page.Execute(w, d)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":      pct,
	"add":      func(a, b int) int { return a + b },
	"pair":     pairName,
	"value":    valueText,
	"fields":   sortedFields,
	"ready":    func(d *Document) [2]int { r, t := d.Ready(); return [2]int{r, t} },
	"trend":    trendSVG,
	"bars":     parityBarsSVG,
	"fieldbar": fieldBarsSVG,
	"describe": describe,
	"diffs":    func(c Counts) int64 { return c.Differences() },
	"date":     func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04") },
	"limit": func(n int, xs any) int {
		switch x := xs.(type) {
		case []Key:
			return min(n, len(x))
		case []Change:
			return min(n, len(x))
		}
		return n
	},
}).Parse(pageTemplate))

const pageTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parity report — {{.Verdict}}</title>
<style>
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--mut:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;margin:0;padding:24px 32px;max-width:1320px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px} h3{font-size:15px;margin:20px 0 6px}
.mut{color:var(--mut)} code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.banner{display:flex;gap:24px;align-items:center;padding:16px 20px;border-radius:8px;margin:16px 0;border:1px solid var(--line);background:var(--bg)}
.banner .big{font-size:28px;font-weight:600}
.pill{display:inline-block;padding:1px 10px;border-radius:12px;font-weight:600;font-size:12px;color:#fff}
.pill.match,.pill.yes{background:var(--ok)} .pill.mismatch,.pill.no{background:var(--bad)} .pill.error{background:var(--warn)}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
td.src{background:#fff8f0} td.tgt{background:#f0f6ff}
tr.notready td:first-child{border-left:4px solid var(--bad)} tr.isready td:first-child{border-left:4px solid var(--ok)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card h4{margin:0 0 4px;font-size:14px}
.legend{font-size:12px;color:var(--mut)}
.val{max-width:420px;overflow-wrap:anywhere}
</style></head><body>
<h1>Parity report</h1>
<div class="mut">Generated {{date .GeneratedAt}} UTC{{with .Run}} · data run #{{.ID}}{{if .Name}} ({{.Name}}){{end}} started {{date .StartedAt}}{{end}}{{with .ShadowRun}} · shadow run #{{.ID}}{{end}}</div>
{{$r := ready .}}
<div class="banner">
 <div><div class="mut">Verdict</div><span class="pill {{.Verdict}}">{{.Verdict}}</span></div>
 {{if .Readiness}}<div><div class="mut">Ready to cut over</div><div class="big">{{index $r 0}} of {{index $r 1}} tables</div></div>{{end}}
 <div class="mut" style="flex:1">A table is ready when its parity is at least <b>{{pct .Policy.Threshold}}</b> in each of its last <b>{{.Policy.Window}}</b> runs and its latest run found no difference. Parity = rows that match ÷ rows on the larger side. Rows that differed and then converged when checked again (changes still replicating) are counted as <i>in flight</i>, not as differences.</div>
</div>

{{if .Readiness}}
<h2>Ready to cut over?</h2>
<table><tr><th>Table (legacy → new)</th><th>Ready</th><th>Why</th><th>Latest parity</th></tr>
{{range .Readiness}}<tr class="{{if .Ready}}isready{{else}}notready{{end}}"><td><b>{{pair .Source .Target}}</b></td>
<td>{{if .Ready}}<span class="pill yes">yes</span>{{else}}<span class="pill no">no</span>{{end}}</td>
<td>{{.Reason}}</td><td class="n">{{with .History}}{{pct (index . (len . | add -1)).Parity}}{{end}}</td></tr>
{{end}}</table>
<h3>Parity over time</h3>
<div class="legend">One chart per table, runs oldest to newest; the dashed line is the required parity.</div>
<div class="cards">{{range .Readiness}}<div class="card"><h4>{{pair .Source .Target}}</h4>{{trend .History $.Policy.Threshold}}</div>{{end}}</div>
{{end}}

{{with .Run}}
<h2>Data run #{{.ID}}</h2>
<div class="mut">Legacy (source): <code>{{.Source}}</code> · New (target): <code>{{.Target}}</code> · status {{.Status}}</div>
{{end}}
{{if .Tables}}
{{bars .Tables .Policy.Threshold}}
<table><tr><th>Table</th><th>Verdict</th><th>Source rows</th><th>Target rows</th><th>Missing</th><th>Extra</th><th>Changed</th><th>In flight</th><th>Parity</th></tr>
{{range .Tables}}<tr><td>{{pair .Source .Target}}</td><td><span class="pill {{.Verdict}}">{{.Verdict}}</span></td>
<td class="n">{{.SourceRows}}</td><td class="n">{{.TargetRows}}</td><td class="n">{{.Counts.Missing}}</td><td class="n">{{.Counts.Extra}}</td>
<td class="n">{{.Counts.Changed}}</td><td class="n">{{.Counts.InFlight}}</td><td class="n">{{pct .Parity}}</td></tr>{{end}}
</table>
{{range .Tables}}{{if eq .Verdict "error"}}<h3>{{pair .Source .Target}}: could not be compared</h3><p class="mono">{{.Error}}</p>{{end}}
{{if gt (diffs .Counts) 0}}
<h3>{{pair .Source .Target}}: {{describe .Counts}}</h3>
{{if .Truncated}}<p class="mut">Samples are capped; the counts are exact.</p>{{end}}
{{if .Changed}}<table><tr><th>Key</th><th>Column</th><th>Legacy (source)</th><th>New (target)</th></tr>
{{range $i, $c := .Changed}}{{if lt $i 200}}{{range $col := fields $c.Columns}}{{$v := index $c.Columns $col}}<tr><td class="mono">{{$c.Key.String}}</td><td>{{$col}}</td><td class="src mono val">{{value $v.Source}}</td><td class="tgt mono val">{{value $v.Target}}</td></tr>{{end}}{{end}}{{end}}
</table>{{if gt (len .Changed) 200}}<p class="mut">…{{len .Changed}} changed rows in the JSON report.</p>{{end}}{{end}}
{{if .Missing}}<p><b>Only in the legacy table</b> (missing from the new one):</p><table><tr><th>Key</th><th>Legacy (source)</th><th>New (target)</th></tr>
{{range $i, $k := .Missing}}{{if lt $i 200}}<tr><td class="mono">{{$k.String}}</td><td class="src">present</td><td class="tgt">absent</td></tr>{{end}}{{end}}</table>{{end}}
{{if .Extra}}<p><b>Only in the new table</b> (extra):</p><table><tr><th>Key</th><th>Legacy (source)</th><th>New (target)</th></tr>
{{range $i, $k := .Extra}}{{if lt $i 200}}<tr><td class="mono">{{$k.String}}</td><td class="src">absent</td><td class="tgt">present</td></tr>{{end}}{{end}}</table>{{end}}
{{end}}{{if .Warnings}}<p class="mut">{{pair .Source .Target}}: {{range .Warnings}}{{.}}. {{end}}</p>{{end}}{{end}}
{{end}}

{{if .ShadowRun}}
<h2>Behaviour: shadow run #{{.ShadowRun.ID}}</h2>
<div class="mut">Legacy: <code>{{.ShadowRun.Source}}</code> · Candidate: <code>{{.ShadowRun.Target}}</code>. Fields that differ between two answers of the legacy service are learnt as noise and ignored.</div>
<table><tr><th>Endpoint</th><th>Requests</th><th>Compared</th><th>Matches</th><th>Mismatches</th><th>Candidate errors</th><th>Parity</th><th>Noise ignored</th></tr>
{{range .Shadow}}<tr><td class="mono">{{.Endpoint}}</td><td class="n">{{.Requests}}</td><td class="n">{{.Compared}}</td><td class="n">{{.Matches}}</td><td class="n">{{.Mismatches}}</td><td class="n">{{.CandidateErrors}}</td><td class="n">{{pct .Parity}}</td><td class="mono">{{range $i, $n := .Noise}}{{if $i}}, {{end}}{{$n}}{{end}}</td></tr>{{end}}
</table>
{{range .Shadow}}{{if .Fields}}<h3 class="mono">{{.Endpoint}}</h3>{{fieldbar .Fields}}
{{if .Samples}}<table><tr><th>Request</th><th>Field</th><th>Legacy</th><th>Candidate</th></tr>
{{range $i, $s := .Samples}}{{if lt $i 20}}{{range $f := fields $s.Fields}}{{$v := index $s.Fields $f}}<tr><td class="mono">{{$s.Method}} {{$s.URL}}</td><td class="mono">{{$f}}</td><td class="src mono val">{{value $v.Source}}</td><td class="tgt mono val">{{value $v.Target}}</td></tr>{{end}}{{end}}{{end}}
</table>{{end}}{{end}}{{end}}
{{end}}

{{if .History}}
<h2>Run history</h2>
<table><tr><th>Run</th><th>Kind</th><th>Started</th><th>Status</th><th>Verdict</th><th>Tables (parity)</th></tr>
{{range .History}}<tr><td>#{{.ID}} {{.Name}}</td><td>{{.Kind}}</td><td>{{date .StartedAt}}</td><td>{{.Status}}</td><td><span class="pill {{.Verdict}}">{{.Verdict}}</span></td>
<td>{{range $i, $t := .Tables}}{{if $i}}, {{end}}{{$t.Source}} {{pct $t.Parity}}{{end}}</td></tr>{{end}}
</table>
{{end}}
<p class="mut">strangler compare · JSON schema: docs/compare-report.schema.json</p>
</body></html>
`

// trendSVG draws a table's parity over runs with the threshold as a dashed line.
func trendSVG(points []ParityPoint, threshold float64) template.HTML {
	const w, h, pl, pr, pt, pb = 290.0, 110.0, 60.0, 8.0, 8.0, 22.0
	if len(points) == 0 {
		return ""
	}
	lo := math.Min(threshold, 100)
	for _, p := range points {
		lo = math.Min(lo, p.Parity)
	}
	// Zoom on the interesting band: parities near 100% would otherwise all look flat.
	span := 100 - lo
	if span < 0.01 {
		span = 0.01
	}
	lo = math.Max(0, lo-span*0.15)
	y := func(p float64) float64 { return pt + (100-p)/(100-lo)*(h-pt-pb) }
	x := func(i int) float64 {
		if len(points) == 1 {
			return pl + (w-pl-pr)/2
		}
		return pl + float64(i)*(w-pl-pr)/float64(len(points)-1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="parity over runs">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f6f8fa"/>`, pl, pt, w-pl-pr, h-pt-pb)
	for _, v := range []float64{100, lo} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#57606a">%s</text>`, pl-4, y(v)+3, template.HTMLEscapeString(pct(v)))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#9a6700" stroke-dasharray="4 3"/>`, pl, w-pr, y(threshold), y(threshold))
	var path []string
	for i, p := range points {
		path = append(path, fmt.Sprintf("%.1f,%.1f", x(i), y(p.Parity)))
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#0969da" stroke-width="2"/>`, strings.Join(path, " "))
	for i, p := range points {
		c := "#1a7f37"
		if p.Differences > 0 || p.Verdict != Match {
			c = "#cf222e"
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>run #%d: %s, %d differences</title></circle>`, x(i), y(p.Parity), c, p.Run, template.HTMLEscapeString(pct(p.Parity)), p.Differences)
		if len(points) <= 12 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle" fill="#57606a">#%d</text>`, x(i), h-6, p.Run)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// parityBarsSVG draws the latest run's parity per table.
func parityBarsSVG(tables []Table, threshold float64) template.HTML {
	const w, row, label = 900.0, 26.0, 260.0
	h := row*float64(len(tables)) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="parity per table">`, w, h, w, h)
	bar := w - label - 90
	for i, t := range tables {
		yy := float64(i)*row + 4
		c := "#1a7f37"
		switch {
		case t.Verdict == Error:
			c = "#9a6700"
		case t.Counts.Differences() > 0:
			c = "#cf222e"
		}
		name := pairName(t.Source, t.Target)
		if len(name) > 40 {
			name = name[:39] + "…"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end" fill="#1f2328">%s</text>`, label-8, yy+14, template.HTMLEscapeString(name))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="18" fill="#eaeef2"/>`, label, yy, bar)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="18" fill="%s"/>`, label, yy, bar*t.Parity/100, c)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#1f2328">%s</text>`, label+bar+6, yy+14, template.HTMLEscapeString(pct(t.Parity)))
	}
	tx := label + bar*threshold/100
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="0" y2="%.1f" stroke="#9a6700" stroke-dasharray="4 3"/>`, tx, tx, h-18)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#9a6700">required %s</text>`, tx, h-6, template.HTMLEscapeString(pct(threshold)))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// fieldBarsSVG draws how often each field differed at one endpoint.
func fieldBarsSVG(fields []FieldCount) template.HTML {
	if len(fields) > 15 {
		fields = fields[:15]
	}
	const w, row, label = 700.0, 22.0, 260.0
	h := row*float64(len(fields)) + 6
	var top int64 = 1
	for _, f := range fields {
		top = max(top, f.Count)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="mismatches by field">`, w, h, w, h)
	bar := w - label - 60
	for i, f := range fields {
		yy := float64(i)*row + 3
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" font-family="monospace" text-anchor="end">%s</text>`, label-8, yy+12, template.HTMLEscapeString(f.Field))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="15" fill="#cf222e"/>`, label, yy, math.Max(2, bar*float64(f.Count)/float64(top)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12">%d</text>`, label+math.Max(2, bar*float64(f.Count)/float64(top))+6, yy+12, f.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
