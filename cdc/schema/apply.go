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
	// Unknown is the table's Table.Unknown after the statement (empty for OpDrop): set
	// when the statement left the table's definition unknown, or it already was.
	Unknown string `json:"unknown,omitempty"`
}

// Applied is what a schema statement did. Tables and Databases are empty when it changed
// nothing (CREATE TABLE IF NOT EXISTS of a table that exists, on MySQL).
type Applied struct {
	// Kind is the statement's kind: CREATE TABLE, ALTER TABLE, DROP TABLE, RENAME TABLE,
	// CREATE INDEX, DROP INDEX, CREATE DATABASE, ALTER DATABASE, DROP DATABASE.
	Kind      string        `json:"kind"`
	Tables    []TableChange `json:"tables,omitempty"`
	Databases []string      `json:"databases,omitempty"`
	// Conflicts says, one sentence each, where the statement contradicted what the
	// catalog believed (its definitions were newer or older than the binlog position,
	// e.g. loaded from information_schema and replayed from an older position): "RENAME
	// TABLE shop.p TO shop.q replaced the known shop.q". The server executed the
	// statement, so the catalog was brought into the state it implies; the daemon logs
	// these. A table the statement left unknown says so in TableChange.Unknown. Tables
	// already unknown record no conflicts: their definition claims nothing.
	Conflicts []string `json:"conflicts,omitempty"`
}

// DDLError is a schema statement the catalog could not follow at all: the parser could
// not read it, or it says something the catalog cannot model (a system-versioned table,
// a type it does not know, an unqualified name without a default database). The catalog
// is then out of step with the server for Tables. A statement that merely contradicts
// the catalog is no error: see Apply.
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
// The binlog is the authority: every statement in it succeeded on the server, so Apply
// brings the catalog into the state the statement implies instead of refusing it when
// it contradicts what the catalog believed (the catalog is loaded from today's
// information_schema at a fresh start, and DDL from an older position is replayed onto
// it). Each contradiction is listed in Applied.Conflicts:
//   - CREATE TABLE of a table the catalog has replaces it. CREATE TABLE IF NOT EXISTS
//     does too on MariaDB, which logs it only when it created the table (MySQL logs it
//     either way: there it keeps the known table). CREATE TABLE ... LIKE a table the
//     catalog does not know, or knows as unknown, creates a table marked unknown.
//   - RENAME TABLE a TO b, and ALTER TABLE a RENAME TO b, replace a known b. When a is
//     not known, b becomes a table marked unknown (RENAME TABLE IF EXISTS of an unknown
//     a changes nothing: MariaDB logs it whether or not a existed).
//   - ALTER TABLE, CREATE INDEX and DROP INDEX of a table the catalog does not know
//     record it as a table marked unknown (MariaDB does not log ALTER TABLE IF EXISTS
//     of a missing table, so that form means the table existed too).
//   - Within ALTER TABLE: ADD COLUMN of a column that exists replaces its definition and
//     moves it to the stated position (default: last); DROP COLUMN of a missing column
//     is ignored; CHANGE or RENAME COLUMN onto a name that exists replaces that column;
//     MODIFY, CHANGE or RENAME COLUMN of a missing column, a position AFTER a missing
//     column and a key over a missing column mark the table unknown (a column the
//     server had is missing here).
//   - Key name clashes are skipped and missing keys not dropped, without a conflict:
//     the rewrite for the parser may have dropped their IF [NOT] EXISTS, and keys do not
//     decide how rows decode. DROP TABLE and DROP DATABASE of names the catalog does not
//     know change nothing (MariaDB logs DROP TABLE a, missing even as it fails).
//
// An unknown table (Table.Unknown set) keeps its mark across ALTER and RENAME, and a
// copy of it (LIKE) is unknown too; a CREATE TABLE with a column list makes it known.
// CREATE TABLE ... SELECT (statement-based binlogs only) creates a table marked
// unknown: the columns the SELECT adds are not in the statement.
//
// A schema statement that cannot be parsed or understood at all returns the receiver
// and a *DDLError, so the caller can decide (it matters only if a table it names is
// later decoded without binlog column names; see MarkUnknown).
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

// record reports a change to table; t is the table after it (nil when dropped).
func (a *applier) record(op ChangeOp, table TableName, newName *TableName, t *Table) {
	tc := TableChange{Op: op, Table: table, NewName: newName}
	if t != nil {
		tc.Unknown = t.Unknown
	}
	a.applied.Tables = append(a.applied.Tables, tc)
}

