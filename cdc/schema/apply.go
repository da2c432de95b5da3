package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // the parser's value expressions
)

// ChangeOp is what a statement did to a table.
type ChangeOp string

const (
	OpCreate ChangeOp = "create"
	OpAlter  ChangeOp = "alter"
	OpDrop   ChangeOp = "drop"
	OpRename ChangeOp = "rename"
)

// TableChange is one table a statement changed.
type TableChange struct {
	Op ChangeOp `json:"op"`
	// Table is the table's name before the statement.
	Table TableName `json:"table"`
	// NewName is set when the statement renamed the table (RENAME TABLE, or ALTER TABLE
	// ... RENAME TO, whose Op is OpAlter).
	NewName *TableName `json:"new_name,omitempty"`
}

// Applied is what a schema statement did. Tables and Databases are empty when it changed
// nothing (CREATE TABLE IF NOT EXISTS of a table that exists).
type Applied struct {
	// Kind is the statement's kind: CREATE TABLE, ALTER TABLE, DROP TABLE, RENAME TABLE,
	// CREATE INDEX, DROP INDEX, CREATE DATABASE, ALTER DATABASE, DROP DATABASE.
	Kind      string        `json:"kind"`
	Tables    []TableChange `json:"tables,omitempty"`
	Databases []string      `json:"databases,omitempty"`
}

// DDLError is a schema statement the catalog could not follow: the parser could not
// read it, or it does not fit the catalog (ALTER of a table it does not know, a column
// that is not there). The catalog is then out of step with the server for Tables.
type DDLError struct {
	DB        string      // the statement's default database
	Statement string      // the statement as the binlog gave it
	Kind      string      // what the statement is (see Applied.Kind)
	Tables    []TableName // the tables it names; empty when it names none or they could not be read
	Err       error       // why
}

func (e *DDLError) Error() string {
	stmt := e.Statement
	if len(stmt) > 300 {
		stmt = stmt[:300] + "..."
	}
	names := make([]string, len(e.Tables))
	for i, t := range e.Tables {
		names[i] = t.String()
	}
	return fmt.Sprintf("schema history cannot follow %s [%s] (default database %q): %v; "+
		"rows of these tables can then only be decoded with the column names the binlog carries (binlog_row_metadata=FULL); statement: %s",
		e.Kind, strings.Join(names, ", "), e.DB, e.Err, stmt)
}

func (e *DDLError) Unwrap() error { return e.Err }

// Apply applies one statement of a binlog QUERY event, run with defaultDB as the current
// database, and returns the catalog after it. The receiver is left unchanged.
//
// Statements that change tables: CREATE [OR REPLACE] TABLE (column list, LIKE), ALTER
// TABLE, RENAME TABLE, DROP TABLE, CREATE/DROP INDEX, CREATE/ALTER/DROP DATABASE|SCHEMA.
// Every other statement is not schema-changing and returns (receiver, nil, nil): BEGIN,
// COMMIT, XA, SAVEPOINT, DML, TRUNCATE, GRANT, CREATE USER, FLUSH, ANALYZE, OPTIMIZE,
// views, triggers, procedures, functions, events, sequences, and temporary tables
// (whose changes row-based replication never logs).
//
// A schema statement that cannot be parsed or applied returns the receiver and a
// *DDLError, so the caller can decide (it matters only if a table it names is later
// decoded without binlog column names; see MarkUnknown).
func (c *Catalog) Apply(defaultDB, stmt string) (*Catalog, *Applied, error) {
	p := prepare(stmt)
	if p.kind == kindOther {
		return c, nil, nil
	}
	fail := func(err error) (*Catalog, *Applied, error) {
		names := make([]TableName, len(p.names))
		for i, n := range p.names {
			if n.DB == "" {
				n.DB = defaultDB
			}
			names[i] = n
		}
		return c, nil, &DDLError{DB: defaultDB, Statement: stmt, Kind: p.kind.String(), Tables: names, Err: err}
	}
	if p.versioned {
		return fail(errors.New("system-versioned tables are not followed (their hidden row_start/row_end columns are not modelled)"))
	}
	nodes, err := parseStatement(p)
	if err != nil {
		return fail(err)
	}
	a := &applier{b: newBuilder(c), server: c.server, defaultDB: defaultDB, p: p, applied: &Applied{Kind: p.kind.String()}}
	for _, n := range nodes {
		if err := a.apply(n); err != nil {
			return fail(err)
		}
	}
	return a.b.catalog(), a.applied, nil
}

