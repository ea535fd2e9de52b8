package main

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The HTML report is one self-contained page: the charts are inline SVG drawn by
// gonum/plot, so it needs no script and no network to be read (go-echarts pages load
// their JavaScript from a CDN, which a machine without internet cannot reach).

// writeHTML renders the report as a page with latency-over-time and throughput charts.
func writeHTML(w io.Writer, rep *Report) error {
	type chartedScenario struct {
		ScenarioReport
		Charts []template.HTML
	}
	page := struct {
		*Report
		Text    string
		Charted []chartedScenario
	}{Report: rep}
	var text bytes.Buffer
	writeText(&text, rep)
	page.Text = text.String()
	for _, s := range rep.Scenarios {
		cs := chartedScenario{ScenarioReport: s}
		for _, o := range s.Ops {
			if o.Count == 0 {
				continue
			}
			svg, err := latencyChart(fmt.Sprintf("%s (%s): %s, latency per second", s.Name, s.System, o.Name), o.Timeline)
			if err != nil {
				return err
			}
			cs.Charts = append(cs.Charts, svg)
		}
		svg, err := throughputChart(fmt.Sprintf("%s (%s): completions per second", s.Name, s.System), s.Ops)
		if err != nil {
			return err
		}
		cs.Charts = append(cs.Charts, svg)
		page.Charted = append(page.Charted, cs)
	}
	return pageTemplate.Execute(w, page)
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": msText, "pct": pctText,
	"thousands": func(n any) string {
		switch v := n.(type) {
		case int:
			return thousands(int64(v))
		case int64:
			return thousands(v)
		}
		return fmt.Sprint(n)
	},
	"counts": func(m map[string]int64) string { return countsText(intCounts(m)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ringback load test {{.Started.UTC.Format "2006-01-02 15:04"}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left} .ok{color:#080;font-weight:bold} .fail{color:#c00;font-weight:bold}
.chart svg{max-width:100%;height:auto} details pre{font-size:12px;background:#f6f6f6;padding:1em;overflow:auto}
</style></head><body>
<h1>Ringback load test, {{.Started.UTC.Format "2006-01-02 15:04:05"}} UTC:
{{if .OK}}<span class="ok">every invariant held</span>{{else}}<span class="fail">FAILED</span>{{end}}</h1>
<p>{{.Machine.CPUs}} CPUs {{.Machine.CPUModel}}, {{.Machine.OS}}, {{.Machine.GoVersion}}. Engine: {{.Mode}} {{.EngineURL}}.
{{thousands .Config.Tenants}} tenants, {{thousands .Config.Resources}} resources, {{thousands .Config.BusinessNumbers}} business numbers; {{.Config.Service}}.</p>

<h2>Invariants</h2>
<table><tr><th>invariant</th><th>checked</th><th>violations</th><th>outcomes</th></tr>
{{range .Invariants}}<tr><td>{{if .OK}}<span class="ok">ok</span>{{else}}<span class="fail">FAIL</span>{{end}} {{.Name}}{{range .Examples}}<br><small>{{.}}</small>{{end}}</td>
<td>{{thousands .Checked}}</td><td>{{thousands .Violations}}</td><td>{{counts .Outcomes}}</td></tr>
{{end}}</table>

{{if .Comparisons}}<h2>The engine against the Postgres baseline</h2>
<table><tr><th>scenario / op</th><th>system</th><th>attempts/s</th><th>count</th><th>held</th><th>taken</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>
{{range .Comparisons}}
<tr><td>{{.Scenario}} / {{.Op}}</td><td>ringback</td><td>{{printf "%.1f" .Ringback.AchievedRate}}</td><td>{{.Ringback.Count}}</td><td>{{.Ringback.Held}}</td><td>{{.Ringback.Taken}}</td><td>{{.Ringback.Errors}}</td><td>{{ms .Ringback.P50MS}}</td><td>{{ms .Ringback.P95MS}}</td><td>{{ms .Ringback.P99MS}}</td><td>{{ms .Ringback.MaxMS}}</td></tr>
<tr><td></td><td>postgres baseline</td><td>{{printf "%.1f" .Baseline.AchievedRate}}</td><td>{{.Baseline.Count}}</td><td>{{.Baseline.Held}}</td><td>{{.Baseline.Taken}}</td><td>{{.Baseline.Errors}}</td><td>{{ms .Baseline.P50MS}}</td><td>{{ms .Baseline.P95MS}}</td><td>{{ms .Baseline.P99MS}}</td><td>{{ms .Baseline.MaxMS}}</td></tr>
{{end}}</table>{{end}}

{{range .Charted}}
<h2>{{.Name}} ({{.System}})</h2>
<p>Offered {{printf "%.1f" .OfferedRate}}/s for {{.DurationS}}s: started {{.Started}} of {{.Planned}} at {{printf "%.1f" .AchievedRate}}/s
({{.Late}} late), all done after {{.WallS}}s.{{with .CPU}} CPU, % of one core: engine {{pct .Engine}}, postgres {{pct .Postgres}}, harness {{pct .Harness}}, everything else on the machine {{pct .Other}}.{{end}}</p>
<table><tr><th>operation</th><th>count</th><th>rate/s</th><th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>
{{range .Ops}}{{if .Count}}<tr><td>{{.Name}}</td><td>{{.Count}}</td><td>{{printf "%.1f" .Rate}}</td><td>{{ms .P50MS}}</td><td>{{ms .P90MS}}</td><td>{{ms .P95MS}}</td><td>{{ms .P99MS}}</td><td>{{ms .P999MS}}</td><td>{{ms .MaxMS}}</td></tr>{{end}}
{{end}}</table>
{{with .EngineAutoSMS}}{{if .Count}}<p>The engine's own {{.Metric}} (bucket estimates): {{.Count}} observations, p50 {{ms .P50MS}} ms, p95 {{ms .P95MS}} ms, p99 {{ms .P99MS}} ms.</p>{{end}}{{end}}
<p>Outcomes: {{counts .Outcomes}}.<br>Errors: {{counts .Errors}}.{{range .Notes}}<br>{{.}}{{end}}</p>
{{range .Charts}}<div class="chart">{{.}}</div>{{end}}
{{end}}

{{if .Problems}}<h2>Problems</h2><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
<details><summary>The text report</summary><pre>{{.Text}}</pre></details>
</body></html>
`))

// latencyChart plots an operation's p50, p95, p99 and max per second, on a log scale.
func latencyChart(title string, timeline []Point) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the scenario started"
	p.Y.Label.Text = "ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i, s := range []struct {
		name string
		get  func(Point) float64
	}{
		{"p50", func(p Point) float64 { return p.P50MS }},
		{"p95", func(p Point) float64 { return p.P95MS }},
		{"p99", func(p Point) float64 { return p.P99MS }},
		{"max", func(p Point) float64 { return p.MaxMS }},
	} {
		var xys plotter.XYs
		for _, pt := range timeline {
			if pt.Count > 0 {
				xys = append(xys, plotter.XY{X: float64(pt.T) + 0.5, Y: max(s.get(pt), 0.001)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addLine(p, s.name, xys, i); err != nil {
			return "", err
		}
	}
	p.Y.Max *= 4 // room for the legend above the lines
	return svgOf(p)
}

// throughputChart plots every operation's completions per second.
func throughputChart(title string, ops []OpReport) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the scenario started"
	p.Y.Label.Text = "per second"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i, o := range ops {
		if o.Count == 0 {
			continue
		}
		xys := make(plotter.XYs, len(o.Timeline))
		for j, pt := range o.Timeline {
			xys[j] = plotter.XY{X: float64(pt.T) + 0.5, Y: float64(pt.Count)}
		}
		if err := addLine(p, o.Name, xys, i); err != nil {
			return "", err
		}
	}
	p.Y.Min = 0
	p.Y.Max *= 1.1 + 0.12*float64(len(ops)) // room for the legend above the lines
	return svgOf(p)
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, i int) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// svgOf draws p as an SVG element to inline in the page.
func svgOf(p *plot.Plot) (template.HTML, error) {
	c := vgsvg.New(10*vg.Inch, 3*vg.Inch)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	svg := buf.String()
	if i := strings.Index(svg, "<svg"); i > 0 {
		svg = svg[i:] // drop the XML prolog: the element is inlined in HTML
	}
	return template.HTML(svg), nil // drawn here from numbers: no user text but titles, which plot escapes
}
