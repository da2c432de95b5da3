package schema

import (
	"strings"
)

// stmtKind is what a statement does to the schema, read from its first words.
type stmtKind int

const (
	kindOther stmtKind = iota // not schema-changing: a no-op
	kindCreateTable
	kindAlterTable
	kindDropTable
	kindRenameTable
	kindCreateIndex
	kindDropIndex
	kindCreateDatabase
	kindAlterDatabase
	kindDropDatabase
)

func (k stmtKind) String() string {
	return [...]string{"other", "CREATE TABLE", "ALTER TABLE", "DROP TABLE", "RENAME TABLE",
		"CREATE INDEX", "DROP INDEX", "CREATE DATABASE", "ALTER DATABASE", "DROP DATABASE"}[k]
}

// prepared is a statement classified and stripped of the MariaDB syntax around its
// head that the TiDB parser does not know (the facts it carried are kept as flags).
type prepared struct {
	kind      stmtKind
	toks      []token
	names     []TableName // the tables the statement names (DB empty when unqualified)
	orReplace bool        // CREATE OR REPLACE (MariaDB)
	ifExists  bool        // ALTER TABLE IF EXISTS, RENAME TABLE IF EXISTS (MariaDB)
	versioned bool        // mentions SYSTEM VERSIONING (MariaDB)
	// notNull are the columns of MariaDB application-time periods (PERIOD FOR p (a, b)),
	// which the server makes NOT NULL; the period clauses are taken out of toks.
	notNull []string
}

