package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/strangler/strangler/compare/mapping"
)

// Kind is the canonical form a column pair is compared in.
type Kind int

const (
	KindInt Kind = iota + 1
	KindDecimal
	KindFloat
	KindText
	KindBinary
	KindDate
	KindDateTime
	KindTime
	KindJSON
)

var kindNames = map[Kind]string{KindInt: "int", KindDecimal: "decimal", KindFloat: "float", KindText: "text",
	KindBinary: "binary", KindDate: "date", KindDateTime: "datetime", KindTime: "time", KindJSON: "json"}

func (k Kind) String() string { return kindNames[k] }

// ErrNoKey is returned for a table with neither a primary key nor a NOT NULL unique key.
var ErrNoKey = errors.New("no primary key or NOT NULL unique key")

// ColumnPair is one compared column.
type ColumnPair struct {
	Name     string // in reports: the source column (or the target's for an expression)
	Target   string // the target column, or its expression
	Kind     Kind
	Scale    int  // KindDecimal: digits after the point (-1: as stored); KindFloat: rounding digits
	InGo     bool // canonicalised by strangler rather than inside the databases (JSON across engines)
	OneToOne bool // plain columns whose values are copied as they are: fix SQL can be written
	src, tgt sideCol
}

type sideCol struct {
	col     *Column // nil for an expression
	raw     string  // SQL of the value: the quoted column or the expression in parentheses
	class   Class
	norm    mapping.Normalize
	canon   string // canonical text, or raw text for InGo columns
	display string // the stored value as text, for reports
	null    bool   // may be NULL
}

// Side is one table of a pair, with the SQL that reads it.
type Side struct {
	DB       *DB
	Table    *Table
	filter   string
	keyOrder []string              // ordering expression of each key column
	keyCanon []string              // canonical text of each key column
	keyBind  []func(string) string // a placeholder made into a value comparable with keyOrder
	canon    []string              // per column: canonical text (SQL) or raw text (InGo)
	display  []string
	rowHash  string
	inGo     []int
	pg       bool
}

// Pair is a planned comparison of two tables.
type Pair struct {
	Mapping     mapping.Table
	Source      *Side
	Target      *Side
	Columns     []ColumnPair
	KeyIdx      []int    // indexes in Columns of the key, in key order
	KeyNames    []string // source names of the key columns
	Digest      string   // "crc32" (MySQL family both sides) or "md5"
	NotCompared []string // target columns with no source counterpart
	Warnings    []string
}

// HasInGo reports whether some columns are canonicalised in Go.
func (p *Pair) HasInGo() bool { return len(p.Source.inGo) > 0 }

// OneToOne reports whether every column maps one to one (fix SQL possible).
func (p *Pair) OneToOne() bool {
	for _, c := range p.Columns {
		if !c.OneToOne {
			return false
		}
	}
	return len(p.NotCompared) == 0
}