// parseStatement parses a prepared statement with the TiDB parser: first with the
// rewrites that only touch what the parser refuses, then, if it still fails, with the
// riskier ones too, and last, for CREATE TABLE, without the table options that do not
// decide columns.
func parseStatement(p prepared) ([]ast.StmtNode, error) {
	ps := parser.New()
	nodes, _, err := ps.Parse(renderSQL(rewriteForTiDB(p.toks, false)), "", "")
	if err == nil {
		return nodes, nil
	}
	if nodes, _, err2 := ps.Parse(renderSQL(rewriteForTiDB(p.toks, true)), "", ""); err2 == nil {
		return nodes, nil
	}
	if p.kind == kindCreateTable {
		if core := createTableCore(p.toks); core != nil {
			if nodes, _, err3 := ps.Parse(renderSQL(rewriteForTiDB(core, true)), "", ""); err3 == nil {
				return nodes, nil
			}
		}
	}
	return nil, fmt.Errorf("parse: %w", err)
}

// applier applies the parsed nodes of one statement.
type applier struct {
	b         *builder
	server    Server
	defaultDB string
	p         prepared
	applied   *Applied
}

func (a *applier) apply(node ast.StmtNode) error {
	switch st := node.(type) {
	case *ast.CreateTableStmt:
		return a.createTable(st)
	case *ast.AlterTableStmt:
		return a.alterTable(st)
	case *ast.DropTableStmt:
		return a.dropTable(st)
	case *ast.RenameTableStmt:
		return a.renameTable(st)
	case *ast.CreateIndexStmt:
		return a.createIndex(st)
	case *ast.DropIndexStmt:
		return a.dropIndex(st)
	case *ast.CreateDatabaseStmt:
		return a.createDatabase(st)
	case *ast.AlterDatabaseStmt:
		return a.alterDatabase(st)
	case *ast.DropDatabaseStmt:
		return a.dropDatabase(st)
	}
	return nil
}

func (a *applier) record(op ChangeOp, table TableName, newName *TableName) {
	a.applied.Tables = append(a.applied.Tables, TableChange{Op: op, Table: table, NewName: newName})
}

// name resolves a table name of the statement against the default database.
func (a *applier) name(tn *ast.TableName) (TableName, error) {
	db := tn.Schema.O
	if db == "" {
		db = a.defaultDB
	}
	if db == "" {
		return TableName{}, fmt.Errorf("table %s is not qualified and the statement has no default database", tn.Name.O)
	}
	return TableName{DB: db, Name: tn.Name.O}, nil
}

// dbCharset is the default charset of a database: the server's when unknown.
func (a *applier) dbCharset(db string) string {
	if cs, ok := a.b.database(db); ok && cs != "" {
		return cs
	}
	return normCharset(a.server.Charset)
}

// charsetOf resolves CHARACTER SET / COLLATE options: the collation's charset, else the
// charset (DEFAULT meaning dflt), else "".
func charsetOf(cs, coll string, csDefault bool, dflt string) string {
	if coll != "" {
		if x, ok := charsetOfCollation(coll); ok {
			return x
		}
	}
	if cs != "" {
		return normCharset(cs)
	}
	if csDefault {
		return dflt
	}
	return ""
}

