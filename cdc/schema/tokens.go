package schema

import "strings"

// A light SQL tokenizer. The TiDB parser does the real parsing; these tokens serve what
// comes before it: telling schema statements from the rest cheaply (Apply sees every
// QUERY event, BEGIN included), finding the tables a statement names when the parser
// cannot read it, and rewriting MariaDB syntax the parser does not know.

type tokKind uint8

const (
	tWord   tokKind = iota // unquoted identifier, keyword or number
	tQuoted                // `identifier`
	tString                // '...' or "..."
	tPunct                 // any other single byte
)

type token struct {
	kind tokKind
	text string // as written, quotes included
	sp   bool   // whitespace or a comment came before it
}

// is reports whether t is the unquoted word kw (case-insensitive).
func (t token) is(kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

// isAny reports whether t is one of the unquoted words kws.
func (t token) isAny(kws ...string) bool {
	for _, k := range kws {
		if t.is(k) {
			return true
		}
	}
	return false
}

func (t token) punct(c byte) bool {
	return t.kind == tPunct && t.text[0] == c
}

// ident returns the identifier t names, unquoted.
func (t token) ident() (string, bool) {
	switch t.kind {
	case tWord:
		return t.text, true
	case tQuoted:
		return strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`"), true
	}
	return "", false
}

// value returns the name an identifier or a string token spells (charset and collation
// names may be written either way).
func (t token) value() (string, bool) {
	if t.kind == tString {
		q := t.text[:1]
		return strings.ReplaceAll(t.text[1:len(t.text)-1], q+q, q), true
	}
	return t.ident()
}

// lexSQL splits a statement into tokens. Comments become spacing; the content of
// executable comments (/*!50100 ... */, MariaDB's /*M!100100 ... */) is kept, since the
// server ran it. It never fails: an unterminated quote runs to the end, and the parser
// reports it.
func lexSQL(s string) []token {
	var toks []token
	sp := false
	inExec := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			sp = true
			i++
		case c == '#' || (c == '-' && i+1 < len(s) && s[i+1] == '-' && (i+2 == len(s) || s[i+2] <= ' ')):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			sp = true
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := i + 2
			if j < len(s) && s[j] == 'M' && j+1 < len(s) && s[j+1] == '!' {
				j++
			}
			if j < len(s) && s[j] == '!' && !inExec {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				inExec = true
				i = j
			} else {
				end := strings.Index(s[i+2:], "*/")
				if end < 0 {
					i = len(s)
				} else {
					i += 2 + end + 2
				}
			}
			sp = true
		case c == '*' && inExec && i+1 < len(s) && s[i+1] == '/':
			inExec = false
			i += 2
			sp = true
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) {
				if s[j] == '\\' && c != '`' {
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(s) {
				j = len(s) - 1
			}
			kind := tString
			if c == '`' {
				kind = tQuoted
			}
			text := s[i : j+1]
			if len(text) < 2 || text[len(text)-1] != c {
				text = s[i:] + string(c) // unterminated: close it so ident/value stay safe
			}
			toks = append(toks, token{kind: kind, text: text, sp: sp})
			sp = false
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: s[i:j], sp: sp})
			sp = false
			i = j
		default:
			toks = append(toks, token{kind: tPunct, text: s[i : i+1], sp: sp})
			sp = false
			i++
		}
	}
	return toks
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// renderSQL joins tokens back into a statement, one space where there was spacing.
func renderSQL(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if t.sp && i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// readName reads a possibly db-qualified name at toks[i:]: name, `name`, db.name.
func readName(toks []token, i int) (TableName, int, bool) {
	if i >= len(toks) {
		return TableName{}, i, false
	}
	first, ok := toks[i].ident()
	if !ok {
		return TableName{}, i, false
	}
	if i+2 < len(toks) && toks[i+1].punct('.') {
		if second, ok := toks[i+2].ident(); ok {
			return TableName{DB: first, Name: second}, i + 3, true
		}
	}
	return TableName{Name: first}, i + 1, true
}

// skipWords advances over the unquoted words kws, in order, if all are there.
func skipWords(toks []token, i int, kws ...string) (int, bool) {
	for k, kw := range kws {
		if i+k >= len(toks) || !toks[i+k].is(kw) {
			return i, false
		}
	}
	return i + len(kws), true
}