// Plan describes both tables and decides how every column pair is compared.
func Plan(ctx context.Context, src, tgt *DB, m mapping.Table) (*Pair, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	st, err := src.Describe(ctx, m.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	tt, err := tgt.Describe(ctx, m.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	p := &Pair{Mapping: m,
		Source: &Side{DB: src, Table: st, filter: m.SourceFilter, pg: src.Engine == Postgres},
		Target: &Side{DB: tgt, Table: tt, filter: m.TargetFilter, pg: tgt.Engine == Postgres}}
	where := fmt.Sprintf("%s=%s", m.Source, m.Target)

	// Pair the columns: explicit ones, then same names.
	ignoredS, ignoredT := lowerSet(m.Ignore), lowerSet(m.IgnoreTarget)
	usedS, usedT := map[string]bool{}, map[string]bool{}
	var cols []mapping.Column
	for _, c := range m.Columns {
		if c.Source != "" {
			if st.Column(c.Source) == nil {
				return nil, fmt.Errorf("%s: source column %s does not exist in %s (columns: %s)", where, c.Source, st.Name, columnNames(st))
			}
			usedS[strings.ToLower(c.Source)] = true
		}
		if c.Target != "" {
			if tt.Column(c.Target) == nil {
				return nil, fmt.Errorf("%s: target column %s does not exist in %s (columns: %s)", where, c.Target, tt.Name, columnNames(tt))
			}
			usedT[strings.ToLower(c.Target)] = true
		}
		cols = append(cols, c)
	}
	var missing []string
	for _, c := range st.Columns {
		lc := strings.ToLower(c.Name)
		if usedS[lc] || ignoredS[lc] {
			continue
		}
		if tc := tt.Column(c.Name); tc != nil && !usedT[strings.ToLower(tc.Name)] && !ignoredT[strings.ToLower(tc.Name)] {
			cols = append(cols, mapping.Column{Source: c.Name, Target: tc.Name})
			usedS[lc], usedT[strings.ToLower(tc.Name)] = true, true
			continue
		}
		missing = append(missing, c.Name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: source columns %s have no counterpart in target %s: map them (columns: - source: %s, target: new_name) or ignore them (ignore: [%s])",
			where, strings.Join(missing, ", "), tt.Name, missing[0], strings.Join(missing, ", "))
	}
	for _, c := range tt.Columns {
		lc := strings.ToLower(c.Name)
		if !usedT[lc] && !ignoredT[lc] {
			p.NotCompared = append(p.NotCompared, c.Name)
		}
	}
	if len(p.NotCompared) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("target columns %s have no source counterpart and are not compared (list them under ignore_target to silence this)", strings.Join(p.NotCompared, ", ")))
	}

	sameEngine := src.Engine == tgt.Engine
	for _, mc := range cols {
		cp, err := planColumn(ctx, p, mc, sameEngine)
		if err != nil {
			return nil, fmt.Errorf("%s: column %s: %w", where, mc.Name(), err)
		}
		p.Columns = append(p.Columns, cp)
	}

	// The key: declared in the mapping, else the source's primary or unique key.
	key := m.Key
	if len(key) == 0 {
		key = st.Key
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%s: source table %s has %w: rows cannot be matched between the sides. Declare the key in the mapping (key: [col, ...]) if some columns identify rows, or add a primary key", where, st.Name, ErrNoKey)
	}
	for _, k := range key {
		idx := -1
		for i, c := range p.Columns {
			if c.src.col != nil && strings.EqualFold(c.src.col.Name, k) {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%s: key column %s is not a compared column (is it ignored?)", where, k)
		}
		switch p.Columns[idx].Kind {
		case KindFloat, KindJSON:
			return nil, fmt.Errorf("%s: key column %s is %s: floats and JSON cannot order rows the same way on both engines; choose another key (key: [...])", where, k, p.Columns[idx].Kind)
		}
		if p.Columns[idx].InGo {
			return nil, fmt.Errorf("%s: key column %s cannot be a JSON column", where, k)
		}
		p.KeyIdx = append(p.KeyIdx, idx)
		p.KeyNames = append(p.KeyNames, p.Columns[idx].src.col.Name)
	}
	p.Digest = "md5"
	if src.Engine.mysqlFamily() && tgt.Engine.mysqlFamily() {
		p.Digest = "crc32"
	}
	for _, side := range []*Side{p.Source, p.Target} {
		isSrc := side == p.Source
		for i, c := range p.Columns {
			sc := c.tgt
			if isSrc {
				sc = c.src
			}
			side.canon = append(side.canon, sc.canon)
			side.display = append(side.display, sc.display)
			if c.InGo {
				side.inGo = append(side.inGo, i)
			}
		}
		for _, ki := range p.KeyIdx {
			c := p.Columns[ki]
			sc := c.tgt
			if isSrc {
				sc = c.src
			}
			order, canon, bind := keyExprs(side.DB, c, sc)
			side.keyOrder = append(side.keyOrder, order)
			side.keyCanon = append(side.keyCanon, canon)
			side.keyBind = append(side.keyBind, bind)
		}
		side.rowHash = rowHashExpr(side.DB, p, isSrc)
	}
	return p, nil
}

func lowerSet(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[strings.ToLower(x)] = true
	}
	return m
}

