package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// TableName names a table.
type TableName struct {
	DB   string `json:"db"`
	Name string `json:"name"`
}

func (n TableName) String() string { return n.DB + "." + n.Name }

// Server holds the server settings that decide what DDL means.
type Server struct {
	// MariaDB is set for MariaDB servers, where a few statements mean something else
	// (a JSON column with a CHECK of its own is a plain LONGTEXT).
	MariaDB bool `json:"mariadb,omitempty"`
	// Charset is @@character_set_server, the charset of databases created without one.
	Charset string `json:"charset"`
	// ExplicitDefaultsForTimestamp is @@explicit_defaults_for_timestamp. When false
	// (MySQL 5.7, MariaDB before 10.10) a TIMESTAMP column is NOT NULL unless declared NULL.
	ExplicitDefaultsForTimestamp bool `json:"explicit_defaults_for_timestamp"`
}

// DefaultServer are the settings NewCatalog assumes: MySQL 8's.
var DefaultServer = Server{Charset: "utf8mb4", ExplicitDefaultsForTimestamp: true}

// Database is a database and its default character set.
type Database struct {
	Name    string `json:"name"`
	Charset string `json:"charset"`
}

// Catalog is an immutable set of table definitions: the schema at one point of the
// binlog. Apply returns a new Catalog and leaves its receiver as it was; the two share
// the tables the statement did not touch. A *Table from a Catalog must not be modified.
// A Catalog is safe for concurrent use.
type Catalog struct {
	server    Server
	databases map[string]string // name -> default charset
	tables    map[TableName]*Table
	folded    *foldIndex // built on first need
}

// foldIndex finds tables by case-insensitive name without a scan.
type foldIndex struct {
	once sync.Once
	m    map[TableName][]TableName // lower-cased name -> names
}

func foldKey(db, name string) TableName {
	return TableName{DB: strings.ToLower(db), Name: strings.ToLower(name)}
}

// NewCatalog returns an empty catalog for a server with DefaultServer's settings.
func NewCatalog() *Catalog {
	return &Catalog{server: DefaultServer, databases: map[string]string{}, tables: map[TableName]*Table{}, folded: &foldIndex{}}
}

// Server returns the server settings the catalog applies DDL with.
func (c *Catalog) Server() Server { return c.server }

// WithServer returns a copy of the catalog that applies DDL with server's settings.
func (c *Catalog) WithServer(server Server) *Catalog {
	n := c.shallowCopy()
	server.Charset = normCharset(server.Charset)
	n.server = server
	return n
}

// WithDatabase returns a copy of the catalog that knows database name with the default
// charset cs (a database that existed before the binlog the catalog follows begins).
func (c *Catalog) WithDatabase(name, cs string) *Catalog {
	b := newBuilder(c)
	b.setDatabase(name, normCharset(cs))
	return b.catalog()
}

// Table returns the named table, nil when the catalog does not know it. An exact match
// wins; otherwise a case-insensitive one does if it is the only one (servers with
// lower_case_table_names set store names in lower case whatever the DDL wrote).
func (c *Catalog) Table(db, name string) *Table {
	_, t := c.lookup(db, name)
	return t
}

func (c *Catalog) lookup(db, name string) (TableName, *Table) {
	key := TableName{DB: db, Name: name}
	if t, ok := c.tables[key]; ok {
		return key, t
	}
	c.folded.once.Do(func() {
		c.folded.m = make(map[TableName][]TableName, len(c.tables))
		for k := range c.tables {
			f := foldKey(k.DB, k.Name)
			c.folded.m[f] = append(c.folded.m[f], k)
		}
	})
	if keys := c.folded.m[foldKey(db, name)]; len(keys) == 1 {
		return keys[0], c.tables[keys[0]]
	}
	return key, nil
}

