package source

import (
	"strings"
)

// FixSQL returns the statement that makes the target row match the source row, in the
// target's dialect: an INSERT for a missing row (src set, tgt nil), a DELETE for an extra
// row (tgt set, src nil), an UPDATE of the differing columns otherwise. Values are the
// source's stored values, so it is only meaningful when the pair maps one to one.
func (p *Pair) FixSQL(src, tgt *Row, cols []int) string {
	t := p.Target
	table := t.Table.quoted
	switch {
	case src != nil && tgt == nil:
		var names, vals []string
		for i, c := range p.Columns {
			names = append(names, t.DB.quote(c.tgt.col.Name))
			vals = append(vals, p.literal(i, src.Display[i]))
		}
		return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ");"
	case src == nil && tgt != nil:
		return "DELETE FROM " + table + " WHERE " + p.keyMatch(tgt, false) + ";"
	default:
		var sets []string
		for _, i := range cols {
			sets = append(sets, t.DB.quote(p.Columns[i].tgt.col.Name)+" = "+p.literal(i, src.Display[i]))
		}
		return "UPDATE " + table + " SET " + strings.Join(sets, ", ") + " WHERE " + p.keyMatch(tgt, false) + ";"
	}
}

func (p *Pair) keyMatch(r *Row, fromSource bool) string {
	var ands []string
	for _, i := range p.KeyIdx {
		c := p.Columns[i]
		v := p.targetLiteral(i, r.Display[i])
		if fromSource {
			v = p.literal(i, r.Display[i])
		}
		ands = append(ands, p.Target.DB.quote(c.tgt.col.Name)+" = "+v)
	}
	return strings.Join(ands, " AND ")
}

// literal renders a source value for the target's column.
func (p *Pair) literal(col int, v *string) string {
	return renderLiteral(p.Target.DB.Engine, p.Columns[col].tgt.class, p.Columns[col].src.class, v, p.Source.DB.Engine)
}

// targetLiteral renders a target value for the target's column.
func (p *Pair) targetLiteral(col int, v *string) string {
	return renderLiteral(p.Target.DB.Engine, p.Columns[col].tgt.class, p.Columns[col].tgt.class, v, p.Target.DB.Engine)
}

func renderLiteral(e Engine, to, from Class, v *string, fromEngine Engine) string {
	if v == nil {
		return "NULL"
	}
	s := *v
	switch {
	case to == ClassBinary && from == ClassBinary:
		if e == Postgres {
			return "'\\x" + s + "'::bytea"
		}
		if s == "" {
			return "''"
		}
		return "X'" + s + "'"
	case to == ClassTimestamp && fromEngine != Postgres && e == Postgres:
		s += "+00" // MySQL TIMESTAMP values are read in UTC
	case to == ClassBool && e == Postgres:
		// '1'/'0' and 'true'/'false' are all valid boolean input.
	}
	q := strings.ReplaceAll(s, "'", "''")
	if e != Postgres {
		q = strings.ReplaceAll(q, `\`, `\\`)
	}
	return "'" + q + "'"
}
