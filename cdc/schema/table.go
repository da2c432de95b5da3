// Package schema keeps the schema history of the source: the tables and columns as they
// were at each point of the binlog. It loads the current definitions from
// information_schema at a fresh start, applies each DDL statement of the binlog in order
// (parsed with the TiDB parser), and is persisted with the checkpoint so that a restart
// decodes old rows with the columns of their time, not today's.
//
// A Catalog is immutable: applying DDL returns a new Catalog sharing the unchanged tables,
// so a change in flight can keep pointing at the schema it was decoded with.
//
// The binlog is the authority. The catalog does not always start where the binlog does
// (today's definitions, then DDL replayed from an older position), but every statement
// in the binlog succeeded on the server: Apply brings the catalog into the state the
// statement implies, reports where that contradicted what it believed
// (Applied.Conflicts), and marks a table unknown when its columns can no longer be known.
//
// The TiDB parser reads the DDL. What it does not know of MariaDB and MySQL syntax is
// rewritten first (see rewriteForTiDB and prepare): CREATE OR REPLACE, IF [NOT] EXISTS
// forms, ALTER ONLINE, WAIT n / NOWAIT, SET STATEMENT ... FOR, /*M! */ comments,
// INVISIBLE and COMPRESSED columns, PERSISTENT, Aria table options, character sets and
// collations TiDB does not support, spatial types, UUID, INET4, INET6. The integration
// test runs every form on a real MariaDB and compares the result with information_schema.
//
// MariaDB specifics met on 10.11 (the oracle test pins them):
//   - JSON is LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin with a column CHECK
//     (json_valid(`col`)); information_schema says longtext. The CHECK keeps the column's
//     first name as its constraint name after a rename, but its clause follows the
//     column. A JSON column declared with a CHECK of its own loses json_valid and is a
//     plain LONGTEXT. Type is "json" whenever json_valid is there.
//   - utf8 is utf8mb3 (information_schema says utf8mb3).
//   - CONVERT TO CHARACTER SET grows TEXT types to hold as many characters (latin1 TEXT
//     becomes utf8mb4 MEDIUMTEXT), never shrinks them, and converts JSON columns too.
//   - An index the server creates for a foreign key is dropped when a later key covers
//     it, even after the foreign key is gone; information_schema cannot tell it apart.
//   - DROP CONSTRAINT drops a UNIQUE key of that name; a column CHECK cannot be dropped.
//   - Dropping a column of a multi-column UNIQUE or PRIMARY key is refused (MySQL
//     shrinks the key); a single-column key goes with its column.
//   - Database statements are logged with the database they are about as the event's
//     schema (ALTER DATABASE without a name: the current one).
//   - CREATE TABLE IF NOT EXISTS of an existing table and ALTER TABLE IF EXISTS of a
//     missing one are not logged at all.
//   - information_schema shows ENUM labels of ucs2/utf16/utf32 columns as '?'.
package schema

// Column is one column of a table.
type Column struct {
	Name string `json:"name"`
	// Type is the base type in lower case, as information_schema's DATA_TYPE writes it:
	// tinyint, smallint, mediumint, int, bigint, decimal, float, double, bit, date,
	// datetime, timestamp, time, year, char, varchar, binary, varbinary, tinytext, text,
	// mediumtext, longtext, tinyblob, blob, mediumblob, longblob, enum, set, json,
	// geometry (and the other spatial types), MariaDB's uuid, inet4, inet6 and vector.
	Type     string `json:"type"`
	Unsigned bool   `json:"unsigned,omitempty"`
	Nullable bool   `json:"nullable,omitempty"`
	// Charset is the character set of a character column (utf8mb4, latin1, ...), "binary"
	// for binary strings and blobs, empty for other types (json included). utf8 is
	// written utf8mb3.
	Charset   string `json:"charset,omitempty"`
	Precision int    `json:"precision,omitempty"` // DECIMAL precision, BIT width, (VAR)CHAR/(VAR)BINARY length
	Scale     int    `json:"scale,omitempty"`     // DECIMAL scale
	FSP       int    `json:"fsp,omitempty"`       // fractional seconds of TIME, DATETIME, TIMESTAMP
	// Elements are the labels of an ENUM or SET, in definition order.
	Elements []string `json:"elements,omitempty"`
}

// Table is one table's definition.
type Table struct {
	DB      string   `json:"db"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	// PrimaryKey lists the primary key's column names in key order; empty without one.
	PrimaryKey []string `json:"primary_key,omitempty"`
	// UniqueKeys lists the other unique keys, each as column names in key order.
	UniqueKeys [][]string `json:"unique_keys,omitempty"`
	// UniqueKeyNames are the names of UniqueKeys, index for index. Unique keys are kept
	// sorted by lower-cased name in both (a canonical order, so that KeyColumns picks the
	// same key whether the table was loaded from information_schema or built from DDL).
	UniqueKeyNames []string `json:"unique_key_names,omitempty"`
	// Indexes are the other indexes (non-unique, FULLTEXT, SPATIAL, unique keys with
	// expression parts), sorted by lower-cased name. They carry no row identity but are
	// needed to follow DROP INDEX and DROP COLUMN, and to name unnamed keys the way the
	// server does (a, a_2, ...).
	Indexes []Index `json:"indexes,omitempty"`
	// Charset is the table's default character set.
	Charset string `json:"charset,omitempty"`
	// Unknown is non-empty when a DDL statement touching the table could not be followed
	// (see Catalog.MarkUnknown), or showed that the catalog had lost track of it (see
	// Catalog.Apply: ALTER of a table it did not know, MODIFY of a column it did not
	// have, ...): it says why. Columns are then not to be trusted, and a row of the table
	// can only be decoded with the column names the binlog carries. A CREATE TABLE with
	// a column list clears it.
	Unknown string `json:"unknown,omitempty"`
}

// Index is a named index that gives no row identity.
type Index struct {
	Name string `json:"name"`
	// Columns are the indexed columns in key order; an expression part (MySQL 8
	// functional key part) is an empty string.
	Columns []string `json:"columns"`
	// Generated marks an index the server created for a foreign key that no other key
	// served; the server drops it when a later key covers its columns. Load leaves it
	// false: information_schema does not show it.
	Generated bool `json:"generated,omitempty"`
}

// ColumnIndex returns the position of the named column (case-insensitive, as MySQL
// compares column names), or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if equalFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// KeyColumns returns the columns that identify a row: the primary key, else the first
// unique key whose columns are all NOT NULL, else nil (the table has no row identity).
func (t *Table) KeyColumns() []string {
	if len(t.PrimaryKey) > 0 {
		return t.PrimaryKey
	}
	for _, uk := range t.UniqueKeys {
		ok := len(uk) > 0
		for _, c := range uk {
			i := t.ColumnIndex(c)
			if i < 0 || t.Columns[i].Nullable {
				ok = false
				break
			}
		}
		if ok {
			return uk
		}
	}
	return nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