// prepare classifies stmt. Temporary tables are kindOther: in row-based replication
// their changes never reach the binlog.
func prepare(stmt string) prepared {
	toks := lexSQL(stmt)
	// MariaDB: SET STATEMENT var=value[, ...] FOR <statement>.
	if len(toks) > 2 && toks[0].is("SET") && toks[1].is("STATEMENT") {
		depth := 0
		for i := 2; i < len(toks); i++ {
			switch {
			case toks[i].punct('('):
				depth++
			case toks[i].punct(')'):
				depth--
			case depth == 0 && toks[i].is("FOR"):
				toks = toks[i+1:]
				i = len(toks)
			}
		}
	}
	p := prepared{toks: toks}
	if len(toks) == 0 {
		return p
	}
	drop := make([]bool, len(toks))
	switch {
	case toks[0].is("CREATE"):
		i := 1
		if j, ok := skipWords(toks, i, "OR", "REPLACE"); ok {
			drop[i], drop[i+1] = true, true
			p.orReplace = true
			i = j
		}
		switch {
		case i < len(toks) && toks[i].is("TEMPORARY"):
			return prepared{toks: toks}
		case i < len(toks) && toks[i].is("TABLE"):
			p.kind = kindCreateTable
			i++
			i, _ = skipWords(toks, i, "IF", "NOT", "EXISTS")
			if n, _, ok := readName(toks, i); ok {
				p.names = append(p.names, n)
			}
		case i < len(toks) && toks[i].isAny("DATABASE", "SCHEMA"):
			p.kind = kindCreateDatabase
		default:
			// CREATE [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX ... ON tbl
			j := i
			for j < len(toks) && toks[j].isAny("ONLINE", "OFFLINE", "UNIQUE", "FULLTEXT", "SPATIAL") {
				j++
			}
			if j < len(toks) && toks[j].is("INDEX") {
				p.kind = kindCreateIndex
				p.names = appendNameAfterOn(p.names, toks, j)
			}
		}
	case toks[0].is("ALTER"):
		i := 1
		if i < len(toks) && toks[i].is("ONLINE") {
			drop[i] = true
			i++
		}
		if i < len(toks) && toks[i].is("IGNORE") {
			i++
		}
		switch {
		case i < len(toks) && toks[i].is("TABLE"):
			p.kind = kindAlterTable
			i++
			if j, ok := skipWords(toks, i, "IF", "EXISTS"); ok {
				drop[i], drop[i+1] = true, true
				p.ifExists = true
				i = j
			}
			specs := i
			if n, j, ok := readName(toks, i); ok {
				p.names = append(p.names, n)
				specs = j
				if j < len(toks) && toks[j].is("NOWAIT") {
					drop[j] = true
					specs++
				} else if j+1 < len(toks) && toks[j].is("WAIT") && isNumber(toks[j+1]) {
					specs += 2 // dropped below with every WAIT n
				}
			}
			// ALTER TABLE ... RENAME [TO|AS] new: the new name is touched too. RENAME
			// starts a spec: right after the table name or a comma.
			for k := specs; k+1 < len(toks); k++ {
				if !toks[k].is("RENAME") || toks[k+1].isAny("COLUMN", "INDEX", "KEY") || (k > specs && !toks[k-1].punct(',')) {
					continue
				}
				k++
				if toks[k].isAny("TO", "AS") {
					k++
				}
				if n, _, ok := readName(toks, k); ok {
					p.names = append(p.names, n)
				}
			}
		case i < len(toks) && toks[i].isAny("DATABASE", "SCHEMA"):
			p.kind = kindAlterDatabase
		}
	case toks[0].is("DROP"):
		i := 1
		switch {
		case i < len(toks) && toks[i].is("TEMPORARY"):
			return prepared{toks: toks}
		case i < len(toks) && toks[i].is("TABLE"):
			p.kind = kindDropTable
			i++
			i, _ = skipWords(toks, i, "IF", "EXISTS")
			for {
				n, j, ok := readName(toks, i)
				if !ok {
					break
				}
				p.names = append(p.names, n)
				if j < len(toks) && toks[j].punct(',') {
					i = j + 1
					continue
				}
				if j < len(toks) && toks[j].is("NOWAIT") {
					drop[j] = true
				}
				break
			}
		case i < len(toks) && toks[i].isAny("DATABASE", "SCHEMA"):
			p.kind = kindDropDatabase
		default:
			j := i
			for j < len(toks) && toks[j].isAny("ONLINE", "OFFLINE") {
				j++
			}
			if j < len(toks) && toks[j].is("INDEX") {
				p.kind = kindDropIndex
				p.names = appendNameAfterOn(p.names, toks, j)
			}
		}
	case toks[0].is("RENAME") && len(toks) > 1 && toks[1].isAny("TABLE", "TABLES"):
		p.kind = kindRenameTable
		i := 2
		if j, ok := skipWords(toks, i, "IF", "EXISTS"); ok {
			drop[i], drop[i+1] = true, true
			p.ifExists = true
			i = j
		}
		for i < len(toks) {
			n, j, ok := readName(toks, i)
			if !ok {
				break
			}
			p.names = append(p.names, n)
			if j < len(toks) && toks[j].is("NOWAIT") {
				drop[j] = true
				j++
			}
			if j < len(toks) && toks[j].is("WAIT") {
				j += 2 // dropped below with every WAIT n
			}
			if j < len(toks) && (toks[j].is("TO") || toks[j].punct(',')) {
				i = j + 1
				continue
			}
			break
		}
	}
	if p.kind == kindOther {
		return p
	}
	for i := 0; i+1 < len(toks); i++ {
		// MariaDB's lock wait clause, WAIT n, can only appear after a table name.
		if toks[i].is("WAIT") && isNumber(toks[i+1]) {
			drop[i], drop[i+1] = true, true
		}
		if toks[i].is("SYSTEM") && toks[i+1].is("VERSIONING") {
			p.versioned = true
		}
	}
	if p.kind == kindCreateTable || p.kind == kindAlterTable {
		p.notNull = takePeriods(toks, drop)
	}
	p.toks = filterTokens(toks, drop)
	return p
}

