package shadow

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/strangler/strangler/compare/report"
)

// Answer is one HTTP response as compared.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Rules say what counts as a difference.
type Rules struct {
	Headers      []string // response headers compared (canonical names)
	Ignore       []string // field paths never compared: $.meta.requestId, $.items[*].updatedAt, $..etag
	ToleranceAbs float64  // numbers closer than this are equal
	ToleranceRel float64  // numbers within this fraction of the larger are equal
}

// Diff returns the differing fields of two answers: "status", "header:Name", JSON field
// paths ($.a.b[*].c, array indexes folded), or "body" for bodies that are not JSON.
func Diff(a, b Answer, r Rules) map[string]report.Values {
	out := map[string]report.Values{}
	if a.Status != b.Status {
		out["status"] = report.Values{Source: int64(a.Status), Target: int64(b.Status)}
	}
	for _, h := range r.Headers {
		av, bv := strings.Join(a.Header.Values(h), ", "), strings.Join(b.Header.Values(h), ", ")
		if mediaType(h, av) != mediaType(h, bv) {
			out["header:"+http.CanonicalHeaderKey(h)] = report.Values{Source: av, Target: bv}
		}
	}
	aj, aok := parseJSON(a.Body)
	bj, bok := parseJSON(b.Body)
	if aok && bok {
		fa, fb := map[string]any{}, map[string]any{}
		flatten("$", aj, fa)
		flatten("$", bj, fb)
		for p, av := range fa {
			bv, ok := fb[p]
			if !ok {
				bv = absent{}
			}
			if !equalValue(av, bv, r) && !ignored(p, r.Ignore) {
				addField(out, p, av, bv)
			}
		}
		for p, bv := range fb {
			if _, ok := fa[p]; !ok && !ignored(p, r.Ignore) {
				addField(out, p, absent{}, bv)
			}
		}
		return out
	}
	if !bytes.Equal(bytes.TrimSpace(a.Body), bytes.TrimSpace(b.Body)) {
		out["body"] = report.Values{Source: clip(a.Body), Target: clip(b.Body)}
	}
	return out
}

// mediaType compares Content-Type by media type only (charset spelling varies).
func mediaType(h, v string) string {
	if strings.EqualFold(h, "Content-Type") {
		mt, _, _ := strings.Cut(v, ";")
		return strings.ToLower(strings.TrimSpace(mt))
	}
	return v
}

type absent struct{}

func addField(out map[string]report.Values, p string, a, b any) {
	// Paths fold array indexes: several elements differing in one field count once.
	key := Fold(p)
	if _, ok := out[key]; ok {
		return
	}
	out[key] = report.Values{Source: jsonValue(a), Target: jsonValue(b)}
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case absent:
		return nil
	case json.Number:
		return json.RawMessage(x)
	case string:
		return x
	case bool:
		return x
	case nil:
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(v)
	return json.RawMessage(b)
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func parseJSON(b []byte) (any, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// flatten maps every leaf (and every empty object or array) to its path.
func flatten(p string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[p] = map[string]any{}
		}
		for k, e := range x {
			flatten(p+"."+k, e, out)
		}
	case []any:
		if len(x) == 0 {
			out[p] = []any{}
		}
		for i, e := range x {
			flatten(p+"["+strconv.Itoa(i)+"]", e, out)
		}
	default:
		out[p] = v
	}
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// Fold replaces array indexes by [*].
func Fold(p string) string { return indexRE.ReplaceAllString(p, "[*]") }

func ignored(p string, patterns []string) bool {
	f := Fold(p)
	for _, pat := range patterns {
		if matchPath(pat, f) || matchPath(pat, p) {
			return true
		}
	}
	return false
}

// matchPath matches a path against an ignore pattern: exact, a prefix (ignoring a whole
// subtree), glob (* within a segment), or $..name for a field at any depth.
func matchPath(pat, p string) bool {
	if !strings.HasPrefix(pat, "$") {
		pat = "$." + pat
	}
	if strings.HasPrefix(pat, "$..") {
		name := pat[3:]
		return strings.HasSuffix(p, "."+name) || strings.Contains(p, "."+name+".") || strings.Contains(p, "."+name+"[")
	}
	if p == pat || strings.HasPrefix(p, pat+".") || strings.HasPrefix(p, pat+"[") {
		return true
	}
	ok, _ := path.Match(strings.ReplaceAll(pat, "[*]", "[\\*]"), p)
	return ok
}

func equalValue(a, b any, r Rules) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		if an == bn {
			return true
		}
		af, err1 := an.Float64()
		bf, err2 := bn.Float64()
		if err1 != nil || err2 != nil {
			return false
		}
		d := math.Abs(af - bf)
		return d == 0 || d <= r.ToleranceAbs || d <= r.ToleranceRel*math.Max(math.Abs(af), math.Abs(bf))
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && len(x) == 0 && len(y) == 0
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == 0 && len(y) == 0
	case absent:
		_, ok := b.(absent)
		return ok
	}
	return a == b
}

// Fields lists a diff's field names, sorted.
func Fields(d map[string]report.Values) []string {
	out := make([]string, 0, len(d))
	for k := range d {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var idSegment = regexp.MustCompile(`^([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}|[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]{7,})$`)

// Endpoint names a request's route: the method and the path with id-like segments
// (numbers, UUIDs, long hex or mixed tokens) replaced by {id}, so counts group by route.
func Endpoint(method, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "" && idSegment.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}