// Tables returns every table, sorted by database and name.
func (c *Catalog) Tables() []*Table {
	out := make([]*Table, 0, len(c.tables))
	for _, t := range c.tables {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Table) int {
		if x := strings.Compare(a.DB, b.DB); x != 0 {
			return x
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Len returns the number of tables.
func (c *Catalog) Len() int { return len(c.tables) }

// Database returns the default charset of a database and whether the catalog knows it.
func (c *Catalog) Database(name string) (charset string, ok bool) {
	cs, ok := c.databases[name]
	if !ok {
		for k, v := range c.databases {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
	}
	return cs, ok
}

// Databases returns the databases the catalog knows, sorted by name.
func (c *Catalog) Databases() []Database {
	out := make([]Database, 0, len(c.databases))
	for name, cs := range c.databases {
		out = append(out, Database{Name: name, Charset: cs})
	}
	slices.SortFunc(out, func(a, b Database) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// MarkUnknown returns a copy of the catalog in which the named tables carry reason in
// Table.Unknown: after a DDLError, the daemon records that their definitions can no
// longer be trusted (and persists that with the checkpoint). A table the catalog did not
// know is added without columns. A later CREATE TABLE of the name clears the mark.
func (c *Catalog) MarkUnknown(tables []TableName, reason string) *Catalog {
	if reason == "" {
		reason = "unknown"
	}
	b := newBuilder(c)
	for _, name := range tables {
		key, t := b.lookup(name.DB, name.Name)
		if t == nil {
			t = &Table{DB: name.DB, Name: name.Name, Columns: []Column{}}
		} else {
			t = t.clone()
		}
		t.Unknown = reason
		b.put(key, t)
	}
	return b.catalog()
}

// builder makes the next Catalog from a base one, copying its maps on first write.
type builder struct {
	base      *Catalog
	databases map[string]string
	tables    map[TableName]*Table
	dbsOwned  bool
	tblsOwned bool
}

func newBuilder(base *Catalog) *builder {
	return &builder{base: base, databases: base.databases, tables: base.tables}
}

// lookup finds a table as Catalog.Table does, in the catalog being built.
func (b *builder) lookup(db, name string) (TableName, *Table) {
	if !b.tblsOwned {
		return b.base.lookup(db, name)
	}
	key := TableName{DB: db, Name: name}
	if t, ok := b.tables[key]; ok {
		return key, t
	}
	var found TableName
	n := 0
	for k := range b.tables {
		if strings.EqualFold(k.DB, db) && strings.EqualFold(k.Name, name) {
			found = k
			n++
		}
	}
	if n == 1 {
		return found, b.tables[found]
	}
	return key, nil
}

func (b *builder) exact(key TableName) *Table { return b.tables[key] }

func (b *builder) put(key TableName, t *Table) {
	if !b.tblsOwned {
		b.tables, b.tblsOwned = cloneMap(b.tables), true
	}
	b.tables[key] = t
}

func (b *builder) remove(key TableName) {
	if !b.tblsOwned {
		b.tables, b.tblsOwned = cloneMap(b.tables), true
	}
	delete(b.tables, key)
}

func (b *builder) database(name string) (string, bool) {
	if cs, ok := b.databases[name]; ok {
		return cs, true
	}
	for k, v := range b.databases {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (b *builder) setDatabase(name, cs string) {
	if !b.dbsOwned {
		b.databases, b.dbsOwned = cloneMap(b.databases), true
	}
	b.databases[name] = cs
}

func (b *builder) removeDatabase(name string) {
	if !b.dbsOwned {
		b.databases, b.dbsOwned = cloneMap(b.databases), true
	}
	if _, ok := b.databases[name]; ok {
		delete(b.databases, name)
		return
	}
	for k := range b.databases {
		if strings.EqualFold(k, name) {
			delete(b.databases, k)
			return
		}
	}
}

// catalog returns the catalog built: the base itself when nothing changed.
func (b *builder) catalog() *Catalog {
	if !b.tblsOwned && !b.dbsOwned {
		return b.base
	}
	return &Catalog{server: b.base.server, databases: b.databases, tables: b.tables, folded: &foldIndex{}}
}

func (c *Catalog) shallowCopy() *Catalog {
	n := Catalog{server: c.server, databases: c.databases, tables: c.tables, folded: &foldIndex{}}
	return &n
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// catalogJSON is the persisted form of a Catalog: lists sorted by name, so that the same
// schema always gives the same bytes.
type catalogJSON struct {
	Server    Server     `json:"server"`
	Databases []Database `json:"databases"`
	Tables    []*Table   `json:"tables"`
}

// MarshalJSON encodes the catalog for the checkpoint.
func (c *Catalog) MarshalJSON() ([]byte, error) {
	return json.Marshal(catalogJSON{Server: c.server, Databases: c.Databases(), Tables: c.Tables()})
}

// UnmarshalJSON decodes a catalog written by MarshalJSON.
func (c *Catalog) UnmarshalJSON(data []byte) error {
	var in catalogJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("schema catalog: %w", err)
	}
	out := Catalog{server: in.Server, databases: make(map[string]string, len(in.Databases)), tables: make(map[TableName]*Table, len(in.Tables)), folded: &foldIndex{}}
	for _, d := range in.Databases {
		if d.Name == "" {
			return fmt.Errorf("schema catalog: a database without a name")
		}
		out.databases[d.Name] = d.Charset
	}
	for i, t := range in.Tables {
		if t == nil || t.DB == "" || t.Name == "" {
			return fmt.Errorf("schema catalog: table %d has no database or name", i)
		}
		key := TableName{DB: t.DB, Name: t.Name}
		if _, dup := out.tables[key]; dup {
			return fmt.Errorf("schema catalog: table %s appears twice", key)
		}
		if len(t.UniqueKeyNames) != len(t.UniqueKeys) {
			return fmt.Errorf("schema catalog: table %s has %d unique keys but %d unique key names", key, len(t.UniqueKeys), len(t.UniqueKeyNames))
		}
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		out.tables[key] = t
	}
	*c = out
	return nil
}
