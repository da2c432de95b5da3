package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// ALTER TABLE, CREATE INDEX and DROP INDEX: statements that change one table in place.
// The binlog is the authority (see Apply): where a statement contradicts the table, the
// table is brought into the state the statement implies, and the contradiction is
// recorded as a conflict, or, when the server's table had a column the catalog's lacks,
// the table is marked unknown.

// alteration is one table being changed by a statement.
type alteration struct {
	a    *applier
	name TableName // the table's name before the statement
	w    *Table    // the working copy
	stmt string    // the statement and table, for messages: "ALTER TABLE d.t"
}

// alter starts changing table t, called key, for stmt. A table the catalog does not know
// (t nil) existed on the server all the same: it is recorded as unknown.
func (a *applier) alter(key TableName, t *Table, stmt string) *alteration {
	x := &alteration{a: a, name: key, stmt: stmt}
	if t != nil {
		x.w = t.clone()
		return x
	}
	reason := stmt + ": altered without a known definition (the catalog did not know the table)"
	a.conflict("%s; %s is marked unknown", reason, key)
	x.w = a.unknownTable(key, reason)
	return x
}

// conflict records where the statement contradicts the table, unless the table is
// unknown: its definition claims nothing.
func (x *alteration) conflict(format string, args ...any) {
	if x.w.Unknown == "" {
		x.a.conflict("%s %s", x.stmt, fmt.Sprintf(format, args...))
	}
}

// lose marks the table unknown: the statement shows that the server's table had a
// column the catalog's does not, so its columns can no longer be trusted.
func (x *alteration) lose(format string, args ...any) {
	if x.w.Unknown != "" {
		return
	}
	reason := x.stmt + " " + fmt.Sprintf(format, args...)
	x.a.conflict("%s; %s is marked unknown", reason, x.name)
	x.w.Unknown = reason
}

// key takes the result of adding a key: one over a column the table does not have marks
// the table unknown (the server had the column).
func (x *alteration) key(err error) error {
	var mc *missingColumnError
	if errors.As(err, &mc) {
		x.lose("adds a key over column %s: the catalog did not know the column", mc.column)
		return nil
	}
	return err
}

// move moves column i to pos (FIRST, AFTER c); no position leaves it in place. AFTER a
// column the table does not have puts it last and marks the table unknown.
func (x *alteration) move(i int, pos *ast.ColumnPosition) {
	if !moveColumn(x.w, i, pos) {
		x.lose("places column %s AFTER %s: the catalog did not know column %s",
			x.w.Columns[len(x.w.Columns)-1].Name, pos.RelativeColumn.Name.O, pos.RelativeColumn.Name.O)
	}
}

// replaceColumn drops column j, which the statement shows the server did not have
// (the statement gives a column its name); *i is kept pointing at the same column.
func (x *alteration) replaceColumn(j int, i *int) {
	name := x.w.Columns[j].Name
	x.w.Columns = slices.Delete(x.w.Columns, j, j+1)
	x.w.dropColumnFromKeys(name)
	if j < *i {
		*i--
	}
}

func (x *alteration) inPrimaryKey(col string) bool {
	return slices.ContainsFunc(x.w.PrimaryKey, func(c string) bool { return strings.EqualFold(c, col) })
}

func (a *applier) alterTable(st *ast.AlterTableStmt) error {
	want, err := a.name(st.Table)
	if err != nil {
		return err
	}
	// An unknown table existed all the same: MariaDB does not log ALTER TABLE IF EXISTS
	// of a missing table (MySQL has no such form).
	key, t := a.b.lookup(want.DB, want.Name)
	x := a.alter(key, t, "ALTER TABLE "+key.String())
	newKey := key
	for _, spec := range st.Specs {
		if err := x.spec(spec, &newKey); err != nil {
			return err
		}
	}
	w := x.w
	var renamed *TableName
	if newKey != key {
		a.b.remove(key)
		a.replaceKnown(newKey, key, "ALTER TABLE %s RENAME TO %s", key, newKey)
		renamed = &newKey
	}
	w.DB, w.Name = newKey.DB, newKey.Name
	setNotNull(w, a.p.notNull)
	w.tidyKeys()
	a.b.put(newKey, w)
	a.record(OpAlter, key, renamed, w)
	return nil
}

