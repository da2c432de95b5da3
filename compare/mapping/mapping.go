// Package mapping describes how a legacy (source) table corresponds to a new (target)
// table: key columns, column renames, ignored columns, per-column normalisation and a row
// filter per side. It is what `--table` flags and the `tables:` section of a YAML file
// become before a comparison is planned.
package mapping

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Table maps one source table to one target table.
type Table struct {
	Source       string   `yaml:"source" json:"source"`                                   // table name on the source side, as given
	Target       string   `yaml:"target" json:"target"`                                   // table name on the target side (default: Source)
	Key          []string `yaml:"key,omitempty" json:"key,omitempty"`                     // source key columns (default: primary key, else a NOT NULL unique key)
	SourceFilter string   `yaml:"source_filter,omitempty" json:"source_filter,omitempty"` // SQL condition: only these source rows are compared
	TargetFilter string   `yaml:"target_filter,omitempty" json:"target_filter,omitempty"` // SQL condition on the target side
	Ignore       []string `yaml:"ignore,omitempty" json:"ignore,omitempty"`               // source columns not compared
	IgnoreTarget []string `yaml:"ignore_target,omitempty" json:"ignore_target,omitempty"` // target columns not compared
	Columns      []Column `yaml:"columns,omitempty" json:"columns,omitempty"`             // renames, expressions and normalisation
	// Normalize applies to every compared column of the table (trim, case...), before a
	// column's own rules.
	Normalize Normalize `yaml:"normalize,omitempty" json:"normalize,omitempty"`
}

// Column describes one compared column pair. Columns with the same name on both sides
// pair up by themselves; list a column here to rename it, compute it, or normalise it.
type Column struct {
	Source     string `yaml:"source,omitempty" json:"source,omitempty"`           // source column
	Target     string `yaml:"target,omitempty" json:"target,omitempty"`           // target column (default: Source)
	SourceExpr string `yaml:"source_expr,omitempty" json:"source_expr,omitempty"` // SQL expression on the source side, instead of a column
	TargetExpr string `yaml:"target_expr,omitempty" json:"target_expr,omitempty"` // SQL expression on the target side, instead of a column
	// Type is the kind an expression yields (int, decimal, float, text, binary, date,
	// datetime, timestamp, time, json); needed only when neither side is a plain column.
	Type            string    `yaml:"type,omitempty" json:"type,omitempty"`
	Normalize       Normalize `yaml:"normalize,omitempty" json:"normalize,omitempty"`               // both sides
	SourceNormalize Normalize `yaml:"source_normalize,omitempty" json:"source_normalize,omitempty"` // source side only
	TargetNormalize Normalize `yaml:"target_normalize,omitempty" json:"target_normalize,omitempty"` // target side only
}

// Normalize is what is done to a value before it is compared. Every rule runs inside the
// database except JSON across engines, which is canonicalised by strangler itself.
type Normalize struct {
	Scale    *int              `yaml:"scale,omitempty" json:"scale,omitempty"`         // round decimals to this many digits after the point
	Cents    bool              `yaml:"cents,omitempty" json:"cents,omitempty"`         // an integer number of cents: divide by 100 (scale 2)
	Decimals *int              `yaml:"decimals,omitempty" json:"decimals,omitempty"`   // FLOAT/DOUBLE compared rounded to this many digits after the point
	Trim     bool              `yaml:"trim,omitempty" json:"trim,omitempty"`           // remove leading and trailing spaces
	Case     string            `yaml:"case,omitempty" json:"case,omitempty"`           // lower or upper
	TimeZone string            `yaml:"time_zone,omitempty" json:"time_zone,omitempty"` // naive DATETIME values are in this zone: compared in UTC
	JSON     bool              `yaml:"json,omitempty" json:"json,omitempty"`           // text holding JSON, compared as canonical JSON
	Map      map[string]string `yaml:"map,omitempty" json:"map,omitempty"`             // value map (enum labels to codes...), values not listed pass unchanged
	// EmptyIsNull makes '' and NULL the same value (off by default: they differ).
	EmptyIsNull bool `yaml:"empty_is_null,omitempty" json:"empty_is_null,omitempty"`
}

// IsZero reports whether no rule is set.
func (n Normalize) IsZero() bool {
	return n.Scale == nil && !n.Cents && n.Decimals == nil && !n.Trim && n.Case == "" && n.TimeZone == "" &&
		!n.JSON && len(n.Map) == 0 && !n.EmptyIsNull
}

// Merge returns n with the rules set in o added (o wins where both set one).
func (n Normalize) Merge(o Normalize) Normalize {
	out := n
	if o.Scale != nil {
		out.Scale = o.Scale
	}
	if o.Decimals != nil {
		out.Decimals = o.Decimals
	}
	out.Cents = out.Cents || o.Cents
	out.Trim = out.Trim || o.Trim
	out.JSON = out.JSON || o.JSON
	out.EmptyIsNull = out.EmptyIsNull || o.EmptyIsNull
	if o.Case != "" {
		out.Case = o.Case
	}
	if o.TimeZone != "" {
		out.TimeZone = o.TimeZone
	}
	if len(o.Map) > 0 {
		out.Map = o.Map
	}
	return out
}

