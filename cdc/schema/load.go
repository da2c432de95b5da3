package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// systemDatabases are never loaded: no application writes rows there.
var systemDatabases = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// Load reads the current table definitions of the databases include accepts (nil
// accepts all) from information_schema, in a fixed handful of queries whatever the
// number of tables. It works on MySQL 5.7/8 and MariaDB 10.x/11.x.
//
// MariaDB specifics: its JSON is LONGTEXT with a CHECK (json_valid(`col`)) constraint
// named after the column, so a longtext column with that check is loaded as "json"
// (MySQL's information_schema has no TABLE_NAME in CHECK_CONSTRAINTS, and says "json"
// itself). MariaDB 10.6+ and MySQL 8 report utf8 as utf8mb3; MySQL 5.7's utf8 is read
// as utf8mb3 too. MariaDB shows the ENUM/SET labels of ucs2, utf16 and utf32 columns as
// '?' in information_schema: those labels are wrong after Load (DDL gets them right).
func Load(ctx context.Context, db *sql.DB, include func(dbName string) bool) (*Catalog, error) {
	// One connection: the queries see the same server, and the IN lists stay small.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("load schema: connect: %w", err)
	}
	defer conn.Close()

	server, err := readServer(ctx, conn)
	if err != nil {
		return nil, err
	}
	cat := NewCatalog().WithServer(server)
	b := newBuilder(cat)

	var dbs []string
	err = queryRows(ctx, conn, "schemata", `SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA`, nil, func(r *sql.Rows) error {
		var name, cs string
		if err := r.Scan(&name, &cs); err != nil {
			return err
		}
		if systemDatabases[strings.ToLower(name)] || (include != nil && !include(name)) {
			return nil
		}
		dbs = append(dbs, name)
		b.setDatabase(name, normCharset(cs))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dbs) == 0 {
		return b.catalog(), nil
	}
	in, args := inList(dbs)

	// Tables. MariaDB lists system-versioned tables as SYSTEM VERSIONED; sequences and
	// views are not base tables.
	tables := map[TableName]*Table{}
	err = queryRows(ctx, conn, "tables", `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, COALESCE(c.CHARACTER_SET_NAME, ''), COALESCE(t.TABLE_COLLATION, '')
		FROM information_schema.TABLES t LEFT JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION
		WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND t.TABLE_SCHEMA IN (`+in+`)`, args, func(r *sql.Rows) error {
		var dbName, name, cs, coll string
		if err := r.Scan(&dbName, &name, &cs, &coll); err != nil {
			return err
		}
		if cs == "" {
			cs, _ = charsetOfCollation(coll)
		}
		tables[TableName{DB: dbName, Name: name}] = &Table{DB: dbName, Name: name, Columns: []Column{}, Charset: normCharset(cs)}
		return nil
	})
	if err != nil {
		return nil, err
	}

	err = queryRows(ctx, conn, "columns", `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
		CHARACTER_SET_NAME, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (`+in+`)
		ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, args, func(r *sql.Rows) error {
		var dbName, name, col, dataType, colType, nullable string
		var cs sql.NullString
		var charLen, numPrec, numScale, dtPrec sql.NullInt64
		if err := r.Scan(&dbName, &name, &col, &dataType, &colType, &nullable, &cs, &charLen, &numPrec, &numScale, &dtPrec); err != nil {
			return err
		}
		t := tables[TableName{DB: dbName, Name: name}]
		if t == nil {
			return nil // a view
		}
		c, err := loadedColumn(col, dataType, colType, nullable, cs, charLen, numPrec, numScale, dtPrec)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", dbName, name, err)
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Keys: every index, its parts in order (COLUMN_NAME is NULL for MySQL 8's
	// expression parts).
	type indexKey struct {
		table TableName
		name  string
	}
	type index struct {
		unique bool
		cols   []string
	}
	indexes := map[indexKey]*index{}
	var order []indexKey
	err = queryRows(ctx, conn, "statistics", `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (`+in+`)
		ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, args, func(r *sql.Rows) error {
		var dbName, name, indexName string
		var nonUnique int
		var col sql.NullString
		if err := r.Scan(&dbName, &name, &indexName, &nonUnique, &col); err != nil {
			return err
		}
		k := indexKey{TableName{DB: dbName, Name: name}, indexName}
		ix := indexes[k]
		if ix == nil {
			ix = &index{unique: nonUnique == 0}
			indexes[k] = ix
			order = append(order, k)
		}
		ix.cols = append(ix.cols, col.String)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range order {
		t := tables[k.table]
		if t == nil {
			continue
		}
		ix := indexes[k]
		switch {
		case k.name == "PRIMARY":
			t.PrimaryKey = ix.cols
		case ix.unique && !containsEmpty(ix.cols):
			t.UniqueKeys = append(t.UniqueKeys, ix.cols)
			t.UniqueKeyNames = append(t.UniqueKeyNames, k.name)
		default:
			t.Indexes = append(t.Indexes, Index{Name: k.name, Columns: ix.cols})
		}
	}

	if server.MariaDB {
		if err := markMariaDBJSON(ctx, conn, in, args, tables); err != nil {
			return nil, err
		}
	}

	for key, t := range tables {
		t.sortKeys()
		t.tidyKeys()
		b.put(key, t)
	}
	return b.catalog(), nil
}

// markMariaDBJSON finds MariaDB's JSON columns: longtext with the column-level
// CHECK (json_valid(`col`)) that MariaDB adds. The constraint keeps the column's first
// name when the column is renamed, so the clause names the column. LEVEL (10.5.10+)
// tells column checks from table checks; older servers lack it and any such check counts.
func markMariaDBJSON(ctx context.Context, conn *sql.Conn, in string, args []any, tables map[TableName]*Table) error {
	return queryRows(ctx, conn, "check constraints", `SELECT * FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA IN (`+in+`) AND CHECK_CLAUSE LIKE 'json_valid(%'`, args, func(r *sql.Rows) error {
		cols, err := r.Columns()
		if err != nil {
			return err
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return err
		}
		get := func(name string) (string, bool) {
			for i, c := range cols {
				if strings.EqualFold(c, name) {
					return vals[i].String, true
				}
			}
			return "", false
		}
		dbName, _ := get("CONSTRAINT_SCHEMA")
		name, _ := get("TABLE_NAME")
		clause, _ := get("CHECK_CLAUSE")
		if level, ok := get("LEVEL"); ok && !strings.EqualFold(level, "Column") {
			return nil
		}
		t := tables[TableName{DB: dbName, Name: name}]
		if t == nil {
			return nil
		}
		for i := range t.Columns {
			c := &t.Columns[i]
			if c.Type == "longtext" && clause == "json_valid(`"+strings.ReplaceAll(c.Name, "`", "``")+"`)" {
				c.Type, c.Charset = "json", ""
			}
		}
		return nil
	})
}

// ReadServer reads the server settings that decide what DDL means, for a catalog built
// from an empty one (NewCatalog().WithServer) when following a binlog from its start.
func ReadServer(ctx context.Context, db *sql.DB) (Server, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return Server{}, fmt.Errorf("read server settings: connect: %w", err)
	}
	defer conn.Close()
	return readServer(ctx, conn)
}

func readServer(ctx context.Context, conn *sql.Conn) (Server, error) {
	var cs, version string
	var explicit sql.NullInt64
	err := conn.QueryRowContext(ctx, `SELECT @@character_set_server, @@explicit_defaults_for_timestamp, VERSION()`).Scan(&cs, &explicit, &version)
	if err != nil {
		return Server{}, fmt.Errorf("read server settings (@@character_set_server, @@explicit_defaults_for_timestamp): %w", err)
	}
	return Server{
		MariaDB:                      strings.Contains(strings.ToLower(version), "mariadb"),
		Charset:                      normCharset(cs),
		ExplicitDefaultsForTimestamp: explicit.Int64 != 0,
	}, nil
}

func queryRows(ctx context.Context, conn *sql.Conn, what, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("load schema: read information_schema %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return fmt.Errorf("load schema: read information_schema %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load schema: read information_schema %s: %w", what, err)
	}
	return nil
}

func inList(names []string) (string, []any) {
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(names)), ","), args
}