func (x *alteration) spec(spec *ast.AlterTableSpec, newKey *TableName) error {
	a, w := x.a, x.w
	switch spec.Tp {
	case ast.AlterTableOption:
		a.tableOptions(w, spec.Options)
	case ast.AlterTableAddColumns:
		for _, d := range spec.NewColumns {
			name := d.Name.Name.O
			if i := w.ColumnIndex(name); i >= 0 {
				if spec.IfNotExists {
					continue
				}
				// The server had no such column: the statement's definition is the one.
				x.conflict("ADD COLUMN %s: the catalog already had column %s; its definition was replaced", name, w.Columns[i].Name)
				w.Columns = slices.Delete(w.Columns, i, i+1)
			}
			cd, err := buildColumn(d, w.Charset, a.server)
			if err != nil {
				return err
			}
			if x.inPrimaryKey(name) {
				cd.col.Nullable = false // a primary key column stays NOT NULL
			}
			w.Columns = append(w.Columns, cd.col)
			if len(spec.NewColumns) == 1 {
				x.move(len(w.Columns)-1, spec.Position)
			}
			if err := x.key(addInlineKeys(w, cd)); err != nil {
				return err
			}
		}
		for _, con := range spec.NewConstraints {
			if err := x.key(addConstraint(w, con)); err != nil {
				return err
			}
		}
	case ast.AlterTableAddConstraint:
		return x.key(addConstraint(w, spec.Constraint))
	case ast.AlterTableDropColumn:
		name := spec.OldColumnName.Name.O
		i := w.ColumnIndex(name)
		if i < 0 {
			if !spec.IfExists {
				x.conflict("DROP COLUMN %s: the catalog did not know the column (ignored)", name)
			}
			return nil
		}
		w.Columns = slices.Delete(w.Columns, i, i+1)
		w.dropColumnFromKeys(name)
	case ast.AlterTableDropPrimaryKey:
		w.PrimaryKey = nil
	case ast.AlterTableDropIndex:
		w.dropIndex(spec.Name) // an index the catalog does not know is no key it uses
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		d := spec.NewColumns[0]
		old, newName := d.Name.Name.O, d.Name.Name.O
		what := "MODIFY " + old
		if spec.Tp == ast.AlterTableChangeColumn {
			old = spec.OldColumnName.Name.O
			what = "CHANGE " + old + " " + newName
		}
		i := w.ColumnIndex(old)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			// What the column was, and where, is lost; the statement gives its new
			// definition in full, which is kept as the best guess.
			x.lose("%s: the catalog did not know column %s", what, old)
			if i = w.ColumnIndex(newName); i < 0 {
				w.Columns = append(w.Columns, Column{Name: newName})
				i = len(w.Columns) - 1
			}
		}
		if j := w.ColumnIndex(newName); j >= 0 && j != i {
			x.conflict("%s replaced the known column %s", what, w.Columns[j].Name)
			x.replaceColumn(j, &i)
		}
		cd, err := buildColumn(d, w.Charset, a.server)
		if err != nil {
			return err
		}
		if x.inPrimaryKey(old) {
			cd.col.Nullable = false // a primary key column stays NOT NULL
		}
		w.Columns[i] = cd.col
		w.renameColumnInKeys(old, newName)
		x.move(i, spec.Position)
		if err := x.key(addInlineKeys(w, cd)); err != nil {
			return err
		}
	case ast.AlterTableRenameColumn:
		old, newName := spec.OldColumnName.Name.O, spec.NewColumnName.Name.O
		i := w.ColumnIndex(old)
		if i < 0 {
			if !spec.IfExists {
				x.lose("RENAME COLUMN %s TO %s: the catalog did not know column %s", old, newName, old)
			}
			return nil
		}
		if j := w.ColumnIndex(newName); j >= 0 && j != i {
			x.conflict("RENAME COLUMN %s TO %s replaced the known column %s", old, newName, w.Columns[j].Name)
			x.replaceColumn(j, &i)
		}
		w.Columns[i].Name = newName
		w.renameColumnInKeys(old, newName)
	case ast.AlterTableRenameTable:
		n, err := a.name(spec.NewTable)
		if err != nil {
			return err
		}
		*newKey = n
	case ast.AlterTableRenameIndex:
		w.renameIndex(spec.FromKey.O, spec.ToKey.O)
	case ast.AlterTableDropCheck:
		// DROP CONSTRAINT name also drops a UNIQUE key of that name (MariaDB, MySQL
		// 8.0.19+); a check or a foreign key leaves columns and keys alone.
		if spec.Constraint != nil {
			for _, n := range w.UniqueKeyNames {
				if strings.EqualFold(n, spec.Constraint.Name) {
					w.dropIndex(n)
					break
				}
			}
		}
	}
	// Everything else (defaults, checks, foreign keys, engine, partitions, algorithm,
	// lock, ORDER BY, ...) leaves columns and keys as they are.
	return nil
}

