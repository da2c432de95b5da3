package source

import (
	"bytes"
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
)

// CanonicalJSON renders a JSON document in one form whatever the engine that stored it:
// object keys sorted, no insignificant space, numbers by value (2.50 and 2.5 are the same,
// 1.0E0 and 1 too). Text that is not JSON is returned unchanged, so it still compares.
func CanonicalJSON(s string) string {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s
	}
	if dec.More() {
		return s
	}
	var buf bytes.Buffer
	writeCanonical(&buf, v)
	return buf.String()
}

func writeCanonical(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			b, _ := json.Marshal(k)
			buf.Write(b)
			buf.WriteByte(':')
			writeCanonical(buf, x[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, e)
		}
		buf.WriteByte(']')
	case json.Number:
		buf.WriteString(canonicalNumber(string(x)))
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

// canonicalNumber writes a JSON number by its exact value: an integer without point or
// exponent, anything else as the shortest decimal that is exactly the same rational.
func canonicalNumber(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	if r.IsInt() {
		return r.Num().String()
	}
	// Exact decimal if the denominator has only 2s and 5s, which it has for any decimal
	// literal; FloatString with enough digits then trims.
	out := r.FloatString(64)
	for len(out) > 0 && out[len(out)-1] == '0' {
		out = out[:len(out)-1]
	}
	if f, err := strconv.ParseFloat(out, 64); err == nil && len(out) > 32 {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return out
}
