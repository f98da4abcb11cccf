package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// chartDays is how many days the usage chart covers.
const chartDays = 30

// chart is the usage page's bar chart of executions and failures per UTC
// day, drawn here as SVG so the page needs no chart script.
type chart struct {
	days []spoke.DayRuns // chartDays entries, oldest first, zero-filled
}

func newChart(now time.Time, runs []spoke.DayRuns) chart {
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	byDay := map[string]spoke.DayRuns{}
	for _, d := range runs {
		byDay[d.Day.Format("2006-01-02")] = d
	}
	c := chart{days: make([]spoke.DayRuns, chartDays)}
	for i := range c.days {
		day := first.AddDate(0, 0, i)
		d := byDay[day.Format("2006-01-02")]
		d.Day = day
		c.days[i] = d
	}
	return c
}

func (c chart) totals() (t struct{ Executions, Failures int64 }) {
	for _, d := range c.days {
		t.Executions += d.Executions
		t.Failures += d.Failures
	}
	return t
}

// svg draws the chart: one bar per day for executions, a darker bar over
// it for failures, a labelled y axis, and a <title> on each bar for the
// exact figures. Only numbers and dates go into the markup.
func (c chart) svg() template.HTML {
	const w, h, left, bottom, top = 760.0, 240.0, 48.0, 28.0, 12.0
	var max int64 = 1
	for _, d := range c.days {
		if d.Executions > max {
			max = d.Executions
		}
	}
	scale := niceCeil(max)
	plotW, plotH := w-left-8, h-bottom-top
	barW := plotW / chartDays
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="chart-title"><title id="chart-title">Executions and failures per day, last %d days (UTC)</title>`, w, h, chartDays)
	for i := 0; i <= 4; i++ {
		v := float64(scale) * float64(i) / 4
		y := top + plotH - plotH*v/float64(scale)
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text class="axis" x="%.1f" y="%.1f" text-anchor="end">%g</text>`,
			left, w-8, y, y, left-6, y+4, v)
	}
	for i, d := range c.days {
		x := left + float64(i)*barW
		eh := plotH * float64(d.Executions) / float64(scale)
		fh := plotH * float64(d.Failures) / float64(scale)
		fmt.Fprintf(&b, `<g><title>%s: %d executions, %d failed</title>`, d.Day.Format("Jan 2"), d.Executions, d.Failures)
		fmt.Fprintf(&b, `<rect class="bar-runs" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+1, top+plotH-eh, barW-2, eh)
		if d.Failures > 0 {
			fmt.Fprintf(&b, `<rect class="bar-fail" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+1, top+plotH-fh, barW-2, fh)
		}
		b.WriteString(`</g>`)
		if i%5 == 0 || i == chartDays-1 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+barW/2, h-8, d.Day.Format("Jan 2"))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, so the axis
// reads in round numbers.
func niceCeil(n int64) int64 {
	p := int64(1)
	for {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
		p *= 10
	}
}
