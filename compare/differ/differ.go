// Package differ finds the rows that differ in a key range whose checksums differ. Like
// data-diff it bisects: the range is cut at split points taken from the side with more
// rows, both sides checksum every part in one query each, and only differing parts go on,
// until parts are small enough for their row hashes to be read and matched key by key.
// Only then are full rows fetched, and only those that differ.
package differ

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/strangler/strangler/compare/source"
)

// Kind is the kind of a difference.
type Kind string

const (
	Missing Kind = "missing" // in the source, not in the target
	Extra   Kind = "extra"   // in the target, not in the source
	Changed Kind = "changed" // in both, with different values
)

// Finding is one row found different.
type Finding struct {
	Kind    Kind
	Key     source.Key
	Source  *source.Row // nil for Extra
	Target  *source.Row // nil for Missing
	Columns []int       // indexes in Pair.Columns of the differing columns (Changed)
}

// Options tune the bisection.
type Options struct {
	Factor    int   // parts per bisection step (default 16)
	Threshold int64 // a part with at most this many rows on each side is matched row by row (default 2048)
}

// Differ compares ranges of one table pair.
type Differ struct {
	Pair *source.Pair
	Opts Options
}

// New returns a differ with defaults filled in.
func New(p *source.Pair, o Options) *Differ {
	if o.Factor < 2 {
		o.Factor = 16
	}
	if o.Threshold < 1 {
		o.Threshold = 2048
	}
	return &Differ{Pair: p, Opts: o}
}

// Range finds the differing rows of r, whose sums on the two sides are s and t, and calls
// emit with them, a small part at a time (memory stays bounded by the threshold).
func (d *Differ) Range(ctx context.Context, r source.Range, s, t source.Sum, emit func([]Finding) error) error {
	return d.diff(ctx, r, s, t, 0, emit)
}

func (d *Differ) diff(ctx context.Context, r source.Range, s, t source.Sum, depth int, emit func([]Finding) error) error {
	if s == t {
		return nil
	}
	if (s.Count <= d.Opts.Threshold && t.Count <= d.Opts.Threshold) || depth > 40 {
		return d.leaf(ctx, r, s, t, emit)
	}
	big, n := d.Pair.Source, s.Count
	if t.Count > s.Count {
		big, n = d.Pair.Target, t.Count
	}
	every := (n + int64(d.Opts.Factor) - 1) / int64(d.Opts.Factor)
	splits, err := big.Splits(ctx, r, every)
	if err != nil {
		return err
	}
	if len(splits) == 0 {
		return d.leaf(ctx, r, s, t, emit)
	}
	var ss, ts []source.Sum
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { ss, err = d.Pair.Source.Sums(gctx, r, splits); return })
	g.Go(func() (err error) { ts, err = d.Pair.Target.Sums(gctx, r, splits); return })
	if err := g.Wait(); err != nil {
		return err
	}
	for i := range ss {
		if ss[i] == ts[i] {
			continue
		}
		sub := source.Range{Lo: r.Lo, Hi: r.Hi}
		if i > 0 {
			sub.Lo = splits[i-1]
		}
		if i < len(splits) {
			sub.Hi = splits[i]
		}
		if err := d.diff(ctx, sub, ss[i], ts[i], depth+1, emit); err != nil {
			return err
		}
	}
	return nil
}

// leaf matches row hashes key by key, then fetches the rows that differ. The source's
// hashes go in a map sized from its count, the target's are looked up in it: one map of
// one side, not one per side.
func (d *Differ) leaf(ctx context.Context, r source.Range, s, t source.Sum, emit func([]Finding) error) error {
	const presize = 1 << 16 // counts are only hints: a live range may have grown
	sh := make(map[string]uint64, min(s.Count, presize))
	th := make([]keyHash, 0, min(t.Count, presize))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return d.Pair.Source.RowHashes(gctx, r, func(k string, h uint64) error { sh[k] = h; return nil })
	})
	g.Go(func() error {
		return d.Pair.Target.RowHashes(gctx, r, func(k string, h uint64) error { th = append(th, keyHash{k, h}); return nil })
	})
	if err := g.Wait(); err != nil {
		return err
	}
	var srcKeys, tgtKeys []source.Key
	for _, t := range th {
		h, ok := sh[t.key]
		switch {
		case !ok:
			tgtKeys = append(tgtKeys, d.Pair.Target.KeyOf(t.key))
		case h != t.h:
			srcKeys = append(srcKeys, d.Pair.Source.KeyOf(t.key))
			tgtKeys = append(tgtKeys, d.Pair.Target.KeyOf(t.key))
		}
		if ok {
			delete(sh, t.key)
		}
	}
	for k := range sh {
		srcKeys = append(srcKeys, d.Pair.Source.KeyOf(k))
	}
	if len(srcKeys) == 0 && len(tgtKeys) == 0 {
		return nil
	}
	fs, err := Fetch(ctx, d.Pair, srcKeys, tgtKeys)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return nil
	}
	return emit(fs)
}

type keyHash struct {
	key string
	h   uint64
}

// Fetch reads the rows with the given keys from each side and returns those that differ.
func Fetch(ctx context.Context, p *source.Pair, srcKeys, tgtKeys []source.Key) ([]Finding, error) {
	var srows, trows []source.Row
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { srows, err = p.Source.Fetch(gctx, srcKeys); return })
	g.Go(func() (err error) { trows, err = p.Target.Fetch(gctx, tgtKeys); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return Compare(p, srows, trows), nil
}

// Compare matches rows by key and returns the differences.
func Compare(p *source.Pair, srows, trows []source.Row) []Finding {
	tm := make(map[string]*source.Row, len(trows))
	for i := range trows {
		tm[trows[i].Key.String()] = &trows[i]
	}
	var out []Finding
	seen := make(map[string]bool, len(srows))
	for i := range srows {
		s := &srows[i]
		k := s.Key.String()
		seen[k] = true
		t, ok := tm[k]
		if !ok {
			out = append(out, Finding{Kind: Missing, Key: s.Key, Source: s})
			continue
		}
		if cols := changedColumns(s, t); len(cols) > 0 {
			out = append(out, Finding{Kind: Changed, Key: s.Key, Source: s, Target: t, Columns: cols})
		}
	}
	for i := range trows {
		t := &trows[i]
		if !seen[t.Key.String()] {
			out = append(out, Finding{Kind: Extra, Key: t.Key, Target: t})
		}
	}
	return out
}

func changedColumns(s, t *source.Row) []int {
	var out []int
	for i := range s.Canon {
		a, b := s.Canon[i], t.Canon[i]
		if (a == nil) != (b == nil) || (a != nil && *a != *b) {
			out = append(out, i)
		}
	}
	return out
}

// String describes a finding for logs.
func (f Finding) String() string { return fmt.Sprintf("%s %v", f.Kind, []string(f.Key)) }