// takePeriods finds MariaDB's PERIOD FOR name (start, end) in a CREATE TABLE element list
// and ALTER TABLE ADD/DROP PERIOD FOR, marks them in drop (with the comma that separates
// them, or, for a lone ALTER spec, in favour of FORCE, which changes nothing either),
// and returns the period columns.
func takePeriods(toks []token, drop []bool) []string {
	var cols []string
	for i := 0; i+1 < len(toks); i++ {
		if !toks[i].is("PERIOD") || !toks[i+1].is("FOR") {
			continue
		}
		start := i
		if i > 0 && toks[i-1].isAny("ADD", "DROP") {
			start = i - 1
		}
		end := i + 2 // the period's name
		if end+1 < len(toks) && toks[end+1].punct('(') {
			for k := end + 2; k < len(toks); k++ {
				if toks[k].punct(')') {
					end = k
					break
				}
				if name, ok := toks[k].ident(); ok {
					cols = append(cols, name)
				}
			}
		}
		for k := start; k <= end && k < len(toks); k++ {
			drop[k] = true
		}
		switch {
		case start > 0 && toks[start-1].punct(','):
			drop[start-1] = true
		case end+1 < len(toks) && toks[end+1].punct(','):
			drop[end+1] = true
		case start > 0 && toks[start].isAny("ADD", "DROP"):
			toks[start] = token{kind: tWord, text: "FORCE", sp: true}
			drop[start] = false
		}
		i = end
	}
	return cols
}

// appendNameAfterOn appends the table name after the ON of CREATE/DROP INDEX.
func appendNameAfterOn(names []TableName, toks []token, from int) []TableName {
	for k := from; k < len(toks); k++ {
		if toks[k].is("ON") {
			if n, _, ok := readName(toks, k+1); ok {
				return append(names, n)
			}
			break
		}
	}
	return names
}

func isNumber(t token) bool {
	if t.kind != tWord {
		return false
	}
	for i := 0; i < len(t.text); i++ {
		if t.text[i] < '0' || t.text[i] > '9' {
			return false
		}
	}
	return true
}

func filterTokens(toks []token, drop []bool) []token {
	out := make([]token, 0, len(toks))
	for i, t := range toks {
		if !drop[i] {
			out = append(out, t)
		}
	}
	return out
}

// placeholderPrefix marks a column type the TiDB parser does not know (spatial types,
// MariaDB's UUID, INET4, INET6): the rewrite turns it into a one-label ENUM carrying the
// type's name, and the column builder turns it back.
const placeholderPrefix = "\x00strangler-type:"

// placeholderTypes are the column types written as placeholders, by the name
// information_schema's DATA_TYPE gives them.
var placeholderTypes = map[string]bool{
	"geometry": true, "point": true, "linestring": true, "polygon": true, "multipoint": true,
	"multilinestring": true, "multipolygon": true, "geometrycollection": true, "geomcollection": true,
	"uuid": true, "inet4": true, "inet6": true,
}

// nameKeywords are words after which an identifier is a name, not a column type.
var nameKeywords = map[string]bool{
	"ADD": true, "COLUMN": true, "CHANGE": true, "MODIFY": true, "DROP": true, "AFTER": true,
	"TO": true, "AS": true, "KEY": true, "INDEX": true, "ON": true, "TABLE": true, "EXISTS": true,
	"RENAME": true, "ALTER": true, "REFERENCES": true, "CONSTRAINT": true, "FOREIGN": true,
	"PRIMARY": true, "UNIQUE": true, "SET": true, "BY": true, "LIKE": true, "FIRST": true,
	"USING": true, "DEFAULT": true, "FOR": true, "CHECK": true, "FULLTEXT": true, "SPATIAL": true,
}

