package source

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
)

// Key is a row's key as canonical texts, one per key column. The same logical key has the
// same Key on both sides.
type Key []string

// String joins the parts, for map keys.
func (k Key) String() string { return strings.Join(k, sep) }

// Range is the key range (Lo, Hi]: nil bounds are open.
type Range struct {
	Lo, Hi Key
}

// Sum is a range's row count and the XOR of its row hashes.
type Sum struct {
	Count int64
	Hash  uint64
}

// Row is one row read for comparison.
type Row struct {
	Key     Key
	Canon   []*string // canonical text per column (nil: NULL); InGo columns canonicalised
	Display []*string // stored value as text per column
}

type binder struct {
	pg   bool
	args []any
}

func (b *binder) add(v any) string {
	b.args = append(b.args, v)
	if b.pg {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

func (s *Side) bound(b *binder, k Key, i int) string {
	return s.keyBind[i](b.add(k[i]))
}

// cmp builds the lexicographic comparison of the key with k: op is ">" or "<=".
func (s *Side) cmp(b *binder, k Key, op string) string {
	n := len(s.keyOrder)
	if n == 1 {
		return s.keyOrder[0] + " " + op + " " + s.bound(b, k, 0)
	}
	strict := op[:1] // ">" or "<"
	var ors []string
	for i := 0; i < n; i++ {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, s.keyOrder[j]+" = "+s.bound(b, k, j))
		}
		o := strict
		if i == n-1 {
			o = op
		}
		ands = append(ands, s.keyOrder[i]+" "+o+" "+s.bound(b, k, i))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

func (s *Side) where(b *binder, r Range) string {
	var conds []string
	if s.filter != "" {
		conds = append(conds, "("+s.filter+")")
	}
	if r.Lo != nil {
		conds = append(conds, s.cmp(b, r.Lo, ">"))
	}
	if r.Hi != nil {
		conds = append(conds, s.cmp(b, r.Hi, "<="))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func (s *Side) orderBy() string { return strings.Join(s.keyOrder, ", ") }

func (s *Side) fail(op string, err error) error {
	return fmt.Errorf("%s %s on %s: %w", op, s.Table.Name, s.DB.Addr, err)
}

// Describe the side for logs.
func (s *Side) String() string { return s.Table.Name + " on " + s.DB.Addr }

// Sums returns the count and hash of a range, split into len(splits)+1 buckets at the
// given keys (bucket i holds keys <= splits[i] and above the previous split).
func (s *Side) Sums(ctx context.Context, r Range, splits []Key) ([]Sum, error) {
	b := &binder{pg: s.pg}
	bucket := "0"
	if len(splits) > 0 {
		var sb strings.Builder
		sb.WriteString("CASE")
		for i, k := range splits {
			sb.WriteString(" WHEN " + s.cmp(b, k, "<=") + " THEN " + strconv.Itoa(i))
		}
		sb.WriteString(" ELSE " + strconv.Itoa(len(splits)) + " END")
		bucket = sb.String()
	}
	sums := make([]Sum, len(splits)+1)
	if len(s.inGo) > 0 {
		return sums, s.goSums(ctx, b, bucket, r, sums)
	}
	agg := "BIT_XOR(" + s.rowHash + ")"
	if s.pg {
		agg = "COALESCE(bit_xor(" + s.rowHash + "), 0)"
	}
	q := "SELECT " + bucket + " AS b, COUNT(*), " + agg + " FROM " + s.Table.quoted
	q += s.where(b, r)
	if len(splits) > 0 {
		q += " GROUP BY 1"
	}
	rows, err := s.DB.sql.QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, s.fail("checksum", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var n int64
		var h any
		if err := rows.Scan(&i, &n, &h); err != nil {
			return nil, s.fail("checksum", err)
		}
		if i < 0 || i >= len(sums) {
			continue
		}
		sums[i].Count = n
		if sums[i].Hash, err = toUint64(h); err != nil {
			return nil, s.fail("checksum", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("checksum", err)
	}
	return sums, nil
}

// goSums aggregates bucket sums in Go for tables with InGo columns.
func (s *Side) goSums(ctx context.Context, b *binder, bucket string, r Range, sums []Sum) error {
	cols := []string{bucket, s.rowHash}
	for _, i := range s.inGo {
		cols = append(cols, s.canon[i])
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + s.Table.quoted + s.where(b, r)
	rows, err := s.DB.sql.QueryContext(ctx, q, b.args...)
	if err != nil {
		return s.fail("checksum", err)
	}
	defer rows.Close()
	dest := make([]any, len(cols))
	var i int
	var h any
	dest[0], dest[1] = &i, &h
	raws := make([]sql.NullString, len(s.inGo))
	for j := range raws {
		dest[2+j] = &raws[j]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.fail("checksum", err)
		}
		hv, err := toUint64(h)
		if err != nil {
			return s.fail("checksum", err)
		}
		if i >= 0 && i < len(sums) {
			sums[i].Count++
			sums[i].Hash ^= hv ^ goHash(raws)
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail("checksum", err)
	}
	return nil
}

// goHash hashes the canonical forms of InGo columns.
func goHash(raws []sql.NullString) uint64 {
	h := fnv.New64a()
	for _, r := range raws {
		if !r.Valid {
			h.Write([]byte(nullMark))
		} else {
			h.Write([]byte(CanonicalJSON(r.String)))
		}
		h.Write([]byte(sep))
	}
	return h.Sum64() | 1 // never 0, so a row is never neutral under XOR
}

func toUint64(v any) (uint64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return uint64(x), nil
	case uint64:
		return x, nil
	case []byte:
		return parseUintText(string(x))
	case string:
		return parseUintText(x)
	}
	return 0, fmt.Errorf("unexpected hash value %T", v)
}

func parseUintText(s string) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		n, err := strconv.ParseInt(s, 10, 64)
		return uint64(n), err
	}
	return strconv.ParseUint(s, 10, 64)
}

func (s *Side) scanKeys(rows *sql.Rows, extra ...any) (Key, error) {
	n := len(s.keyCanon)
	raw := make([]sql.NullString, n)
	dest := make([]any, 0, n+len(extra))
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	dest = append(dest, extra...)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	k := make(Key, n)
	for i, r := range raw {
		k[i] = r.String
	}
	return k, nil
}

// Boundary returns the key n rows after lo (lo excluded), or nil when fewer rows follow.
func (s *Side) Boundary(ctx context.Context, lo Key, n int) (Key, error) {
	b := &binder{pg: s.pg}
	q := "SELECT " + strings.Join(s.keyCanon, ", ") + " FROM " + s.Table.quoted + s.where(b, Range{Lo: lo}) +
		" ORDER BY " + s.orderBy() + " LIMIT 1 OFFSET " + strconv.Itoa(n-1)
	rows, err := s.DB.sql.QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, s.fail("find chunk boundary in", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	k, err := s.scanKeys(rows)
	if err != nil {
		return nil, s.fail("find chunk boundary in", err)
	}
	return k, rows.Err()
}

// Splits returns the keys of every every-th row of a range, in key order: split points
// that cut the range into parts of `every` rows on this side.
func (s *Side) Splits(ctx context.Context, r Range, every int64) ([]Key, error) {
	b := &binder{pg: s.pg}
	var inner []string
	for i, c := range s.keyCanon {
		inner = append(inner, c+" AS k"+strconv.Itoa(i))
	}
	var outer []string
	for i := range s.keyCanon {
		outer = append(outer, "k"+strconv.Itoa(i))
	}
	q := "SELECT " + strings.Join(outer, ", ") + " FROM (SELECT " + strings.Join(inner, ", ") +
		", ROW_NUMBER() OVER (ORDER BY " + s.orderBy() + ") AS rn FROM " + s.Table.quoted + s.where(b, r) +
		") x WHERE MOD(rn, " + strconv.FormatInt(every, 10) + ") = 0 ORDER BY rn"
	rows, err := s.DB.sql.QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, s.fail("split", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := s.scanKeys(rows)
		if err != nil {
			return nil, s.fail("split", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RowHashes calls fn with the key and hash of every row of a range. The key is given as
// its KeyText, which KeyOf turns back into a Key: matching rows of the two sides needs no
// more, and a leaf of thousands of rows then costs one string per row.
func (s *Side) RowHashes(ctx context.Context, r Range, fn func(key string, h uint64) error) error {
	b := &binder{pg: s.pg}
	cols := append(append([]string{}, s.keyCanon...), s.rowHash)
	for _, i := range s.inGo {
		cols = append(cols, s.canon[i])
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + s.Table.quoted + s.where(b, r)
	rows, err := s.DB.sql.QueryContext(ctx, q, b.args...)
	if err != nil {
		return s.fail("read row hashes of", err)
	}
	defer rows.Close()
	nk := len(s.keyCanon)
	raw := make([]sql.RawBytes, nk+1)
	raws := make([]sql.NullString, len(s.inGo))
	dest := make([]any, 0, nk+1+len(raws))
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	for j := range raws {
		dest = append(dest, &raws[j])
	}
	var kb []byte
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.fail("read row hashes of", err)
		}
		hv, err := parseHash(raw[nk])
		if err != nil {
			return s.fail("read row hashes of", err)
		}
		if len(raws) > 0 {
			hv ^= goHash(raws)
		}
		kb = appendKeyText(kb[:0], raw[:nk])
		if err := fn(string(kb), hv); err != nil {
			return err
		}
	}
	return rows.Err()
}

// KeyText is a key as one string, unambiguous whatever bytes the parts hold: a one-column
// key is its text; the parts of a composite key are each prefixed by their length.
func KeyText(k Key) string {
	parts := make([]sql.RawBytes, len(k))
	for i, p := range k {
		parts[i] = sql.RawBytes(p)
	}
	return string(appendKeyText(nil, parts))
}

func appendKeyText(dst []byte, parts []sql.RawBytes) []byte {
	if len(parts) == 1 {
		return append(dst, parts[0]...)
	}
	for _, p := range parts {
		dst = binary.AppendUvarint(dst, uint64(len(p)))
		dst = append(dst, p...)
	}
	return dst
}

// KeyOf turns a KeyText of this side's key back into the key.
func (s *Side) KeyOf(text string) Key {
	n := len(s.keyCanon)
	if n == 1 {
		return Key{text}
	}
	k := make(Key, 0, n)
	for len(k) < n && len(text) > 0 {
		l, w := binary.Uvarint([]byte(text))
		if w <= 0 || uint64(len(text)-w) < l {
			break
		}
		k = append(k, text[w:w+int(l)])
		text = text[w+int(l):]
	}
	for len(k) < n {
		k = append(k, "")
	}
	return k
}

// parseHash reads a row hash from its text (MySQL: unsigned; PostgreSQL: a signed bigint)
// without allocating.
func parseHash(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 20 {
		return 0, fmt.Errorf("unexpected hash value %q", b)
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("unexpected hash value %q", b)
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, fmt.Errorf("hash value %q out of range", b)
		}
		n = n*10 + d
	}
	if neg {
		return -n, nil
	}
	return n, nil
}

// Fetch reads the rows with the given keys (those that exist and pass the filter).
func (s *Side) Fetch(ctx context.Context, keys []Key) ([]Row, error) {
	var out []Row
	const batch = 200
	for start := 0; start < len(keys); start += batch {
		end := min(start+batch, len(keys))
		b := &binder{pg: s.pg}
		var ors []string
		for _, k := range keys[start:end] {
			var ands []string
			for i := range s.keyOrder {
				ands = append(ands, s.keyOrder[i]+" = "+s.bound(b, k, i))
			}
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		cond := "(" + strings.Join(ors, " OR ") + ")"
		if s.filter != "" {
			cond = "(" + s.filter + ") AND " + cond
		}
		rows, err := s.fetch(ctx, " WHERE "+cond, b.args)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// FetchRange reads every row of a range (for small ranges).
func (s *Side) FetchRange(ctx context.Context, r Range) ([]Row, error) {
	b := &binder{pg: s.pg}
	return s.fetch(ctx, s.where(b, r), b.args)
}

func (s *Side) fetch(ctx context.Context, where string, args []any) ([]Row, error) {
	cols := append(append(append([]string{}, s.keyCanon...), s.canon...), s.display...)
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + s.Table.quoted + where
	rows, err := s.DB.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail("fetch rows of", err)
	}
	defer rows.Close()
	nk, nc := len(s.keyCanon), len(s.canon)
	var out []Row
	for rows.Next() {
		vals := make([]sql.NullString, nk+2*nc)
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.fail("fetch rows of", err)
		}
		r := Row{Key: make(Key, nk), Canon: make([]*string, nc), Display: make([]*string, nc)}
		for i := 0; i < nk; i++ {
			r.Key[i] = vals[i].String
		}
		for i := 0; i < nc; i++ {
			if v := vals[nk+i]; v.Valid {
				x := v.String
				r.Canon[i] = &x
			}
			if v := vals[nk+nc+i]; v.Valid {
				x := v.String
				r.Display[i] = &x
			}
		}
		for _, i := range s.inGo {
			if r.Canon[i] != nil {
				x := CanonicalJSON(*r.Canon[i])
				r.Canon[i] = &x
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SourceValue converts a source column's stored text to the form CDC events use for the
// column: integers exact, DECIMAL as a string, floats as numbers, date-times in ISO 8601
// (TIMESTAMP in UTC with Z), binary as bytes (base64 in JSON), JSON embedded.
func (p *Pair) SourceValue(col int, text *string) any {
	return value(p.Columns[col].src, p.Source.pg, text)
}

// TargetValue converts a target column's stored text.
func (p *Pair) TargetValue(col int, text *string) any {
	return value(p.Columns[col].tgt, p.Target.pg, text)
}

func value(sc sideCol, pg bool, text *string) any {
	if text == nil {
		return nil
	}
	return displayValue(sc.class, pg, *text)
}

func displayValue(cls Class, pg bool, t string) any {
	switch cls {
	case ClassInt, ClassUInt, ClassYear, ClassBit:
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseUint(t, 10, 64); err == nil {
			return n
		}
	case ClassBool:
		switch t {
		case "true", "t":
			return true
		case "false", "f":
			return false
		}
	case ClassFloat, ClassDouble:
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f
		}
	case ClassDateTime:
		return strings.Replace(t, " ", "T", 1)
	case ClassTimestamp:
		t = strings.Replace(t, " ", "T", 1)
		t = strings.TrimSuffix(t, "+00")
		return t + "Z"
	case ClassBinary:
		if b, err := hex.DecodeString(t); err == nil {
			return b
		}
	case ClassJSON:
		if json.Valid([]byte(t)) {
			return json.RawMessage(t)
		}
	}
	return t
}