// conflict records where the statement contradicted the catalog.
func (a *applier) conflict(format string, args ...any) {
	a.applied.Conflicts = append(a.applied.Conflicts, fmt.Sprintf(format, args...))
}

// unknownTable is a table the statement shows exists but whose columns the catalog
// cannot know, marked with reason. Its charset is a guess: its database's default.
func (a *applier) unknownTable(name TableName, reason string) *Table {
	return &Table{DB: name.DB, Name: name.Name, Columns: []Column{}, Charset: a.dbCharset(name.DB), Unknown: reason}
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
	if existing != nil && !a.p.orReplace {
		switch {
		case !st.IfNotExists:
			a.conflict("CREATE TABLE %s replaced the known %s", key, key)
		case a.server.MariaDB:
			// MariaDB logs CREATE TABLE IF NOT EXISTS only when it created the table.
			a.conflict("CREATE TABLE IF NOT EXISTS %s replaced the known %s (MariaDB logs it only when the table did not exist)", key, key)
		default:
			return nil // MySQL logs it whether or not the table existed: keep the known one
		}
	}
	var t *Table
	switch {
	case st.ReferTable != nil:
		srcName, err := a.name(st.ReferTable)
		if err != nil {
			return err
		}
		srcKey, src := a.b.lookup(srcName.DB, srcName.Name)
		switch {
		case src == nil:
			reason := fmt.Sprintf("CREATE TABLE %s LIKE %s: the catalog did not know %s", key, srcName, srcName)
			a.conflict("%s; %s is marked unknown", reason, key)
			t = a.unknownTable(key, reason)
		case src.Unknown != "":
			t = src.clone() // its columns are the best guess there is
			t.Unknown = fmt.Sprintf("created LIKE %s, whose definition is unknown (%s)", srcKey, src.Unknown)
		default:
			t = src.clone()
		}
	case st.Select != nil:
		t = a.unknownTable(key, "created by CREATE TABLE ... SELECT: the columns the SELECT adds are not in the statement (row-based binlogs log the full column list instead)")
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
		t = &Table{DB: key.DB, Name: key.Name, Columns: []Column{}, Charset: tableCS}
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
	t.DB, t.Name = key.DB, key.Name
	setNotNull(t, a.p.notNull)
	a.b.put(key, t)
	a.record(OpCreate, key, nil, t)
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

// missingColumnError is a key over a column the table does not have.
type missingColumnError struct {
	column string
	table  TableName
}

func (e *missingColumnError) Error() string {
	return fmt.Sprintf("key column %s is not a column of %s", e.column, e.table)
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
			return nil, false, &missingColumnError{column: p.Column.Name.O, table: TableName{DB: t.DB, Name: t.Name}}
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

func (a *applier) dropTable(st *ast.DropTableStmt) error {
	if st.IsView || st.TemporaryKeyword != ast.TemporaryNone {
		return nil
	}
	for _, tn := range st.Tables {
		n, err := a.name(tn)
		if err != nil {
			return err
		}
		// A table the catalog does not know is gone either way. No conflict: MariaDB
		// logs DROP TABLE a, missing (dropping a) even as it fails on missing.
		if key, t := a.b.lookup(n.DB, n.Name); t != nil {
			a.b.remove(key)
			a.record(OpDrop, key, nil, nil)
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
		var moved *Table
		if t == nil {
			if a.p.ifExists {
				continue // MariaDB logs RENAME TABLE IF EXISTS whether or not it renamed
			}
			// The server renamed it, so it existed: what it was, the catalog cannot know.
			reason := fmt.Sprintf("RENAME TABLE %s TO %s: the catalog did not know %s", from, to, from)
			a.conflict("%s; %s is marked unknown", reason, to)
			moved = a.unknownTable(to, reason)
		} else {
			moved = t.clone() // an unknown table's mark goes with it
			a.b.remove(key)
		}
		a.replaceKnown(to, key, "RENAME TABLE %s TO %s", key, to)
		moved.DB, moved.Name = to.DB, to.Name
		a.b.put(to, moved)
		a.record(OpRename, key, &to, moved)
	}
	return nil
}

// replaceKnown removes the table called to (unless it is the table being renamed, self)
// before a rename onto it: the server refuses a rename onto an existing table, so the
// catalog's table of that name is out of date. The conflict reads "<what> replaced the
// known <to>".
func (a *applier) replaceKnown(to, self TableName, what string, args ...any) {
	k, other := a.b.lookup(to.DB, to.Name)
	if other == nil || k == self {
		return
	}
	a.conflict("%s replaced the known %s", fmt.Sprintf(what, args...), k)
	a.b.remove(k)
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
		a.record(OpDrop, k, nil, nil)
	}
}