// attributeWords may follow a column's type.
var attributeWords = map[string]bool{
	"NOT": true, "NULL": true, "DEFAULT": true, "PRIMARY": true, "UNIQUE": true, "KEY": true,
	"COMMENT": true, "AFTER": true, "FIRST": true, "CHECK": true, "REFERENCES": true,
	"INVISIBLE": true, "VISIBLE": true, "SRID": true, "REF_SYSTEM_ID": true, "CONSTRAINT": true,
	"GENERATED": true, "AS": true, "AUTO_INCREMENT": true, "COLUMN_FORMAT": true, "STORAGE": true,
	"COLLATE": true, "COMPRESSED": true, "ON": true, "WITH": true, "WITHOUT": true,
}

// columnTypePosition reports whether toks[i] stands where a column definition's type or
// attribute does: after a column name or another part of the definition, and before the
// end of the definition or another attribute.
func columnTypePosition(toks []token, i int) bool {
	return (afterColumnName(toks, i) || (i > 0 && toks[i-1].punct(')'))) && typeEndsAt(toks, i+1)
}

// afterColumnName reports whether toks[i-1] can be a column name or a word of a column
// definition (not a keyword that introduces a name, nor punctuation).
func afterColumnName(toks []token, i int) bool {
	if i == 0 {
		return false
	}
	switch prev := toks[i-1]; prev.kind {
	case tQuoted:
		return true
	case tWord:
		return !nameKeywords[strings.ToUpper(prev.text)]
	}
	return false
}

// typeEndsAt reports whether a column type can end before toks[j]: at the end of the
// definition or before an attribute.
func typeEndsAt(toks []token, j int) bool {
	if j >= len(toks) {
		return true
	}
	next := toks[j]
	return next.punct(',') || next.punct(')') || next.punct(';') ||
		(next.kind == tWord && (attributeWords[strings.ToUpper(next.text)] ||
			next.isAny("CHARACTER", "CHARSET", "CHAR", "BINARY", "ASCII", "UNICODE", "BYTE")))
}