func columnNames(t *Table) string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
	}
	return strings.Join(out, ", ")
}

var typeClass = map[string]Class{"int": ClassInt, "decimal": ClassDecimal, "float": ClassDouble, "text": ClassText,
	"binary": ClassBinary, "date": ClassDate, "datetime": ClassDateTime, "timestamp": ClassTimestamp, "time": ClassTime, "json": ClassJSON}

func planColumn(ctx context.Context, p *Pair, mc mapping.Column, sameEngine bool) (ColumnPair, error) {
	cp := ColumnPair{Name: mc.Name(), Target: mc.Target}
	if cp.Target == "" {
		cp.Target = mc.TargetExpr
	}
	mk := func(side *Side, name, expr string, n mapping.Normalize) sideCol {
		sc := sideCol{norm: p.Mapping.Normalize.Merge(mc.Normalize).Merge(n), null: true}
		if name != "" {
			c := side.Table.Column(name)
			sc.col, sc.raw, sc.class, sc.null = c, side.DB.quote(c.Name), c.Class, c.Nullable
		} else {
			sc.raw = "(" + expr + ")"
			sc.class = typeClass[mc.Type]
		}
		return sc
	}
	cp.src = mk(p.Source, mc.Source, mc.SourceExpr, mc.SourceNormalize)
	cp.tgt = mk(p.Target, mc.Target, mc.TargetExpr, mc.TargetNormalize)
	if cp.src.class == ClassOther && cp.src.col == nil {
		cp.src.class = cp.tgt.class
	}
	if cp.tgt.class == ClassOther && cp.tgt.col == nil {
		cp.tgt.class = cp.src.class
	}
	if cp.src.class == ClassOther && cp.tgt.class == ClassOther && cp.src.col == nil && cp.tgt.col == nil {
		return cp, fmt.Errorf("both sides are expressions: say what they yield with type: (int, decimal, text...)")
	}
	for _, sc := range []*sideCol{&cp.src, &cp.tgt} {
		if sc.norm.Cents {
			switch sc.class {
			case ClassInt, ClassUInt, ClassDecimal:
			default:
				return cp, fmt.Errorf("cents applies to integer or decimal columns, not %s", sc.class)
			}
		}
		if sc.norm.TimeZone != "" && sc.class != ClassDateTime {
			return cp, fmt.Errorf("time_zone applies to naive DATETIME/timestamp-without-time-zone columns, not %s", sc.class)
		}
	}
	kind, scale, err := pairKind(cp.src, cp.tgt, mc)
	if err != nil {
		return cp, err
	}
	cp.Kind, cp.Scale = kind, scale
	cp.InGo = kind == KindJSON && !sameEngine
	cp.OneToOne = cp.src.col != nil && cp.tgt.col != nil && cp.src.norm.IsZero() && cp.tgt.norm.IsZero()
	for _, side := range []struct {
		s  *Side
		sc *sideCol
	}{{p.Source, &cp.src}, {p.Target, &cp.tgt}} {
		if side.sc.norm.TimeZone != "" && side.s.DB.Engine.mysqlFamily() {
			var x sql.NullString
			if err := side.s.DB.sql.QueryRowContext(ctx, "SELECT CONVERT_TZ('2000-01-01 00:00:00', ?, '+00:00')", side.sc.norm.TimeZone).Scan(&x); err != nil || !x.Valid {
				return cp, fmt.Errorf("time_zone %q is unknown to %s: load the time zone tables (mysql_tzinfo_to_sql) or give an offset such as +02:00", side.sc.norm.TimeZone, side.s.DB.Addr)
			}
		}
		fast := cp.OneToOne && rawCanonical(p.Source.DB, p.Target.DB, cp.src.col, cp.tgt.col)
		side.sc.canon = canonExpr(side.s.DB, *side.sc, kind, scale, fast, cp.InGo)
		side.sc.display = displayExpr(side.s.DB, *side.sc)
		if side.sc.norm.EmptyIsNull || side.sc.norm.TimeZone != "" || len(side.sc.norm.Map) > 0 {
			side.sc.null = true
		}
	}
	return cp, nil
}

