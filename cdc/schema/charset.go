package schema

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/charset"
)

// Character sets, resolved as MySQL does. The TiDB parser knows every MySQL character
// set and collation by name (with its bytes per character) but accepts only the seven
// TiDB supports; the rewrite before parsing handles the others.

// normCharset lower-cases a character set name and resolves utf8 to utf8mb3, which it
// means on MySQL 8 and on MariaDB 10.6+ (old_mode UTF8_IS_UTF8MB3, the default; both
// servers report utf8mb3 in information_schema).
func normCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

// charsetInfo returns what the TiDB parser knows of a MySQL character set, nil when it
// does not know the name; supported says whether its grammar accepts the name.
func charsetInfo(cs string) (info *charset.Charset, supported bool) {
	c, err := charset.GetCharsetInfo(strings.ToLower(cs))
	return c, err == nil && c != nil
}

func knownCharset(cs string) bool {
	c, _ := charsetInfo(cs)
	return c != nil
}

// charsetMaxLen is the most bytes one character of cs takes (1 when cs is unknown).
func charsetMaxLen(cs string) int {
	if c, _ := charsetInfo(cs); c != nil && c.Maxlen > 0 {
		return c.Maxlen
	}
	return 1
}

// charsetOfCollation returns the character set a collation name belongs to: the part
// before the first underscore (utf8mb4_general_ci, MariaDB's utf8mb4_uca1400_ai_ci),
// binary for binary. ok is false for names without a charset (MariaDB 10.10+'s
// uca1400_ai_ci, which takes the charset of its context).
func charsetOfCollation(coll string) (string, bool) {
	coll = strings.ToLower(coll)
	if coll == "binary" {
		return "binary", true
	}
	prefix, _, found := strings.Cut(coll, "_")
	if !found || !knownCharset(prefix) {
		return "", false
	}
	return normCharset(prefix), true
}

// tidbCollationFor returns a collation of cs that the TiDB parser accepts, to stand in
// for a collation it does not know; empty when there is none.
func tidbCollationFor(cs string) string {
	c, _ := charsetInfo(cs)
	if c == nil {
		return ""
	}
	for _, name := range []string{c.Name + "_bin", c.DefaultCollation} {
		if _, err := charset.GetCollationByName(name); err == nil {
			return name
		}
	}
	return ""
}

func tidbKnowsCollation(name string) bool {
	_, err := charset.GetCollationByName(name)
	return err == nil
}