// moveColumn moves column i to pos (FIRST, AFTER c); no position leaves it in place.
// AFTER a column the table does not have moves it last and returns false.
func moveColumn(w *Table, i int, pos *ast.ColumnPosition) bool {
	if pos == nil || pos.Tp == ast.ColumnPositionNone {
		return true
	}
	col := w.Columns[i]
	rest := slices.Delete(slices.Clone(w.Columns), i, i+1)
	at, ok := 0, true
	if pos.Tp == ast.ColumnPositionAfter {
		after := pos.RelativeColumn.Name.O
		j := slices.IndexFunc(rest, func(c Column) bool { return strings.EqualFold(c.Name, after) })
		if j < 0 {
			j, ok = len(rest)-1, false
		}
		at = j + 1
	}
	w.Columns = slices.Insert(rest, at, col)
	return ok
}

func (a *applier) tableOptions(w *Table, opts []*ast.TableOption) {
	var cs, coll string
	var csDefault, convert bool
	for _, o := range opts {
		switch o.Tp {
		case ast.TableOptionCharset:
			cs, csDefault = o.StrValue, o.Default
			convert = convert || o.UintValue == ast.TableOptionCharsetWithConvertTo
		case ast.TableOptionCollate:
			coll = o.StrValue
		}
	}
	target := charsetOf(cs, coll, csDefault, a.dbCharset(w.DB))
	if target == "" {
		return
	}
	if convert {
		convertColumns(w, target)
	}
	w.Charset = target
}

// convertColumns converts every character column to charset cs as CONVERT TO CHARACTER
// SET does: a TEXT type grows to the smallest that holds as many characters as before
// (latin1 TEXT becomes utf8mb4 MEDIUMTEXT), a VARCHAR too long for 65535 bytes becomes a
// TEXT type, and cs binary makes them binary types.
func convertColumns(w *Table, cs string) {
	newMax := int64(charsetMaxLen(cs))
	for i := range w.Columns {
		c := &w.Columns[i]
		if !isCharacterType(c.Type) || c.Charset == "binary" {
			continue
		}
		oldMax := int64(charsetMaxLen(c.Charset))
		if size := textSize(c.Type); size >= 0 {
			chars := textMaxBytes[size] / oldMax
			c.Type = textTypes[max(size, sizeForBytes(chars*newMax))]
		} else if c.Type == "varchar" && int64(c.Precision)*newMax > 65535 {
			c.Type, c.Precision = textTypes[sizeForBytes(int64(c.Precision)*newMax)], 0
		}
		c.Charset = cs
		if cs == "binary" {
			switch c.Type {
			case "char":
				c.Type = "binary"
			case "varchar":
				c.Type = "varbinary"
			default:
				if size := textSize(c.Type); size >= 0 {
					c.Type = blobTypes[size]
				}
			}
		}
	}
}

func (a *applier) createIndex(st *ast.CreateIndexStmt) error {
	n, err := a.name(st.Table)
	if err != nil {
		return err
	}
	key, t := a.b.lookup(n.DB, n.Name)
	x := a.alter(key, t, fmt.Sprintf("CREATE INDEX %s ON %s", st.IndexName, key))
	if err := x.key(addKey(x.w, st.IndexName, st.IndexPartSpecifications, st.KeyType == ast.IndexKeyTypeUnique)); err != nil {
		return err
	}
	a.b.put(key, x.w)
	a.record(OpAlter, key, nil, x.w)
	return nil
}

func (a *applier) dropIndex(st *ast.DropIndexStmt) error {
	n, err := a.name(st.Table)
	if err != nil {
		return err
	}
	// DROP INDEX IF EXISTS of a missing table fails: it is not logged either.
	key, t := a.b.lookup(n.DB, n.Name)
	x := a.alter(key, t, fmt.Sprintf("DROP INDEX %s ON %s", st.IndexName, key))
	x.w.dropIndex(st.IndexName)
	a.b.put(key, x.w)
	a.record(OpAlter, key, nil, x.w)
	return nil
}