// rawCanonical reports whether two plain columns, compared without rules, render every
// value as text the same way on both sides exactly when their canonical forms agree. The
// row text is then built from the columns as they are, as pt-table-checksum does, rather
// than through a conversion per column: the same engine and declared type, or on
// MySQL-family servers the same family of type whose text does not depend on the declared
// size (integers of any width and sign, DECIMALs of the same scale, UTF-8 text of any
// length, binary strings, DATEs, DATETIME/TIMESTAMP and TIME of the same fractional
// digits; TIMESTAMPs render in the session's UTC).
func rawCanonical(src, tgt *DB, s, t *Column) bool {
	if src.Engine == tgt.Engine && s.Type == t.Type && s.Charset == t.Charset {
		return true
	}
	if !src.Engine.mysqlFamily() || !tgt.Engine.mysqlFamily() {
		return false
	}
	dateTime := func(c Class) bool { return c == ClassDateTime || c == ClassTimestamp }
	switch {
	case (s.Class == ClassInt || s.Class == ClassUInt) && (t.Class == ClassInt || t.Class == ClassUInt):
		return true
	case s.Class == ClassDecimal && t.Class == ClassDecimal:
		return s.Scale == t.Scale
	case s.Class == ClassText && t.Class == ClassText:
		return utf8Charset(s.Charset) && utf8Charset(t.Charset)
	case s.Class == ClassBinary && t.Class == ClassBinary, s.Class == ClassDate && t.Class == ClassDate:
		return true
	case dateTime(s.Class) && dateTime(t.Class), s.Class == ClassTime && t.Class == ClassTime:
		return s.FSP == t.FSP
	}
	return false
}

func numeric(c Class) bool {
	switch c {
	case ClassInt, ClassUInt, ClassBool, ClassBit, ClassYear, ClassDecimal:
		return true
	}
	return false
}

func textual(c Class) bool {
	switch c {
	case ClassText, ClassEnum, ClassSet, ClassUUID:
		return true
	}
	return false
}

func temporal(c Class) bool { return c == ClassDate || c == ClassDateTime || c == ClassTimestamp }

// effective is a side's class after the value-changing rules.
func effective(sc sideCol) (Class, int) {
	scale := -1
	if sc.col != nil && sc.class == ClassDecimal {
		scale = sc.col.Scale
	}
	switch {
	case len(sc.norm.Map) > 0:
		return ClassText, -1
	case sc.norm.JSON:
		return ClassJSON, -1
	case sc.norm.Cents:
		if scale < 0 {
			scale = 0
		}
		return ClassDecimal, scale + 2
	case sc.norm.TimeZone != "":
		return ClassTimestamp, -1
	}
	return sc.class, scale
}

