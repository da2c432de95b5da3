// Package schema keeps the schema history of the source: the tables and columns as they
// were at each point of the binlog. It loads the current definitions from
// information_schema at a fresh start, applies each DDL statement of the binlog in order
// (parsed with the TiDB parser), and is persisted with the checkpoint so that a restart
// decodes old rows with the columns of their time, not today's.
//
// A Catalog is immutable: applying DDL returns a new Catalog sharing the unchanged tables,
// so a change in flight can keep pointing at the schema it was decoded with.
package schema

// Column is one column of a table.
type Column struct {
	Name string `json:"name"`
	// Type is the base type in lower case, as information_schema's DATA_TYPE writes it:
	// tinyint, smallint, mediumint, int, bigint, decimal, float, double, bit, date,
	// datetime, timestamp, time, year, char, varchar, binary, varbinary, tinytext, text,
	// mediumtext, longtext, tinyblob, blob, mediumblob, longblob, enum, set, json,
	// geometry (and the other spatial types).
	Type     string `json:"type"`
	Unsigned bool   `json:"unsigned,omitempty"`
	Nullable bool   `json:"nullable,omitempty"`
	// Charset is the character set of a character column (utf8mb4, latin1, ...), "binary"
	// for binary strings and blobs, empty for other types.
	Charset   string `json:"charset,omitempty"`
	Precision int    `json:"precision,omitempty"` // DECIMAL precision, BIT width, CHAR/VARCHAR length
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
	// Charset is the table's default character set.
	Charset string `json:"charset,omitempty"`
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
