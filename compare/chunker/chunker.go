// Package chunker cuts a source table into key-ordered chunks whose size adapts to a
// target time per chunk, as pt-table-checksum's --chunk-time does: each chunk's measured
// rate sets the next chunk's row count. It adapts to differences too: a chunk that
// differs is read again to find its rows, so chunks shrink where differences are found
// and grow back while chunks match (see Sizer.Compared).
package chunker

import (
	"context"
	"sync"
	"time"

	"github.com/strangler/strangler/compare/source"
)

// Sizer chooses how many rows the next chunk has.
type Sizer struct {
	mu     sync.Mutex
	target time.Duration
	min    int
	max    int
	rate   float64 // rows per second, smoothed
	limit  float64 // rows: set by differences (Compared)
}

// NewSizer starts at start rows and keeps chunks between min and max rows.
func NewSizer(target time.Duration, start, min, max int) *Sizer {
	if min < 1 {
		min = 1
	}
	if max < min {
		max = min
	}
	start = clamp(start, min, max)
	return &Sizer{target: target, min: min, max: max, rate: float64(start) / target.Seconds(), limit: float64(start)}
}

// Rows is the size of the next chunk.
func (s *Sizer) Rows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clamp(int(min(s.rate*s.target.Seconds(), s.limit)), s.min, s.max)
}

// Compared records whether a chunk's checksums differed. A chunk that matches costs one
// query per side whatever its size, so matching chunks let the next ones grow (by a
// quarter, up to max); a chunk that differs is read again to find its rows, which costs
// in proportion to its size, so it halves the next ones (down to min). With differences
// scattered every D rows this settles where about a quarter of the chunks differ
// (halving as often as growing by a quarter nets out), chunks of roughly D/4 rows:
// the rows read twice and the queries per row are then both kept low. Identical tables
// get the largest chunks.
func (s *Sizer) Compared(differed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if differed {
		s.limit = max(s.limit/2, float64(s.min))
	} else {
		s.limit = min(s.limit*1.25, float64(s.max))
	}
}

// Observe records that rows took elapsed to checksum.
func (s *Sizer) Observe(rows int64, elapsed time.Duration) {
	if rows <= 0 || elapsed <= 0 {
		return
	}
	r := float64(rows) / elapsed.Seconds()
	s.mu.Lock()
	defer s.mu.Unlock()
	// An exponentially weighted average: one slow chunk (a lock wait, a cold page) does
	// not shrink the next ones to nothing.
	s.rate = 0.7*s.rate + 0.3*r
}

func clamp(n, lo, hi int) int {
	if n < lo {
		return lo
	}
	if n > hi {
		return hi
	}
	return n
}

// Chunk is a key range of the source table: (Lo, Hi], Hi nil for the last.
type Chunk struct {
	Seq   int64
	Range source.Range
}

// Boundaries is the one query the walker needs: the key n rows after lo.
type Boundaries interface {
	Boundary(ctx context.Context, lo source.Key, n int) (source.Key, error)
}

// Walk sends the chunks of the table after from (nil: from the start) on out, in key
// order, and closes out. The last chunk is open above, so rows the target has beyond the
// source's last key are compared too; the first is open below for the same reason.
func Walk(ctx context.Context, b Boundaries, from source.Key, sizer *Sizer, firstSeq int64, out chan<- Chunk) error {
	defer close(out)
	lo, seq := from, firstSeq
	for {
		hi, err := b.Boundary(ctx, lo, sizer.Rows())
		if err != nil {
			return err
		}
		select {
		case out <- Chunk{Seq: seq, Range: source.Range{Lo: lo, Hi: hi}}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if hi == nil {
			return nil
		}
		lo, seq = hi, seq+1
	}
}
