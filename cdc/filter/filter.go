// Package filter decides which tables the CDC daemon streams, from --include and
// --exclude patterns of the form db.table, with * and ? as wildcards (db.* is a whole
// database). A table is streamed when it matches an include (or there are none) and no
// exclude. The server's own databases are never streamed.
package filter

import (
	"fmt"
	"path"
	"strings"
)

// System databases hold the server's own bookkeeping, never application data.
var system = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

type pattern struct{ db, table string }

// Filter matches tables against include and exclude patterns.
type Filter struct {
	include, exclude []pattern
}

// New parses the patterns. A pattern without a dot is refused: it is ambiguous.
func New(include, exclude []string) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.include, err = parse("--include", include); err != nil {
		return nil, err
	}
	if f.exclude, err = parse("--exclude", exclude); err != nil {
		return nil, err
	}
	return f, nil
}

func parse(flag string, ps []string) ([]pattern, error) {
	out := make([]pattern, 0, len(ps))
	for _, p := range ps {
		for _, one := range strings.Split(p, ",") {
			one = strings.TrimSpace(one)
			if one == "" {
				continue
			}
			db, table, ok := strings.Cut(one, ".")
			if !ok || db == "" || table == "" {
				return nil, fmt.Errorf("%s %q: write db.table or db.* (wildcards * and ? allowed)", flag, one)
			}
			for _, part := range []string{db, table} {
				if _, err := path.Match(part, ""); err != nil {
					return nil, fmt.Errorf("%s %q: bad pattern: %w", flag, one, err)
				}
			}
			out = append(out, pattern{db, table})
		}
	}
	return out, nil
}

// Match reports whether db.table is streamed.
func (f *Filter) Match(db, table string) bool {
	if system[strings.ToLower(db)] {
		return false
	}
	if len(f.include) > 0 && !matchAny(f.include, db, table) {
		return false
	}
	return !matchAny(f.exclude, db, table)
}

// MatchDB reports whether any table of db may be streamed.
func (f *Filter) MatchDB(db string) bool {
	if system[strings.ToLower(db)] {
		return false
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if ok, _ := path.Match(p.db, db); ok {
			return true
		}
	}
	return false
}

// Fingerprint identifies the patterns, to tell whether a checkpoint was taken with the
// same filter.
func (f *Filter) Fingerprint() string {
	var b strings.Builder
	for _, p := range f.include {
		b.WriteString("+" + p.db + "." + p.table + ";")
	}
	for _, p := range f.exclude {
		b.WriteString("-" + p.db + "." + p.table + ";")
	}
	return b.String()
}

// Exclude adds an exclusion after construction (the daemon's own checkpoint table).
func (f *Filter) Exclude(db, table string) {
	f.exclude = append(f.exclude, pattern{db, table})
}

func matchAny(ps []pattern, db, table string) bool {
	for _, p := range ps {
		okDB, _ := path.Match(p.db, db)
		okT, _ := path.Match(p.table, table)
		if okDB && okT {
			return true
		}
	}
	return false
}