func pairKind(s, t sideCol, mc mapping.Column) (Kind, int, error) {
	sc, ss := effective(s)
	tc, ts := effective(t)
	norm := s.norm.Merge(t.norm)
	if mc.Type != "" && s.col == nil && t.col == nil {
		sc, tc = typeClass[mc.Type], typeClass[mc.Type]
	}
	bad := func() (Kind, int, error) {
		return 0, 0, fmt.Errorf("source is %s and target is %s: they cannot be compared as they are; normalise one side (source_expr/target_expr with type:, map:, cents:...) or ignore the column", sc, tc)
	}
	switch {
	case sc == ClassJSON || tc == ClassJSON:
		if (sc == ClassJSON || textual(sc)) && (tc == ClassJSON || textual(tc)) {
			return KindJSON, 0, nil
		}
		return bad()
	case (sc == ClassFloat || sc == ClassDouble) && (tc == ClassFloat || tc == ClassDouble || numeric(tc)) ||
		(tc == ClassFloat || tc == ClassDouble) && numeric(sc):
		d := 10
		if sc == ClassFloat || tc == ClassFloat {
			d = 6
		}
		if sc == ClassDecimal && ss >= 0 {
			d = ss
		}
		if tc == ClassDecimal && ts >= 0 {
			d = ts
		}
		if norm.Decimals != nil {
			d = *norm.Decimals
		}
		return KindFloat, d, nil
	case numeric(sc) && numeric(tc):
		if sc == ClassDecimal || tc == ClassDecimal || norm.Scale != nil {
			scale := max(ss, ts)
			if norm.Scale != nil {
				scale = *norm.Scale
			}
			return KindDecimal, scale, nil
		}
		return KindInt, 0, nil
	case textual(sc) && textual(tc), textual(sc) && numeric(tc), numeric(sc) && textual(tc):
		return KindText, 0, nil
	case sc == ClassBinary && (tc == ClassBinary || textual(tc)), tc == ClassBinary && textual(sc):
		return KindBinary, 0, nil
	case sc == ClassDate && tc == ClassDate:
		return KindDate, 0, nil
	case temporal(sc) && temporal(tc):
		return KindDateTime, 0, nil
	case sc == ClassTime && tc == ClassTime:
		return KindTime, 0, nil
	case sc == ClassOther && tc == ClassOther, sc == ClassOther && textual(tc), textual(sc) && tc == ClassOther:
		return KindText, 0, nil
	}
	return bad()
}

// transformed applies a side's value-changing rules to its raw SQL value.
func transformed(d *DB, sc sideCol) string {
	v := sc.raw
	pg := d.Engine == Postgres
	n := sc.norm
	if n.Cents {
		if pg {
			v = "(" + v + "::numeric / 100)"
		} else {
			v = "(" + v + " / 100)"
		}
	}
	if n.TimeZone != "" {
		if pg {
			v = "(" + v + " AT TIME ZONE " + d.literal(n.TimeZone) + ")"
		} else {
			v = "CONVERT_TZ(" + v + ", " + d.literal(n.TimeZone) + ", '+00:00')"
		}
	}
	texty := len(n.Map) > 0 || n.Trim || n.Case != "" || n.EmptyIsNull
	if texty {
		v = asText(d, sc, v)
	}
	if len(n.Map) > 0 {
		var b strings.Builder
		b.WriteString("CASE " + v)
		for _, k := range mapping.SortedKeys(n.Map) {
			b.WriteString(" WHEN " + d.literal(k) + " THEN " + d.literal(n.Map[k]))
		}
		b.WriteString(" ELSE " + v + " END")
		v = b.String()
	}
	if n.Trim {
		v = "TRIM(" + v + ")"
	}
	switch strings.ToLower(n.Case) {
	case "lower":
		v = "LOWER(" + v + ")"
	case "upper":
		v = "UPPER(" + v + ")"
	}
	if n.EmptyIsNull {
		v = "NULLIF(" + v + ", '')"
	}
	return v
}

// asText renders a value as text in the engine's own format.
func asText(d *DB, sc sideCol, v string) string {
	if d.Engine == Postgres {
		if sc.class == ClassBinary {
			return "convert_from(" + v + ", 'UTF8')"
		}
		return "(" + v + ")::text"
	}
	if sc.class == ClassText && sc.col != nil && !utf8Charset(sc.col.Charset) {
		return "CONVERT(" + v + " USING utf8mb4)"
	}
	return "CAST(" + v + " AS CHAR)"
}