func (a *applier) createTable(st *ast.CreateTableStmt) error {
	if st.TemporaryKeyword != ast.TemporaryNone {
		return nil
	}
	want, err := a.name(st.Table)
	if err != nil {
		return err
	}
	// The exact name: servers that fold names to lower case store it folded, and where
	// case matters `T` and `t` are two tables.
	key, existing := want, a.b.exact(want)
	if existing != nil && st.IfNotExists && !a.p.orReplace {
		return nil // the server did nothing
	}
	var t *Table
	switch {
	case st.ReferTable != nil:
		srcName, err := a.name(st.ReferTable)
		if err != nil {
			return err
		}
		_, src := a.b.lookup(srcName.DB, srcName.Name)
		if src == nil {
			return fmt.Errorf("CREATE TABLE %s LIKE %s: the catalog does not know %s", want, srcName, srcName)
		}
		t = src.clone()
	case st.Select != nil:
		return errors.New("CREATE TABLE ... SELECT: the columns the SELECT adds are unknown (row-based binlogs log the full column list instead)")
	default:
		var cs, coll string
		var csDefault bool
		for _, o := range st.Options {
			switch o.Tp {
			case ast.TableOptionCharset:
				cs, csDefault = o.StrValue, o.Default
			case ast.TableOptionCollate:
				coll = o.StrValue
			}
		}
		tableCS := charsetOf(cs, coll, csDefault, a.dbCharset(key.DB))
		if tableCS == "" {
			tableCS = a.dbCharset(key.DB)
		}
		t = &Table{Columns: []Column{}, Charset: tableCS}
		var inline []columnDef
		for _, d := range st.Cols {
			cd, err := buildColumn(d, tableCS, a.server)
			if err != nil {
				return err
			}
			if t.ColumnIndex(cd.col.Name) >= 0 {
				return fmt.Errorf("column %s is defined twice", cd.col.Name)
			}
			t.Columns = append(t.Columns, cd.col)
			inline = append(inline, cd)
		}
		for _, cd := range inline {
			if err := addInlineKeys(t, cd); err != nil {
				return err
			}
		}
		// Foreign keys last: they create an index only when no other key serves them.
		cons := slices.Clone(st.Constraints)
		slices.SortStableFunc(cons, func(x, y *ast.Constraint) int {
			return boolInt(x.Tp == ast.ConstraintForeignKey) - boolInt(y.Tp == ast.ConstraintForeignKey)
		})
		for _, con := range cons {
			if err := addConstraint(t, con); err != nil {
				return err
			}
		}
	}
	t.DB, t.Name = key.DB, key.Name // a copy (LIKE) of a table marked unknown stays marked
	setNotNull(t, a.p.notNull)
	a.b.put(key, t)
	a.record(OpCreate, key, nil)
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addInlineKeys adds the keys a column definition declares (PRIMARY KEY, UNIQUE).
func addInlineKeys(t *Table, cd columnDef) error {
	cols := []string{cd.col.Name}
	if cd.primary {
		t.dropCoveredGenerated(cols)
		setPrimaryKey(t, cols)
	}
	if cd.unique {
		t.dropCoveredGenerated(cols)
		t.addUniqueKey(t.generateIndexName(cd.col.Name), cols)
	}
	return nil
}

func setPrimaryKey(t *Table, cols []string) {
	t.PrimaryKey = cols
	setNotNull(t, cols)
}

// setNotNull makes the named columns NOT NULL.
func setNotNull(t *Table, cols []string) {
	for _, c := range cols {
		if i := t.ColumnIndex(c); i >= 0 {
			t.Columns[i].Nullable = false
		}
	}
}

// keyParts resolves the parts of a key to the table's column names; an expression part
// is "" and sets expr.
func keyParts(t *Table, parts []*ast.IndexPartSpecification) (cols []string, expr bool, err error) {
	for _, p := range parts {
		if p.Column == nil {
			cols = append(cols, "")
			expr = true
			continue
		}
		i := t.ColumnIndex(p.Column.Name.O)
		if i < 0 {
			return nil, false, fmt.Errorf("key column %s is not a column of %s.%s", p.Column.Name.O, t.DB, t.Name)
		}
		cols = append(cols, t.Columns[i].Name)
	}
	return cols, expr, nil
}

// addKey adds a named (or, with name empty, server-named) key. A key whose name is
// taken is skipped: ADD ... IF NOT EXISTS forms (the rewrite may have dropped the
// IF NOT EXISTS), and names are not what decoding depends on.
func addKey(t *Table, name string, parts []*ast.IndexPartSpecification, unique bool) error {
	return addKeyGenerated(t, name, parts, unique, false)
}

func addKeyGenerated(t *Table, name string, parts []*ast.IndexPartSpecification, unique, generated bool) error {
	cols, expr, err := keyParts(t, parts)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return nil
	}
	t.dropCoveredGenerated(cols)
	if name == "" {
		first := cols[0]
		if first == "" {
			first = "functional_index"
		}
		name = t.generateIndexName(first)
	} else if t.indexNameTaken(name) {
		return nil
	}
	switch {
	case unique && !expr:
		t.addUniqueKey(name, cols)
	case generated:
		t.Indexes = append(t.Indexes, Index{Name: name, Columns: cols, Generated: true})
		t.sortKeys()
	default:
		t.addIndex(name, cols)
	}
	return nil
}