func containsEmpty(cols []string) bool {
	for _, c := range cols {
		if c == "" {
			return true
		}
	}
	return false
}

// loadedColumn builds a Column from a row of information_schema.COLUMNS.
func loadedColumn(name, dataType, colType, nullable string, cs sql.NullString, charLen, numPrec, numScale, dtPrec sql.NullInt64) (Column, error) {
	c := Column{Name: name, Type: strings.ToLower(dataType), Nullable: strings.EqualFold(nullable, "YES")}
	lowerType := strings.ToLower(colType)
	switch c.Type {
	case "tinyint", "smallint", "mediumint", "int", "bigint", "float", "double", "real":
		c.Unsigned = strings.Contains(lowerType, "unsigned")
		if c.Type == "real" {
			c.Type = "double"
		}
	case "decimal", "numeric":
		c.Type = "decimal"
		c.Unsigned = strings.Contains(lowerType, "unsigned")
		c.Precision, c.Scale = int(numPrec.Int64), int(numScale.Int64)
	case "bit":
		c.Precision = int(numPrec.Int64)
	case "datetime", "timestamp", "time":
		c.FSP = int(dtPrec.Int64)
	case "char", "varchar":
		c.Charset, c.Precision = normCharset(cs.String), int(charLen.Int64)
	case "binary", "varbinary":
		c.Charset, c.Precision = "binary", int(charLen.Int64)
	case "tinytext", "text", "mediumtext", "longtext":
		c.Charset = normCharset(cs.String)
	case "tinyblob", "blob", "mediumblob", "longblob":
		c.Charset = "binary"
	case "enum", "set":
		c.Charset = normCharset(cs.String)
		elems, err := parseElements(colType)
		if err != nil {
			return c, fmt.Errorf("column %s: %w", name, err)
		}
		c.Elements = elems
	}
	return c, nil
}

// parseElements reads the labels of a COLUMN_TYPE such as
//
//	enum('a','b''c','d\\e')
//
// quoted as SQL strings: a quote doubled, a backslash escaped.
func parseElements(colType string) ([]string, error) {
	open := strings.IndexByte(colType, '(')
	end := strings.LastIndexByte(colType, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("cannot read the labels of %q", colType)
	}
	s := colType[open+1 : end]
	var out []string
	for i := 0; i < len(s); {
		if s[i] != '\'' {
			return nil, fmt.Errorf("cannot read the labels of %q", colType)
		}
		var b strings.Builder
		i++
		for {
			if i >= len(s) {
				return nil, fmt.Errorf("cannot read the labels of %q", colType)
			}
			ch := s[i]
			if ch == '\\' && i+1 < len(s) {
				b.WriteByte(unescape(s[i+1]))
				i += 2
				continue
			}
			if ch == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(ch)
			i++
		}
		out = append(out, b.String())
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
	return out, nil
}

// unescape is the byte a MySQL string escape \c stands for.
func unescape(c byte) byte {
	switch c {
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'Z':
		return 26
	}
	return c
}