func utf8Charset(cs string) bool { return cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" }

// canonExpr is the SQL of a column's canonical text on one side.
func canonExpr(d *DB, sc sideCol, kind Kind, scale int, fast, inGo bool) string {
	pg := d.Engine == Postgres
	if inGo {
		return asText(d, sc, sc.raw)
	}
	if fast {
		// Same engine, same declared type, no rules: the engine's own text is canonical.
		if pg {
			switch sc.class {
			case ClassJSON:
				return sc.raw + "::jsonb::text"
			case ClassFloat, ClassDouble:
				return "round(" + sc.raw + "::float8::text::numeric, " + strconv.Itoa(scale) + ")::text"
			}
			return sc.raw + "::text"
		}
		switch sc.class {
		case ClassInt, ClassUInt, ClassYear, ClassDecimal, ClassDate, ClassDateTime, ClassTimestamp, ClassTime, ClassBinary:
			return sc.raw
		case ClassBit:
			return "(" + sc.raw + " + 0)"
		case ClassFloat, ClassDouble:
			return "CAST(" + sc.raw + " AS DECIMAL(65," + strconv.Itoa(scale) + "))"
		case ClassJSON:
			if d.normJSON {
				return "JSON_NORMALIZE(" + sc.raw + ")"
			}
			return "CAST(CAST(" + sc.raw + " AS JSON) AS CHAR)"
		}
		// Text as is: the row text is joined with a binary separator, so its bytes are
		// taken whatever the column's collation.
		if sc.col != nil && sc.class == ClassText && (utf8Charset(sc.col.Charset) || sc.col.Charset == "binary") {
			return sc.raw
		}
		return "CAST(" + asText(d, sc, sc.raw) + " AS BINARY)"
	}
	v := transformed(d, sc)
	cls, _ := effective(sc)
	if len(sc.norm.Map) > 0 || sc.norm.Trim || sc.norm.Case != "" || sc.norm.EmptyIsNull {
		cls = ClassText
	}
	s := strconv.Itoa(scale)
	switch kind {
	case KindInt:
		switch {
		case pg && cls == ClassBool:
			return "(" + v + ")::int::text"
		case pg && cls == ClassBit:
			return "(" + v + ")::bigint::text"
		case pg:
			return "(" + v + ")::text"
		case cls == ClassBit:
			return "CAST(" + v + " + 0 AS CHAR)"
		}
		return "CAST(" + v + " AS CHAR)"
	case KindDecimal:
		if pg {
			switch {
			case cls == ClassBool:
				v = "(" + v + ")::int"
			case cls == ClassBit:
				v = "(" + v + ")::bigint"
			}
			if scale < 0 {
				return "trim_scale((" + v + ")::numeric)::text"
			}
			return "round((" + v + ")::numeric, " + s + ")::text"
		}
		if cls == ClassBit {
			v = "(" + v + " + 0)"
		}
		if scale < 0 {
			t := "CAST(" + v + " AS CHAR)"
			return "IF(LOCATE('.', " + t + ") > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + t + ")), " + t + ")"
		}
		return "CAST(" + v + " AS DECIMAL(65," + s + "))"
	case KindFloat:
		if pg {
			if cls == ClassFloat || cls == ClassDouble {
				// float8::text is the shortest exact form; numeric then rounds it exactly, as
				// MySQL's CAST(double AS DECIMAL) does.
				return "round((" + v + ")::float8::text::numeric, " + s + ")::text"
			}
			return "round((" + v + ")::numeric, " + s + ")::text"
		}
		return "CAST(" + v + " AS DECIMAL(65," + s + "))"
	case KindText:
		if pg {
			if cls == ClassBool {
				return "(" + v + ")::int::text"
			}
			return "(" + v + ")::text"
		}
		if cls == ClassText || cls == ClassEnum || cls == ClassSet || cls == ClassUUID || cls == ClassOther {
			if v == sc.raw {
				v = asText(d, sc, v)
			}
			return "CAST(" + v + " AS BINARY)"
		}
		return "CAST(" + v + " AS CHAR)"
	case KindBinary:
		if pg {
			if cls == ClassBinary {
				return "upper(encode(" + v + ", 'hex'))"
			}
			return "upper(encode(convert_to((" + v + ")::text, 'UTF8'), 'hex'))"
		}
		if cls != ClassBinary && v == sc.raw {
			v = asText(d, sc, v)
		}
		return "HEX(" + v + ")"
	case KindDate:
		if pg {
			return "(" + v + ")::date::text"
		}
		return "CAST(" + v + " AS CHAR)"
	case KindDateTime:
		if pg {
			if cls == ClassDate {
				v = "(" + v + ")::timestamp"
			}
			return "to_char(" + v + ", 'YYYY-MM-DD HH24:MI:SS.US')"
		}
		return "CAST(CAST(" + v + " AS DATETIME(6)) AS CHAR)"
	case KindTime:
		if pg {
			return "to_char(" + v + ", 'HH24:MI:SS.US')"
		}
		return "CAST(CAST(" + v + " AS TIME(6)) AS CHAR)"
	case KindJSON:
		if pg {
			return "(" + v + ")::jsonb::text"
		}
		if d.normJSON {
			return "JSON_NORMALIZE(" + v + ")"
		}
		return "CAST(CAST(" + v + " AS JSON) AS CHAR)"
	}
	return asText(d, sc, v)
}

