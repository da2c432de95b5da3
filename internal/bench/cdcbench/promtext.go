package main

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// metricValue returns the value of an unlabelled sample in Prometheus text format, or -1.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// histogram is a Prometheus histogram read back from text format.
type histogram struct {
	Count   float64
	Sum     float64
	buckets []bucket // cumulative, by upper bound
}

type bucket struct{ le, count float64 }

func parseHistogram(text, name string) (histogram, bool) {
	var h histogram
	found := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, name+"_bucket{"):
			i := strings.Index(line, `le="`)
			j := strings.Index(line, `"} `)
			if i < 0 || j < i {
				continue
			}
			le, err1 := strconv.ParseFloat(line[i+4:j], 64)
			if line[i+4:j] == "+Inf" {
				le, err1 = math.Inf(1), nil
			}
			c, err2 := strconv.ParseFloat(strings.TrimSpace(line[j+3:]), 64)
			if err1 == nil && err2 == nil {
				h.buckets = append(h.buckets, bucket{le, c})
				found = true
			}
		case strings.HasPrefix(line, name+"_sum "):
			h.Sum, _ = strconv.ParseFloat(strings.TrimSpace(line[len(name)+5:]), 64)
		case strings.HasPrefix(line, name+"_count "):
			h.Count, _ = strconv.ParseFloat(strings.TrimSpace(line[len(name)+7:]), 64)
		}
	}
	sort.Slice(h.buckets, func(a, b int) bool { return h.buckets[a].le < h.buckets[b].le })
	return h, found && h.Count > 0
}

// quantile estimates q as Prometheus's histogram_quantile does: linear within the
// bucket that holds it, so it is only as fine as the buckets.
func (h histogram) quantile(q float64) float64 {
	if len(h.buckets) == 0 || h.Count == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	lower, below := 0.0, 0.0
	for _, b := range h.buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lower
			}
			if b.count == below {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/(b.count-below)
		}
		lower, below = b.le, b.count
	}
	return lower
}

func (h histogram) mean() float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	return h.Sum / h.Count
}