func addConstraint(t *Table, con *ast.Constraint) error {
	switch con.Tp {
	case ast.ConstraintPrimaryKey:
		cols, expr, err := keyParts(t, con.Keys)
		if err != nil {
			return err
		}
		if expr {
			return errors.New("PRIMARY KEY on an expression")
		}
		t.dropCoveredGenerated(cols)
		setPrimaryKey(t, cols)
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		return addKey(t, con.Name, con.Keys, true)
	case ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintFulltext, ast.ConstraintVector, ast.ConstraintColumnar:
		return addKey(t, con.Name, con.Keys, false)
	case ast.ConstraintForeignKey:
		cols, _, err := keyParts(t, con.Keys)
		if err != nil {
			return err
		}
		if !t.hasIndexPrefixedBy(cols) {
			return addKeyGenerated(t, con.Name, con.Keys, false, true)
		}
	}
	return nil
}

func (a *applier) alterTable(st *ast.AlterTableStmt) error {
	want, err := a.name(st.Table)
	if err != nil {
		return err
	}
	key, t := a.b.lookup(want.DB, want.Name)
	if t == nil {
		if a.p.ifExists {
			return nil
		}
		return fmt.Errorf("ALTER TABLE of %s, a table the catalog does not know", want)
	}
	w := t.clone()
	newKey := key
	for _, spec := range st.Specs {
		if err := a.alterSpec(w, spec, &newKey); err != nil {
			return err
		}
	}
	var renamed *TableName
	if newKey != key {
		if k, other := a.b.lookup(newKey.DB, newKey.Name); other != nil && k != key {
			return fmt.Errorf("ALTER TABLE %s RENAME TO %s: %s exists", key, newKey, newKey)
		}
		a.b.remove(key)
		renamed = &newKey
	}
	w.DB, w.Name = newKey.DB, newKey.Name
	setNotNull(w, a.p.notNull)
	w.tidyKeys()
	a.b.put(newKey, w)
	a.record(OpAlter, key, renamed)
	return nil
}