// displayExpr is the SQL of the stored value as text, for reports and fix SQL.
func displayExpr(d *DB, sc sideCol) string {
	if d.Engine == Postgres {
		if sc.class == ClassBinary {
			return "upper(encode(" + sc.raw + ", 'hex'))"
		}
		return "(" + sc.raw + ")::text"
	}
	switch sc.class {
	case ClassBinary:
		return "HEX(" + sc.raw + ")"
	case ClassBit:
		return "CAST(" + sc.raw + " + 0 AS CHAR)"
	}
	return asText(d, sc, sc.raw)
}

// keyExprs returns how a key column is ordered, rendered and bound on one side.
func keyExprs(d *DB, c ColumnPair, sc sideCol) (order, canon string, bind func(string) string) {
	pg := d.Engine == Postgres
	canon = sc.canon
	plain := sc.col != nil && sc.norm.IsZero()
	if c.Kind == KindBinary {
		if pg {
			canon = "upper(encode(" + sc.raw + ", 'hex'))"
		} else {
			canon = "HEX(" + sc.raw + ")"
		}
	}
	if !plain || sc.class == ClassEnum || sc.class == ClassSet || (c.Kind == KindText && !textual(sc.class)) {
		// Ordered by the canonical text's bytes: correct everywhere, but no index.
		if pg {
			return "(" + canon + ") COLLATE \"C\"", canon, func(ph string) string { return ph + "::text" }
		}
		return canon, canon, func(ph string) string { return "CAST(" + ph + " AS BINARY)" }
	}
	order = sc.raw
	switch c.Kind {
	case KindInt, KindDecimal:
		if pg {
			// Cast to the column's own type, or PostgreSQL would not use its index.
			t := sc.col.Type
			return order, canon, func(ph string) string { return ph + "::" + t }
		}
		switch sc.class {
		case ClassUInt:
			return order, canon, func(ph string) string { return "CAST(" + ph + " AS UNSIGNED)" }
		case ClassInt, ClassYear:
			return order, canon, func(ph string) string { return "CAST(" + ph + " AS SIGNED)" }
		}
		return order, canon, func(ph string) string { return "CAST(" + ph + " AS DECIMAL(65,30))" }
	case KindText:
		if pg {
			if !byteOrdered(sc.col.Collation, d.collate) {
				order += ` COLLATE "C"`
			}
			return order, canon, func(ph string) string { return ph + "::text" }
		}
		switch {
		case sc.col.Charset == "binary" || strings.HasSuffix(sc.col.Collation, "_bin") && utf8Charset(sc.col.Charset):
		case utf8Charset(sc.col.Charset):
			order += " COLLATE " + sc.col.Charset + "_bin"
		default:
			order = "CONVERT(" + order + " USING utf8mb4) COLLATE utf8mb4_bin"
		}
		return order, canon, func(ph string) string { return ph }
	case KindBinary:
		if pg {
			return order, canon, func(ph string) string { return "decode(" + ph + ", 'hex')" }
		}
		return order, canon, func(ph string) string { return "UNHEX(" + ph + ")" }
	case KindDate:
		if pg {
			return order, canon, func(ph string) string { return ph + "::date" }
		}
		return order, canon, func(ph string) string { return "CAST(" + ph + " AS DATE)" }
	case KindDateTime:
		if pg {
			t := "timestamp"
			if sc.class == ClassTimestamp {
				t = "timestamptz"
			}
			return order, canon, func(ph string) string { return ph + "::" + t }
		}
		return order, canon, func(ph string) string { return "CAST(" + ph + " AS DATETIME(6))" }
	case KindTime:
		if pg {
			return order, canon, func(ph string) string { return ph + "::time" }
		}
		return order, canon, func(ph string) string { return "CAST(" + ph + " AS TIME(6))" }
	}
	return order, canon, func(ph string) string { return ph }
}