// rewriteForTiDB rewrites what the TiDB parser refuses or misreads in statements MySQL
// and MariaDB accept, keeping what matters for column definitions:
//   - character sets other than TiDB's seven (CHARACTER SET cp1251) become the
//     equivalent COLLATE clause (the parser accepts every MySQL collation name);
//   - collations it does not know (MariaDB's utf8mb4_uca1400_ai_ci, utf8mb4_nopad_bin)
//     become a collation of the same charset; charset-less ones (uca1400_ai_ci) go;
//   - NATIONAL CHAR/VARCHAR, NCHAR, NVARCHAR get their utf8mb3 charset, which the
//     parser drops;
//   - ASCII, UNICODE and BYTE after a type become the collation they stand for;
//   - spatial types and MariaDB's UUID, INET4, INET6 become placeholders; SRID goes;
//     SPATIAL KEY becomes KEY.
//
// With risky set (used only when the statement does not parse otherwise) it also strips
// MariaDB column attributes (INVISIBLE, COMPRESSED), turns PERSISTENT into STORED, drops
// IF [NOT] EXISTS where the parser does not take it (ADD UNIQUE KEY IF NOT EXISTS, DROP
// CONSTRAINT IF EXISTS, DROP FOREIGN KEY IF EXISTS), table options the parser does not
// know (Aria's, MySQL 8's AUTOEXTEND_SIZE), MySQL 8's column
// ENGINE_ATTRIBUTE and trailing START TRANSACTION (CREATE TABLE ... SELECT), and turns
// MySQL 8's ALTER COLUMN c SET [IN]VISIBLE into DROP DEFAULT (both no change to us).
func rewriteForTiDB(toks []token, risky bool) []token {
	out := make([]token, 0, len(toks)+4)
	depth := 0
	kw := func(text string) token { return token{kind: tWord, text: text, sp: true} }
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.punct('('):
			depth++
		case t.punct(')'):
			depth--
		}
		// CHARACTER SET / CHARSET / CHAR SET name
		if n := charsetKeywordLen(toks, i); n > 0 {
			at := i + n // the name
			if at < len(toks) && toks[at].punct('=') {
				at++
			}
			if at < len(toks) {
				name, _ := toks[at].value()
				if info, supported := charsetInfo(name); info != nil && !supported {
					if inCast(toks, i) {
						// CAST(x AS CHAR CHARACTER SET cp1251): an expression's charset
						// does not matter here; one the parser accepts does.
						out = append(out, toks[i:at]...)
						out = append(out, kw("binary"))
						i = at
						continue
					}
					convertTo := i >= 2 && toks[i-2].is("CONVERT") && toks[i-1].is("TO")
					last := at // the last token this clause consumes
					collateNext := at+1 < len(toks) && toks[at+1].is("COLLATE")
					if collateNext {
						// A collation without a charset of its own (uca1400_ai_ci) that the
						// parser does not know would go, and this charset with it: keep
						// the charset, as its collation, in their place.
						k := at + 2
						if k < len(toks) && toks[k].punct('=') {
							k++
						}
						if k < len(toks) {
							coll, _ := toks[k].value()
							if _, has := charsetOfCollation(coll); !has && !tidbKnowsCollation(coll) {
								collateNext = false
								last = k
							}
						}
					}
					switch {
					case convertTo && collateNext:
						out = append(out, toks[i:at]...)
						out = append(out, kw("DEFAULT"))
					case convertTo:
						out = append(out, toks[i:at]...)
						out = append(out, kw("DEFAULT"), kw("COLLATE"), kw(tidbCollationFor(name)))
					case collateNext:
						// the COLLATE that follows says it all
					default:
						c := kw("COLLATE")
						c.sp = t.sp
						out = append(out, c, kw(tidbCollationFor(name)))
					}
					i = last
					continue
				}
			}
		}
		// COLLATE [=] name
		if t.is("COLLATE") {
			j := i + 1
			if j < len(toks) && toks[j].punct('=') {
				j++
			}
			if j < len(toks) {
				name, _ := toks[j].value()
				if !tidbKnowsCollation(name) {
					if cs, ok := charsetOfCollation(name); ok && tidbCollationFor(cs) != "" {
						out = append(out, toks[i:j]...)
						out = append(out, kw(tidbCollationFor(cs)))
					} else if len(out) > 0 && out[len(out)-1].is("DEFAULT") {
						out = out[:len(out)-1] // DEFAULT COLLATE x: the whole table option goes
					}
					i = j
					continue
				}
			}
		}
		// _cp1251'text' (an introducer the parser refuses) and CONVERT(x USING cp1251):
		// the value of an expression does not matter here.
		if t.kind == tWord && len(t.text) > 1 && t.text[0] == '_' && i+1 < len(toks) && toks[i+1].kind == tString && !toks[i+1].sp {
			if info, supported := charsetInfo(t.text[1:]); info != nil && !supported {
				continue
			}
		}
		if t.is("USING") && i+1 < len(toks) {
			if info, supported := charsetInfo(toks[i+1].text); info != nil && !supported {
				out = append(out, t, kw("binary"))
				i++
				continue
			}
		}
		// NATIONAL types: utf8mb3 by definition.
		if n, varying := nationalTypeLen(toks, i); n > 0 && afterColumnName(toks, i) {
			j := i + n
			if j < len(toks) && toks[j].punct('(') {
				for j < len(toks) && !toks[j].punct(')') {
					j++
				}
				j++ // past ')'
			}
			if typeEndsAt(toks, j) {
				base := kw("CHAR")
				if varying {
					base = kw("VARCHAR")
				}
				base.sp = t.sp
				out = append(out, base)
				out = append(out, toks[i+n:min(j, len(toks))]...)
				out = append(out, kw("CHARACTER"), kw("SET"), kw("utf8"))
				i = j - 1
				continue
			}
		}
		// Types the parser does not know.
		if t.kind == tWord && placeholderTypes[strings.ToLower(t.text)] && columnTypePosition(toks, i) {
			e := kw("ENUM")
			e.sp = t.sp
			out = append(out, e, token{kind: tPunct, text: "("},
				token{kind: tString, text: "'" + placeholderPrefix + strings.ToLower(t.text) + "'"},
				token{kind: tPunct, text: ")"})
			continue
		}
		// The charset shorthands after a type: ASCII is latin1, UNICODE ucs2, BYTE binary.
		if t.isAny("ASCII", "UNICODE", "BYTE") && columnTypePosition(toks, i) {
			cs := map[string]string{"ASCII": "latin1", "UNICODE": "ucs2", "BYTE": "binary"}[strings.ToUpper(t.text)]
			c := kw("COLLATE")
			c.sp = t.sp
			out = append(out, c, kw(tidbCollationFor(cs)))
			continue
		}
		// SPATIAL KEY/INDEX: to us an index like any other.
		if t.is("SPATIAL") && i+1 < len(toks) && toks[i+1].isAny("KEY", "INDEX") {
			continue
		}
		if t.is("SRID") && i+1 < len(toks) && isNumber(toks[i+1]) {
			i++
			continue
		}
		if t.is("REF_SYSTEM_ID") && i+2 < len(toks) && toks[i+1].punct('=') && isNumber(toks[i+2]) {
			i += 2
			continue
		}
		if risky {
			if t.isAny("INVISIBLE", "VISIBLE") && columnTypePosition(toks, i) && !(i >= 2 && toks[i-2].isAny("INDEX", "KEY")) {
				continue
			}
			if t.is("COMPRESSED") && (columnTypePosition(toks, i) || i > 0 && (afterColumnName(toks, i) || toks[i-1].punct(')')) && i+1 < len(toks) && toks[i+1].punct('=')) {
				if i+2 < len(toks) && toks[i+1].punct('=') {
					i += 2
				}
				continue
			}
			// MySQL 8's ALTER COLUMN c SET [IN]VISIBLE: to us as empty as DROP DEFAULT.
			if t.is("SET") && i+1 < len(toks) && toks[i+1].isAny("VISIBLE", "INVISIBLE") {
				d := kw("DROP")
				d.sp = t.sp
				out = append(out, d, kw("DEFAULT"))
				i++
				continue
			}
			if t.is("PERSISTENT") && i > 0 && toks[i-1].punct(')') {
				s := kw("STORED")
				s.sp = t.sp
				out = append(out, s)
				continue
			}
			if t.is("IF") && i > 0 && toks[i-1].isAny("KEY", "INDEX", "UNIQUE", "CONSTRAINT", "CHECK", "FOREIGN") {
				if j, ok := skipWords(toks, i, "IF", "NOT", "EXISTS"); ok {
					i = j - 1
					continue
				}
				if j, ok := skipWords(toks, i, "IF", "EXISTS"); ok {
					i = j - 1
					continue
				}
			}
			if depth == 0 && t.kind == tWord && mariadbTableOptions[strings.ToUpper(t.text)] {
				j := i + 1
				if j < len(toks) && toks[j].punct('=') {
					j++
				}
				if len(out) > 0 && out[len(out)-1].punct(',') {
					out = out[:len(out)-1]
				} else if j+1 < len(toks) && toks[j+1].punct(',') && afterTableName(out) {
					j++ // the option came first in ALTER TABLE: its comma goes with it
				}
				i = j // skip the value too
				continue
			}
			if t.is("START") && i+2 == len(toks) && toks[i+1].is("TRANSACTION") {
				break
			}
			// MySQL 8's column ENGINE_ATTRIBUTE 'json'.
			if t.isAny("ENGINE_ATTRIBUTE", "SECONDARY_ENGINE_ATTRIBUTE") && depth > 0 {
				if i+1 < len(toks) && toks[i+1].punct('=') {
					i++
				}
				i++
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// inCast reports whether the charset clause at i follows AS CHAR[(n)], as in CAST.
func inCast(toks []token, i int) bool {
	j := i - 1
	if j >= 0 && toks[j].punct(')') {
		for j >= 0 && !toks[j].punct('(') {
			j--
		}
		j--
	}
	return j >= 1 && toks[j].isAny("CHAR", "CHARACTER") && toks[j-1].is("AS")
}

// afterTableName reports whether out ends with TABLE name or TABLE db.name.
func afterTableName(out []token) bool {
	n := len(out)
	switch {
	case n >= 2 && out[n-2].is("TABLE"):
		return true
	case n >= 4 && out[n-2].punct('.') && out[n-4].is("TABLE"):
		return true
	}
	return false
}

// mariadbTableOptions are table options the TiDB parser does not know (MariaDB's, and
// MySQL 8's AUTOEXTEND_SIZE) and that do not change columns.
var mariadbTableOptions = map[string]bool{
	"PAGE_CHECKSUM": true, "PAGE_COMPRESSED": true, "PAGE_COMPRESSION_LEVEL": true,
	"TRANSACTIONAL": true, "ENCRYPTED": true, "ENCRYPTION_KEY_ID": true, "IETF_QUOTES": true,
	"SEQUENCE": true, "TABLE_CHECKSUM": true, "AUTOEXTEND_SIZE": true,
}

// createTableCore keeps of a CREATE TABLE what decides its columns: the head, the
// element list, and the charset and collation options after it; partitioning and the
// other table options go. The last resort for table options the parser does not know.
// It returns nil when toks has no element list.
func createTableCore(toks []token) []token {
	open := -1
	for i, t := range toks {
		if t.punct('(') {
			open = i
			break
		}
	}
	if open < 0 {
		return nil
	}
	depth, end := 0, -1
	for i := open; i < len(toks) && end < 0; i++ {
		switch {
		case toks[i].punct('('):
			depth++
		case toks[i].punct(')'):
			depth--
			if depth == 0 {
				end = i
			}
		}
	}
	if end < 0 {
		return nil
	}
	out := append([]token(nil), toks[:end+1]...)
	for i := end + 1; i < len(toks); i++ {
		n := charsetKeywordLen(toks, i)
		if n == 0 && toks[i].is("COLLATE") {
			n = 1
		}
		if n == 0 {
			continue
		}
		j := i + n
		if j < len(toks) && toks[j].punct('=') {
			j++
		}
		if j < len(toks) {
			out = append(out, toks[i:j+1]...)
		}
		i = j
	}
	return out
}

// charsetKeywordLen returns how many tokens CHARACTER SET / CHAR SET / CHARSET take at i.
func charsetKeywordLen(toks []token, i int) int {
	switch {
	case toks[i].is("CHARSET"):
		return 1
	case toks[i].isAny("CHARACTER", "CHAR") && i+1 < len(toks) && toks[i+1].is("SET"):
		return 2
	}
	return 0
}

// nationalTypeLen returns how many tokens a NATIONAL character type takes at i (0 when
// there is none) and whether it is a VARCHAR.
func nationalTypeLen(toks []token, i int) (int, bool) {
	at := func(k int, kws ...string) bool { return i+k < len(toks) && toks[i+k].isAny(kws...) }
	switch {
	case at(0, "NATIONAL") && at(1, "CHAR", "CHARACTER") && at(2, "VARYING"):
		return 3, true
	case at(0, "NATIONAL") && at(1, "CHAR", "CHARACTER"):
		return 2, false
	case at(0, "NATIONAL") && at(1, "VARCHAR", "VARCHARACTER"):
		return 2, true
	case at(0, "NCHAR") && at(1, "VARCHAR", "VARCHARACTER", "VARYING"):
		return 2, true
	case at(0, "NCHAR"):
		return 1, false
	case at(0, "NVARCHAR"):
		return 1, true
	}
	return 0, false
}
