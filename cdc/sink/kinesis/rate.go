package kinesis

import (
	"time"

	"golang.org/x/time/rate"
)

// adaptiveRate is the AIMD send limit: unlimited until Kinesis first throttles, then cut
// to half the rate actually sent (at most once per cutInterval, so one burst of throttled
// answers counts once), and raised additively while requests succeed.
type adaptiveRate struct {
	burst   int
	minRate float64
	lim     *rate.Limiter // nil while unlimited
	lastCut time.Time
	step    float64 // records/s added per second without throttling
	raised  time.Time
	sent    []sentMark // records sent over the last window, to measure the real rate
	started time.Time
}

type sentMark struct {
	at time.Time
	n  int
}

const (
	cutInterval  = time.Second
	rateWindow   = time.Second
	cutFactor    = 0.5
	raisePerCut  = 0.05 // share of the cut-from rate added per second
	minRaiseStep = 10   // records/s per second
)

func newAdaptiveRate(burst int, minRate float64, now time.Time) *adaptiveRate {
	return &adaptiveRate{burst: burst, minRate: minRate, started: now}
}

// limit is the current limit in records/s, 0 when unlimited.
func (a *adaptiveRate) limit() float64 {
	if a.lim == nil {
		return 0
	}
	return float64(a.lim.Limit())
}

// allowance returns how many records may be sent now (up to want), or when to ask again.
func (a *adaptiveRate) allowance(now time.Time, want int) (int, time.Time) {
	if a.lim == nil {
		return want, time.Time{}
	}
	// Wait for a tenth of a second's worth (or want, if less) rather than sending a
	// trickle of one-record requests.
	need := min(float64(want), max(1, a.limit()/10))
	tokens := a.lim.TokensAt(now)
	if tokens < need {
		return 0, now.Add(time.Duration((need - tokens) / a.limit() * float64(time.Second)))
	}
	return min(want, int(tokens)), time.Time{}
}

// took records n sent at now.
func (a *adaptiveRate) took(now time.Time, n int) {
	if a.lim != nil {
		a.lim.AllowN(now, n)
	}
	a.sent = append(a.sent, sentMark{now, n})
	i := 0
	for i < len(a.sent) && now.Sub(a.sent[i].at) > rateWindow {
		i++
	}
	a.sent = a.sent[i:]
}

// measured is the records/s sent over the last window.
func (a *adaptiveRate) measured(now time.Time) float64 {
	n := 0
	for _, m := range a.sent {
		if now.Sub(m.at) <= rateWindow {
			n += m.n
		}
	}
	span := min(rateWindow, max(now.Sub(a.started), 100*time.Millisecond))
	return float64(n) / span.Seconds()
}

// throttled cuts the limit; it reports whether it changed.
func (a *adaptiveRate) throttled(now time.Time) bool {
	if a.lim != nil && now.Sub(a.lastCut) < cutInterval {
		return false
	}
	from := a.measured(now)
	if a.lim != nil && (from == 0 || a.limit() < from) {
		from = a.limit()
	}
	next := max(a.minRate, from*cutFactor)
	if a.lim == nil {
		a.lim = rate.NewLimiter(rate.Limit(next), a.burst)
		a.lim.AllowN(now, a.burst) // start empty: no burst right after being throttled
	} else {
		a.lim.SetLimitAt(now, rate.Limit(next))
	}
	a.step = max(minRaiseStep, from*raisePerCut)
	a.lastCut, a.raised = now, now
	return true
}

// succeeded raises the limit for the time since the last raise, unless the sink is not
// using what it is allowed (then a higher limit would mean nothing); it reports whether
// the limit changed.
func (a *adaptiveRate) succeeded(now time.Time) bool {
	if a.lim == nil {
		return false
	}
	elapsed := now.Sub(a.raised)
	if elapsed < 100*time.Millisecond {
		return false
	}
	a.raised = now
	if a.measured(now) < a.limit()/2 {
		return false
	}
	a.lim.SetLimitAt(now, rate.Limit(a.limit()+a.step*elapsed.Seconds()))
	return true
}