// byteOrdered reports whether a PostgreSQL collation sorts text by its UTF-8 bytes.
func byteOrdered(coll, dbDefault string) bool {
	if coll == "default" || coll == "" {
		coll = dbDefault
	}
	switch strings.ToLower(coll) {
	case "c", "posix", "ucs_basic", "c.utf-8", "c.utf8":
		return true
	}
	return false
}

const sep = "\x1f"      // between columns of the row text
const nullMark = "\x1e" // stands for NULL in the row text

// rowHashExpr is the SQL of the hash of a row's canonical text (InGo columns
// excluded: they are hashed by strangler).
func rowHashExpr(d *DB, p *Pair, isSrc bool) string {
	var parts []string
	for _, c := range p.Columns {
		if c.InGo {
			continue
		}
		sc := c.tgt
		if isSrc {
			sc = c.src
		}
		e := sc.canon
		if sc.null {
			if d.Engine == Postgres {
				e = "COALESCE(" + e + ", '" + nullMark + "')"
			} else {
				e = "COALESCE(" + e + ", X'1E')"
			}
		}
		parts = append(parts, e)
	}
	if len(parts) == 0 {
		parts = []string{"''"}
	}
	if d.Engine == Postgres {
		text := "concat_ws('" + sep + "', " + strings.Join(parts, ", ") + ")"
		return "('x' || left(md5(" + text + "), 16))::bit(64)::bigint"
	}
	// A binary separator makes the whole row text binary: no collation mix errors, and
	// the bytes hashed are the values' own.
	text := "CONCAT_WS(X'1F', " + strings.Join(parts, ", ") + ")"
	if p.Digest == "crc32" {
		// A CRC is linear over GF(2): the same edit on two rows of equal length changes both
		// CRCs by the same bits, and the two changes cancel under BIT_XOR (so would any even
		// number of them: a batch UPDATE the target missed). The CRC32 of the CRC32's
		// decimal text is not linear in the row's bits, so equal edits do not cancel, and it
		// costs almost nothing next to building the row text, which is built once: a second
		// CRC of the text, or the text kept in a user variable, costs 30% more per row.
		// CRC32() exists on every MySQL and MariaDB.
		return "CRC32(CRC32(" + text + "))"
	}
	return "CAST(CONV(LEFT(MD5(" + text + "), 16), 16, 10) AS UNSIGNED)"
}
