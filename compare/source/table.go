package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Class is the family of a column type, the same for both engines.
type Class int

const (
	ClassOther Class = iota
	ClassInt
	ClassUInt
	ClassBool
	ClassBit
	ClassYear
	ClassDecimal
	ClassFloat  // single precision
	ClassDouble // double precision
	ClassText
	ClassEnum
	ClassSet
	ClassUUID
	ClassBinary
	ClassDate
	ClassDateTime  // naive
	ClassTimestamp // a point in time (MySQL TIMESTAMP, PostgreSQL timestamptz)
	ClassTime
	ClassJSON
)

var classNames = map[Class]string{
	ClassOther: "other", ClassInt: "integer", ClassUInt: "unsigned integer", ClassBool: "boolean", ClassBit: "bit",
	ClassYear: "year", ClassDecimal: "decimal", ClassFloat: "float", ClassDouble: "double", ClassText: "text",
	ClassEnum: "enum", ClassSet: "set", ClassUUID: "uuid", ClassBinary: "binary", ClassDate: "date",
	ClassDateTime: "datetime", ClassTimestamp: "timestamp", ClassTime: "time", ClassJSON: "json",
}

func (c Class) String() string { return classNames[c] }

// Column is a column as its database describes it.
type Column struct {
	Name      string
	Type      string // the declared type, e.g. decimal(12,2) or timestamp with time zone
	Class     Class
	Nullable  bool
	Scale     int // decimals: digits after the point; -1 when unconstrained
	FSP       int // date-times and times: fractional second digits
	Charset   string
	Collation string
	Generated bool
}

// Table is a table as its database describes it, with the key chosen for comparison.
type Table struct {
	Name    string // as given
	Schema  string
	Table   string
	Columns []Column
	Key     []string // primary key, else the first unique key of NOT NULL columns
	quoted  string
}

// Column returns the named column (case-insensitive), or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

// ErrNoTable is returned when a table does not exist.
var ErrNoTable = errors.New("no such table")