func (a *applier) alterSpec(w *Table, spec *ast.AlterTableSpec, newKey *TableName) error {
	switch spec.Tp {
	case ast.AlterTableOption:
		a.tableOptions(w, spec.Options)
	case ast.AlterTableAddColumns:
		for _, d := range spec.NewColumns {
			if w.ColumnIndex(d.Name.Name.O) >= 0 {
				if spec.IfNotExists {
					continue
				}
				return fmt.Errorf("ADD COLUMN %s: the column exists", d.Name.Name.O)
			}
			cd, err := buildColumn(d, w.Charset, a.server)
			if err != nil {
				return err
			}
			w.Columns = append(w.Columns, cd.col)
			if len(spec.NewColumns) == 1 {
				if err := moveColumn(w, len(w.Columns)-1, spec.Position); err != nil {
					return err
				}
			}
			if err := addInlineKeys(w, cd); err != nil {
				return err
			}
		}
		for _, con := range spec.NewConstraints {
			if err := addConstraint(w, con); err != nil {
				return err
			}
		}
	case ast.AlterTableAddConstraint:
		return addConstraint(w, spec.Constraint)
	case ast.AlterTableDropColumn:
		name := spec.OldColumnName.Name.O
		i := w.ColumnIndex(name)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("DROP COLUMN %s: no such column", name)
		}
		w.Columns = slices.Delete(w.Columns, i, i+1)
		w.dropColumnFromKeys(name)
	case ast.AlterTableDropPrimaryKey:
		w.PrimaryKey = nil
	case ast.AlterTableDropIndex:
		w.dropIndex(spec.Name) // an index the catalog does not know is no key it uses
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		d := spec.NewColumns[0]
		old := d.Name.Name.O
		if spec.Tp == ast.AlterTableChangeColumn {
			old = spec.OldColumnName.Name.O
		}
		i := w.ColumnIndex(old)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("%s %s: no such column", alterVerb(spec.Tp), old)
		}
		newName := d.Name.Name.O
		if j := w.ColumnIndex(newName); j >= 0 && j != i {
			return fmt.Errorf("CHANGE %s %s: column %s exists", old, newName, newName)
		}
		cd, err := buildColumn(d, w.Charset, a.server)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(w.PrimaryKey, func(c string) bool { return strings.EqualFold(c, old) }) {
			cd.col.Nullable = false // a primary key column stays NOT NULL
		}
		w.Columns[i] = cd.col
		w.renameColumnInKeys(old, newName)
		if err := moveColumn(w, i, spec.Position); err != nil {
			return err
		}
		if err := addInlineKeys(w, cd); err != nil {
			return err
		}
	case ast.AlterTableRenameColumn:
		old, newName := spec.OldColumnName.Name.O, spec.NewColumnName.Name.O
		i := w.ColumnIndex(old)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("RENAME COLUMN %s: no such column", old)
		}
		if j := w.ColumnIndex(newName); j >= 0 && j != i {
			return fmt.Errorf("RENAME COLUMN %s TO %s: column %s exists", old, newName, newName)
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

func alterVerb(tp ast.AlterTableType) string {
	if tp == ast.AlterTableChangeColumn {
		return "CHANGE"
	}
	return "MODIFY"
}

// moveColumn moves column i to pos (FIRST, AFTER x); no position leaves it in place.
func moveColumn(w *Table, i int, pos *ast.ColumnPosition) error {
	if pos == nil || pos.Tp == ast.ColumnPositionNone {
		return nil
	}
	col := w.Columns[i]
	rest := slices.Delete(slices.Clone(w.Columns), i, i+1)
	at := 0
	if pos.Tp == ast.ColumnPositionAfter {
		after := pos.RelativeColumn.Name.O
		j := slices.IndexFunc(rest, func(c Column) bool { return strings.EqualFold(c.Name, after) })
		if j < 0 {
			return fmt.Errorf("AFTER %s: no such column", after)
		}
		at = j + 1
	}
	w.Columns = slices.Insert(rest, at, col)
	return nil
}

// tableOptions applies the table options of an ALTER TABLE: DEFAULT CHARSET / COLLATE
// change the table's default, CONVERT TO CHARACTER SET converts its columns too.
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

func (a *applier) dropTable(st *ast.DropTableStmt) error {
	if st.IsView || st.TemporaryKeyword != ast.TemporaryNone {
		return nil
	}
	for _, tn := range st.Tables {
		n, err := a.name(tn)
		if err != nil {
			return err
		}
		// A table the catalog does not know is gone either way.
		if key, t := a.b.lookup(n.DB, n.Name); t != nil {
			a.b.remove(key)
			a.record(OpDrop, key, nil)
		}
	}
	return nil
}

func (a *applier) renameTable(st *ast.RenameTableStmt) error {
	for _, tt := range st.TableToTables {
		from, err := a.name(tt.OldTable)
		if err != nil {
			return err
		}
		to, err := a.name(tt.NewTable)
		if err != nil {
			return err
		}
		key, t := a.b.lookup(from.DB, from.Name)
		if t == nil {
			if a.p.ifExists {
				continue
			}
			return fmt.Errorf("RENAME TABLE %s: the catalog does not know the table", from)
		}
		if k, other := a.b.lookup(to.DB, to.Name); other != nil && k != key {
			return fmt.Errorf("RENAME TABLE %s TO %s: %s exists", from, to, to)
		}
		moved := t.clone()
		moved.DB, moved.Name = to.DB, to.Name
		a.b.remove(key)
		a.b.put(to, moved)
		a.record(OpRename, key, &to)
	}
	return nil
}

func (a *applier) createIndex(st *ast.CreateIndexStmt) error {
	n, err := a.name(st.Table)
	if err != nil {
		return err
	}
	key, t := a.b.lookup(n.DB, n.Name)
	if t == nil {
		return fmt.Errorf("CREATE INDEX on %s, a table the catalog does not know", n)
	}
	w := t.clone()
	if err := addKey(w, st.IndexName, st.IndexPartSpecifications, st.KeyType == ast.IndexKeyTypeUnique); err != nil {
		return err
	}
	a.b.put(key, w)
	a.record(OpAlter, key, nil)
	return nil
}

func (a *applier) dropIndex(st *ast.DropIndexStmt) error {
	n, err := a.name(st.Table)
	if err != nil {
		return err
	}
	key, t := a.b.lookup(n.DB, n.Name)
	if t == nil {
		if st.IfExists {
			return nil
		}
		return fmt.Errorf("DROP INDEX on %s, a table the catalog does not know", n)
	}
	w := t.clone()
	w.dropIndex(st.IndexName)
	a.b.put(key, w)
	a.record(OpAlter, key, nil)
	return nil
}

// databaseCharset resolves the charset options of CREATE/ALTER DATABASE ("" if none).
func (a *applier) databaseCharset(opts []*ast.DatabaseOption) string {
	var cs, coll string
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			cs = o.Value
		case ast.DatabaseOptionCollate:
			coll = o.Value
		}
	}
	return charsetOf(cs, coll, false, "")
}