// Validate checks the rules make sense on their own.
func (n Normalize) Validate(where string) error {
	switch strings.ToLower(n.Case) {
	case "", "lower", "upper":
	default:
		return fmt.Errorf("%s: case %q: use lower or upper", where, n.Case)
	}
	if n.Scale != nil && (*n.Scale < 0 || *n.Scale > 30) {
		return fmt.Errorf("%s: scale %d: use 0 to 30", where, *n.Scale)
	}
	if n.Decimals != nil && (*n.Decimals < 0 || *n.Decimals > 30) {
		return fmt.Errorf("%s: decimals %d: use 0 to 30", where, *n.Decimals)
	}
	return nil
}

// File is the YAML document of `--config`/`--mapping`: settings named like the flags,
// and the table mappings under `tables:`.
type File struct {
	Tables []Table `yaml:"tables"`
}

// Load reads the `tables:` section of a YAML file. Other keys (settings named like the
// command's flags) are left to the command line layer.
func Load(path string) ([]Table, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	return Parse(raw, path)
}

// Parse reads the `tables:` section of a YAML document; name is used in errors.
func Parse(raw []byte, name string) ([]Table, error) {
	var doc struct {
		Tables yaml.Node `yaml:"tables"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("mapping %s is not valid YAML: %w", name, err)
	}
	if doc.Tables.Kind == 0 {
		return nil, nil
	}
	var tables []Table
	// Strict decoding: a misspelt rule (`nomalize:`) would otherwise be ignored and the
	// comparison would silently check something else.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&doc.Tables); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", name, err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(&tables); err != nil {
		return nil, fmt.Errorf("mapping %s: tables: %w (see docs/compare.md for the keys)", name, err)
	}
	for i := range tables {
		if err := tables[i].Validate(); err != nil {
			return nil, fmt.Errorf("mapping %s: %w", name, err)
		}
	}
	return tables, nil
}

// ParseTableFlag reads one `--table` value: NAME, or legacy_name=target_name.
func ParseTableFlag(v string) (Table, error) {
	v = strings.TrimSpace(v)
	src, tgt, found := strings.Cut(v, "=")
	src, tgt = strings.TrimSpace(src), strings.TrimSpace(tgt)
	if src == "" || (found && tgt == "") {
		return Table{}, fmt.Errorf("--table %q: write NAME or legacy_name=target_name", v)
	}
	if !found {
		tgt = src
	}
	t := Table{Source: src, Target: tgt}
	return t, t.Validate()
}

// Validate checks a table mapping on its own (without looking at the databases).
func (t *Table) Validate() error {
	if t.Source == "" {
		return fmt.Errorf("a table mapping has no source: give `source: legacy_table`")
	}
	if t.Target == "" {
		t.Target = t.Source
	}
	where := fmt.Sprintf("table %s=%s", t.Source, t.Target)
	if err := t.Normalize.Validate(where); err != nil {
		return err
	}
	seenS, seenT := map[string]bool{}, map[string]bool{}
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Source == "" && c.SourceExpr == "" {
			return fmt.Errorf("%s: column #%d has neither source nor source_expr", where, i+1)
		}
		if c.Source != "" && c.SourceExpr != "" {
			return fmt.Errorf("%s: column %s: give source or source_expr, not both", where, c.Source)
		}
		if c.Target == "" && c.TargetExpr == "" {
			c.Target = c.Source
		}
		if c.Target == "" && c.TargetExpr == "" {
			return fmt.Errorf("%s: column #%d (source_expr) needs target or target_expr", where, i+1)
		}
		cw := fmt.Sprintf("%s: column %s", where, c.Name())
		for _, n := range []Normalize{c.Normalize, c.SourceNormalize, c.TargetNormalize} {
			if err := n.Validate(cw); err != nil {
				return err
			}
		}
		switch c.Type {
		case "", "int", "decimal", "float", "text", "binary", "date", "datetime", "timestamp", "time", "json":
		default:
			return fmt.Errorf("%s: type %q: use int, decimal, float, text, binary, date, datetime, timestamp, time or json", cw, c.Type)
		}
		if c.Source != "" {
			if seenS[strings.ToLower(c.Source)] {
				return fmt.Errorf("%s: source column %s is mapped twice", where, c.Source)
			}
			seenS[strings.ToLower(c.Source)] = true
		}
		if c.Target != "" {
			if seenT[strings.ToLower(c.Target)] {
				return fmt.Errorf("%s: target column %s is mapped twice", where, c.Target)
			}
			seenT[strings.ToLower(c.Target)] = true
		}
	}
	return nil
}

// Name is how a column pair is named in reports: the source column, else its target.
func (c Column) Name() string {
	if c.Source != "" {
		return c.Source
	}
	return c.Target
}

// Merge joins the tables of flags and file: a file entry for the same source and target
// wins over a plain `--table` flag. The order of first appearance is kept.
func Merge(flags, file []Table) []Table {
	out := append([]Table(nil), file...)
	seen := map[string]bool{}
	for _, t := range file {
		seen[t.Source+"\x00"+t.Target] = true
	}
	for _, t := range flags {
		if !seen[t.Source+"\x00"+t.Target] {
			out = append(out, t)
			seen[t.Source+"\x00"+t.Target] = true
		}
	}
	return out
}

// SortedKeys returns the keys of a value map in order, so generated SQL is stable.
func SortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