// Describe reads a table's columns and keys.
func (d *DB) Describe(ctx context.Context, name string) (*Table, error) {
	schema, table := d.splitName(name)
	t := &Table{Name: name, Schema: schema, Table: table, quoted: d.quote(name)}
	var err error
	if d.Engine == Postgres {
		err = d.describePG(ctx, t)
	} else {
		err = d.describeMySQL(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("table %s on %s: %w (check the name and the database in the address)", name, d.Addr, ErrNoTable)
	}
	return t, nil
}

func (d *DB) describeMySQL(ctx context.Context, t *Table) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_SCALE,
		DATETIME_PRECISION, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, t.Schema, t.Table)
	if err != nil {
		return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		var dataType, colType, nullable, extra string
		var scale, fsp sql.NullInt64
		var cs, coll sql.NullString
		if err := rows.Scan(&c.Name, &dataType, &colType, &nullable, &scale, &fsp, &cs, &coll, &extra); err != nil {
			return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
		}
		c.Type = strings.ToLower(colType)
		c.Nullable = nullable == "YES"
		c.Scale = int(scale.Int64)
		c.FSP = int(fsp.Int64)
		c.Charset, c.Collation = strings.ToLower(cs.String), strings.ToLower(coll.String)
		c.Generated = strings.Contains(strings.ToUpper(extra), "GENERATED")
		unsigned := strings.Contains(c.Type, "unsigned")
		switch strings.ToLower(dataType) {
		case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
			c.Class = ClassInt
			if unsigned {
				c.Class = ClassUInt
			}
		case "decimal", "numeric":
			c.Class = ClassDecimal
		case "float":
			c.Class = ClassFloat
		case "double", "real":
			c.Class = ClassDouble
		case "bit":
			c.Class = ClassBit
		case "year":
			c.Class = ClassYear
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
			c.Class = ClassText
			if c.Charset == "binary" {
				c.Class = ClassBinary
			}
		case "enum":
			c.Class = ClassEnum
		case "set":
			c.Class = ClassSet
		case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
			c.Class = ClassBinary
		case "date":
			c.Class = ClassDate
		case "datetime":
			c.Class = ClassDateTime
		case "timestamp":
			c.Class = ClassTimestamp
		case "time":
			c.Class = ClassTime
		case "json":
			c.Class = ClassJSON
		case "uuid": // MariaDB 10.7+
			c.Class = ClassUUID
		default:
			c.Class = ClassOther
		}
		// MariaDB declares JSON as LONGTEXT with a JSON_VALID check.
		if c.Class == ClassText && strings.Contains(c.Collation, "utf8mb4_bin") && strings.HasPrefix(c.Type, "longtext") {
			var n int
			if d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS
				WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CHECK_CLAUSE LIKE ?`, t.Schema, t.Table, "%json_valid(`"+c.Name+"`)%").Scan(&n) == nil && n > 0 {
				c.Class = ClassJSON
			}
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
	}
	keys, err := d.sql.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX, NULLABLE, SUB_PART
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, t.Schema, t.Table)
	if err != nil {
		return fmt.Errorf("read keys of %s on %s: %w", t.Name, d.Addr, err)
	}
	defer keys.Close()
	type idx struct {
		cols []string
		ok   bool
	}
	var order []string
	found := map[string]*idx{}
	for keys.Next() {
		var name, col, nullable string
		var seq int
		var sub sql.NullInt64
		if err := keys.Scan(&name, &col, &seq, &nullable, &sub); err != nil {
			return fmt.Errorf("read keys of %s on %s: %w", t.Name, d.Addr, err)
		}
		ix := found[name]
		if ix == nil {
			ix = &idx{ok: true}
			found[name] = ix
			order = append(order, name)
		}
		ix.cols = append(ix.cols, col)
		if nullable == "YES" || sub.Valid { // a NULL-able or prefix unique key does not identify rows
			ix.ok = false
		}
	}
	for _, n := range order {
		if found[n].ok {
			t.Key = found[n].cols
			break
		}
	}
	return keys.Err()
}

func (d *DB) describePG(ctx context.Context, t *Table) error {
	var oid sql.NullInt64
	if err := d.sql.QueryRowContext(ctx, "SELECT to_regclass($1)::oid::bigint", t.quoted).Scan(&oid); err != nil {
		return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
	}
	if !oid.Valid {
		return nil // no columns: reported as no such table
	}
	var schema string
	if err := d.sql.QueryRowContext(ctx, "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1", oid.Int64).Scan(&schema); err == nil {
		t.Schema = schema
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, t.typtype,
		NOT a.attnotnull, COALESCE(co.collname, ''), a.atttypmod, a.attgenerated <> ''
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid.Int64)
	if err != nil {
		return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		var typname, typtype string
		var typmod int
		if err := rows.Scan(&c.Name, &c.Type, &typname, &typtype, &c.Nullable, &c.Collation, &typmod, &c.Generated); err != nil {
			return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
		}
		c.Scale = -1
		switch typname {
		case "int2", "int4", "int8":
			c.Class = ClassInt
		case "bool":
			c.Class = ClassBool
		case "numeric":
			c.Class = ClassDecimal
			if typmod >= 4 {
				c.Scale = (typmod - 4) & 0xffff
			}
		case "float4":
			c.Class = ClassFloat
		case "float8":
			c.Class = ClassDouble
		case "text", "varchar", "bpchar", "name", "citext":
			c.Class = ClassText
		case "uuid":
			c.Class = ClassUUID
		case "bytea":
			c.Class = ClassBinary
		case "date":
			c.Class = ClassDate
		case "timestamp":
			c.Class = ClassDateTime
		case "timestamptz":
			c.Class = ClassTimestamp
		case "time":
			c.Class = ClassTime
		case "json", "jsonb":
			c.Class = ClassJSON
		case "bit", "varbit":
			c.Class = ClassBit
		default:
			if typtype == "e" {
				c.Class = ClassEnum
			} else {
				c.Class = ClassOther
			}
		}
		switch c.Class {
		case ClassDateTime, ClassTimestamp, ClassTime:
			c.FSP = 6
			if typmod >= 0 {
				c.FSP = typmod
			}
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("describe %s on %s: %w", t.Name, d.Addr, err)
	}
	// Primary key first, then unique indexes without expressions or predicates whose
	// columns are all NOT NULL.
	krows, err := d.sql.QueryContext(ctx, `SELECT i.indisprimary, array_to_string(ARRAY(
			SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), chr(31)),
			bool_and(a2.attnotnull)
		FROM pg_index i JOIN pg_attribute a2 ON a2.attrelid = i.indrelid AND a2.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		GROUP BY i.indexrelid, i.indisprimary, i.indkey, i.indrelid
		ORDER BY i.indisprimary DESC, i.indexrelid`, oid.Int64)
	if err != nil {
		return fmt.Errorf("read keys of %s on %s: %w", t.Name, d.Addr, err)
	}
	defer krows.Close()
	for krows.Next() {
		var primary, notNull bool
		var cols string
		if err := krows.Scan(&primary, &cols, &notNull); err != nil {
			return fmt.Errorf("read keys of %s on %s: %w", t.Name, d.Addr, err)
		}
		if (primary || notNull) && t.Key == nil {
			t.Key = strings.Split(cols, "\x1f")
		}
	}
	return krows.Err()
}

// ListTables lists the base tables of the current database (schema "public" on
// PostgreSQL unless the search path says otherwise), sorted.
func (d *DB) ListTables(ctx context.Context) ([]string, error) {
	var q string
	var args []any
	if d.Engine == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	} else {
		q = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`
		args = append(args, d.Name)
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables on %s: %w", d.Addr, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, rows.Err()
}