func (a *applier) createDatabase(st *ast.CreateDatabaseStmt) error {
	name := st.Name.O
	if _, ok := a.b.database(name); ok && st.IfNotExists && !a.p.orReplace {
		return nil
	}
	if a.p.orReplace {
		a.dropTablesOf(name)
	}
	cs := a.databaseCharset(st.Options)
	if cs == "" {
		cs = normCharset(a.server.Charset)
	}
	a.b.setDatabase(name, cs)
	a.applied.Databases = append(a.applied.Databases, name)
	return nil
}

func (a *applier) alterDatabase(st *ast.AlterDatabaseStmt) error {
	name := st.Name.O
	if st.AlterDefaultDatabase || name == "" {
		name = a.defaultDB
	}
	if name == "" {
		return errors.New("ALTER DATABASE without a name and without a default database")
	}
	if cs := a.databaseCharset(st.Options); cs != "" {
		if _, ok := a.b.database(name); !ok {
			for k := range a.b.databases {
				if strings.EqualFold(k, name) {
					name = k
				}
			}
		}
		a.b.setDatabase(name, cs)
	}
	a.applied.Databases = append(a.applied.Databases, name)
	return nil
}

func (a *applier) dropDatabase(st *ast.DropDatabaseStmt) error {
	name := st.Name.O
	a.dropTablesOf(name)
	a.b.removeDatabase(name)
	a.applied.Databases = append(a.applied.Databases, name)
	return nil
}

// dropTablesOf drops every table of database db.
func (a *applier) dropTablesOf(db string) {
	var keys []TableName
	for k := range a.b.tables {
		if k.DB == db {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y TableName) int { return strings.Compare(x.Name, y.Name) })
	for _, k := range keys {
		a.b.remove(k)
		a.record(OpDrop, k, nil)
	}
}
