package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// describe renders a table compactly for expectations:
//
//	col type[(precision[,scale])][ unsigned][ null][ cs][ fsp=n][ {elements}], ... | pk(...) | uk name(...) | ix name(...)
func describe(t *Table) string {
	if t == nil {
		return "<nil>"
	}
	var cols []string
	for _, c := range t.Columns {
		s := c.Name + " " + c.Type
		switch {
		case c.Scale != 0 || c.Type == "decimal":
			s += fmt.Sprintf("(%d,%d)", c.Precision, c.Scale)
		case c.Precision != 0:
			s += fmt.Sprintf("(%d)", c.Precision)
		}
		if c.Unsigned {
			s += " unsigned"
		}
		if c.Nullable {
			s += " null"
		}
		if c.Charset != "" {
			s += " " + c.Charset
		}
		if c.FSP != 0 {
			s += fmt.Sprintf(" fsp=%d", c.FSP)
		}
		if c.Elements != nil {
			s += " {" + strings.Join(c.Elements, "|") + "}"
		}
		cols = append(cols, s)
	}
	out := strings.Join(cols, ", ")
	if t.PrimaryKey != nil {
		out += " | pk(" + strings.Join(t.PrimaryKey, ",") + ")"
	}
	for i, k := range t.UniqueKeys {
		out += " | uk " + t.UniqueKeyNames[i] + "(" + strings.Join(k, ",") + ")"
	}
	for _, ix := range t.Indexes {
		out += " | ix " + ix.Name + "(" + strings.Join(ix.Columns, ",") + ")"
	}
	if t.Charset != "" {
		out += " | " + t.Charset
	}
	return out
}

// catalogFrom applies stmts in database d to a catalog for a server with utf8mb4 and
// databases d (utf8mb4) and o (latin1).
func catalogFrom(t *testing.T, stmts ...string) *Catalog {
	t.Helper()
	c := NewCatalog().WithServer(Server{Charset: "utf8mb4", ExplicitDefaultsForTimestamp: true}).
		WithDatabase("d", "utf8mb4").WithDatabase("o", "latin1")
	for _, s := range stmts {
		next, _, err := c.Apply("d", s)
		require.NoError(t, err, s)
		c = next
	}
	return c
}

func TestApplyTables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []string
		stmt  string
		table string // db.name to check
		want  string // describe(table); "<nil>" when it must not exist
	}{
		// CREATE TABLE
		{name: "types and aliases", table: "d.t",
			stmt: `CREATE TABLE t (a INTEGER, b BOOL, c DEC, d NUMERIC(5), e FIXED(7,2), f REAL, g DOUBLE PRECISION,
				h CHARACTER VARYING(5), i INT UNSIGNED, j BIGINT(20) UNSIGNED ZEROFILL, k FLOAT(30), l MIDDLEINT, m INT1,
				n BIT, o BIT(12), p YEAR, q DATE)`,
			want: "a int null, b tinyint null, c decimal(10,0) null, d decimal(5,0) null, e decimal(7,2) null, f double null, " +
				"g double null, h varchar(5) null utf8mb4, i int unsigned null, j bigint unsigned null, k double null, " +
				"l mediumint null, m tinyint null, n bit(1) null, o bit(12) null, p year null, q date null | utf8mb4"},
		{name: "serial", table: "d.t", stmt: `CREATE TABLE t (id SERIAL, n INT SERIAL DEFAULT VALUE)`,
			want: "id bigint unsigned, n int | uk id(id) | uk n(n) | utf8mb4"},
		{name: "time types with FSP", table: "d.t", stmt: `CREATE TABLE t (a TIME, b TIME(3), c DATETIME(6), d TIMESTAMP(2), e TIMESTAMP)`,
			want: "a time null, b time null fsp=3, c datetime null fsp=6, d timestamp null fsp=2, e timestamp null | utf8mb4"},
		{name: "json", table: "d.t", stmt: `CREATE TABLE t (j JSON NOT NULL, k LONGTEXT CHECK (json_valid(k)), l LONGTEXT)`,
			want: "j json, k json null, l longtext null utf8mb4 | utf8mb4"},
		{name: "enum and set labels", table: "d.t", stmt: `CREATE TABLE t (e ENUM('a''b', 'c,d', 'e\\f', "g""h", 'trail  ', ''), s SET('x', 'y'))`,
			want: "e enum null utf8mb4 {a'b|c,d|e\\f|g\"h|trail|}, s set null utf8mb4 {x|y} | utf8mb4"},
		{name: "inline and separate keys, PK columns NOT NULL", table: "d.t",
			stmt: "CREATE TABLE `t` (`a` INT NULL, b INT UNIQUE, c INT, d INT, PRIMARY KEY (a), UNIQUE KEY u (c, D), UNIQUE (c), KEY (d), KEY k2 (c))",
			want: "a int, b int null, c int null, d int null | pk(a) | uk b(b) | uk c(c) | uk u(c,d) | ix d(d) | ix k2(c) | utf8mb4"},
		{name: "inline primary key", table: "d.t", stmt: `CREATE TABLE t (id BIGINT PRIMARY KEY, x INT)`,
			want: "id bigint, x int null | pk(id) | utf8mb4"},
		{name: "unnamed keys get the server's names", table: "d.t",
			stmt: `CREATE TABLE t (a INT, b INT, KEY a (a), UNIQUE (a), UNIQUE (a, b), KEY (b), KEY (b))`,
			want: "a int null, b int null | uk a_2(a) | uk a_3(a,b) | ix a(a) | ix b(b) | ix b_2(b) | utf8mb4"},
		{name: "foreign key index only when no key serves it", table: "d.c", setup: []string{`CREATE TABLE p (id INT PRIMARY KEY)`},
			stmt: `CREATE TABLE c (a INT, b INT, k INT, KEY (k), CONSTRAINT fa FOREIGN KEY (a) REFERENCES p (id), FOREIGN KEY (b) REFERENCES p (id), FOREIGN KEY (k) REFERENCES p (id))`,
			want: "a int null, b int null, k int null | ix b(b) | ix fa(a) | ix k(k) | utf8mb4"},
		{name: "db-qualified and quoted names", table: "o.my table",
			stmt: "CREATE TABLE `o`.`my table` (`we``ird` VARCHAR(3))",
			want: "we`ird varchar(3) null latin1 | latin1"},
		{name: "if not exists keeps the table", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `CREATE TABLE IF NOT EXISTS t (b INT)`, want: "a int null | utf8mb4"},
		{name: "create of an existing table replaces it", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `CREATE TABLE t (b INT)`, want: "b int null | utf8mb4"},
		{name: "MariaDB create or replace", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `CREATE OR REPLACE TABLE t (b INT PRIMARY KEY)`, want: "b int | pk(b) | utf8mb4"},
		{name: "like", table: "o.t2", setup: []string{`CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(3)) CHARSET latin1`},
			stmt: `CREATE TABLE o.t2 LIKE d.t`, want: "a int, b varchar(3) null latin1 | pk(a) | latin1"},
		{name: "like in parentheses", table: "d.t2", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `CREATE TABLE t2 (LIKE t)`, want: "a int null | utf8mb4"},

		// Character sets
		{name: "charset resolution", table: "d.t",
			stmt: `CREATE TABLE t (a VARCHAR(2), b VARCHAR(2) CHARACTER SET latin1, c VARCHAR(2) COLLATE latin2_bin,
				d VARCHAR(2) CHARSET utf8, e CHAR(2) BINARY, f TEXT CHARACTER SET binary, g CHAR(3) CHARACTER SET binary,
				h VARCHAR(3) CHARACTER SET binary, i NATIONAL VARCHAR(4), j NCHAR(2), k NVARCHAR(3), l CHAR(2) ASCII,
				m VARCHAR(2) COLLATE utf8mb3_bin, n VARBINARY(3), o BLOB, p BINARY, q CHAR(2) BYTE)`,
			want: "a varchar(2) null utf8mb4, b varchar(2) null latin1, c varchar(2) null latin2, d varchar(2) null utf8mb3, " +
				"e char(2) null utf8mb4, f blob null binary, g binary(3) null binary, h varbinary(3) null binary, " +
				"i varchar(4) null utf8mb3, j char(2) null utf8mb3, k varchar(3) null utf8mb3, l char(2) null latin1, " +
				"m varchar(2) null utf8mb3, n varbinary(3) null binary, o blob null binary, p binary(1) null binary, q binary(2) null binary | utf8mb4"},
		{name: "table charset from table collation", table: "d.t", stmt: `CREATE TABLE t (a TEXT) COLLATE latin1_german2_ci`,
			want: "a text null latin1 | latin1"},
		{name: "table charset from database", table: "o.t", stmt: `CREATE TABLE o.t (a TINYTEXT)`,
			want: "a tinytext null latin1 | latin1"},
		{name: "table charset from server for an unknown database", table: "x.t", stmt: `CREATE TABLE x.t (a CHAR(1))`,
			want: "a char(1) null utf8mb4 | utf8mb4"},
		{name: "charsets the TiDB parser refuses", table: "d.t",
			stmt: `CREATE TABLE t (a VARCHAR(3) CHARACTER SET cp1251, b CHAR(2) CHARACTER SET ucs2 COLLATE ucs2_bin,
				c TEXT CHARACTER SET utf16, d CHAR(2) UNICODE, e VARCHAR(2) CHARACTER SET sjis COLLATE uca1400_ai_ci) DEFAULT CHARSET=latin2`,
			want: "a varchar(3) null cp1251, b char(2) null ucs2, c text null utf16, d char(2) null ucs2, e varchar(2) null sjis | latin2"},
		{name: "charsets in expressions", table: "d.t",
			stmt: `CREATE TABLE t (a VARCHAR(3) CHARACTER SET cp1251, b VARCHAR(3) AS (CAST(a AS CHAR(3) CHARACTER SET cp1251)),
				c VARCHAR(3) AS (CONVERT(a USING cp1251)), d VARCHAR(3) DEFAULT _cp1251'x')`,
			want: "a varchar(3) null cp1251, b varchar(3) null utf8mb4, c varchar(3) null utf8mb4, d varchar(3) null utf8mb4 | utf8mb4"},
		{name: "MariaDB collations", table: "d.t",
			stmt: `CREATE TABLE t (a VARCHAR(2) COLLATE utf8mb4_uca1400_ai_ci, b VARCHAR(2) CHARACTER SET latin1 COLLATE uca1400_ai_ci,
				c VARCHAR(2) COLLATE latin1_nopad_bin) DEFAULT CHARSET=latin1 COLLATE=uca1400_ai_ci`,
			want: "a varchar(2) null utf8mb4, b varchar(2) null latin1, c varchar(2) null latin1 | latin1"},
		{name: "TEXT(n) and BLOB(n) sizes", table: "d.t",
			stmt: `CREATE TABLE t (a TEXT(60), b TEXT(70), c TEXT(255) CHARACTER SET latin1, d BLOB(256), e TEXT(20000), f BLOB(16777216), g LONG, h LONG VARBINARY)`,
			want: "a tinytext null utf8mb4, b text null utf8mb4, c tinytext null latin1, d blob null binary, e mediumtext null utf8mb4, " +
				"f longblob null binary, g mediumtext null utf8mb4, h mediumblob null binary | utf8mb4"},
		{name: "types the TiDB parser does not know", table: "d.t",
			stmt: `CREATE TABLE t (g GEOMETRY NOT NULL, p POINT SRID 4326, u UUID DEFAULT uuid(), i INET6, i4 INET4, mp MULTIPOLYGON, SPATIAL KEY (g))`,
			want: "g geometry, p point null, u uuid null, i inet6 null, i4 inet4 null, mp multipolygon null | ix g(g) | utf8mb4"},

		// ALTER TABLE
		{name: "add column first, after, at the end, and a list", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT)`},
			stmt: `ALTER TABLE t ADD COLUMN f INT FIRST, ADD g INT AFTER a, ADD COLUMN z INT, ADD COLUMN (y1 INT, y2 INT)`,
			want: "f int null, a int null, g int null, b int null, z int null, y1 int null, y2 int null | utf8mb4"},
		{name: "MariaDB add column if not exists", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER TABLE t ADD COLUMN IF NOT EXISTS a BIGINT, ADD COLUMN IF NOT EXISTS b BIGINT`,
			want: "a int null, b bigint null | utf8mb4"},
		{name: "drop column and the keys it leaves", table: "d.t",
			setup: []string{`CREATE TABLE t (a INT, b INT, c INT, PRIMARY KEY (a, b), UNIQUE u (c), UNIQUE v (b, c), KEY k (c, a))`},
			stmt:  `ALTER TABLE t DROP COLUMN c, DROP COLUMN IF EXISTS nope`,
			want:  "a int, b int | pk(a,b) | uk v(b) | ix k(a) | utf8mb4"},
		{name: "modify keeps the place unless moved", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT, c INT)`},
			stmt: `ALTER TABLE t MODIFY b VARCHAR(3) NOT NULL, MODIFY COLUMN c BIGINT FIRST, MODIFY IF EXISTS nope INT`,
			want: "c bigint null, a int null, b varchar(3) utf8mb4 | utf8mb4"},
		{name: "modify of a primary key column stays NOT NULL", table: "d.t", setup: []string{`CREATE TABLE t (a INT PRIMARY KEY)`},
			stmt: `ALTER TABLE t MODIFY a BIGINT`, want: "a bigint | pk(a) | utf8mb4"},
		{name: "change renames in keys", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT, PRIMARY KEY (a), UNIQUE u (b, a))`},
			stmt: `ALTER TABLE t CHANGE a id BIGINT UNSIGNED AFTER b, CHANGE COLUMN IF EXISTS nope x INT`,
			want: "b int null, id bigint unsigned | pk(id) | uk u(b,id) | utf8mb4"},
		{name: "rename column", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT, KEY k (a))`},
			stmt: `ALTER TABLE t RENAME COLUMN a TO A2`, want: "A2 int null, b int null | ix k(A2) | utf8mb4"},
		{name: "primary key dropped and added", table: "d.t", setup: []string{`CREATE TABLE t (a INT PRIMARY KEY, b INT)`},
			stmt: `ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (b, a)`, want: "a int, b int | pk(b,a) | utf8mb4"},
		{name: "keys added, dropped, renamed", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT, KEY k (a), UNIQUE u (b))`},
			stmt: `ALTER TABLE t ADD UNIQUE KEY u2 (a, b), ADD INDEX (b), DROP INDEX k, DROP KEY IF EXISTS nope, RENAME INDEX u TO u1`,
			want: "a int null, b int null | uk u1(b) | uk u2(a,b) | ix b(b) | utf8mb4"},
		{name: "MariaDB add key if not exists", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT, UNIQUE u (a))`},
			stmt: `ALTER TABLE t ADD UNIQUE KEY IF NOT EXISTS u (b), ADD INDEX IF NOT EXISTS i (b)`,
			want: "a int null, b int null | uk u(a) | ix i(b) | utf8mb4"},
		{name: "drop constraint drops a unique key", table: "d.t", setup: []string{`CREATE TABLE t (a INT, CONSTRAINT u UNIQUE (a), CONSTRAINT c CHECK (a > 0))`},
			stmt: `ALTER TABLE t DROP CONSTRAINT c, DROP CONSTRAINT IF EXISTS u`, want: "a int null | utf8mb4"},
		{name: "create and drop index", table: "d.t", setup: []string{`CREATE TABLE t (a INT, b INT)`, `CREATE UNIQUE INDEX u ON t (a)`, `CREATE INDEX i ON t (b)`},
			stmt: `DROP INDEX i ON t`, want: "a int null, b int null | uk u(a) | utf8mb4"},
		{name: "convert to character set grows text", table: "d.t",
			setup: []string{`CREATE TABLE t (a TINYTEXT, b TEXT, c MEDIUMTEXT, d VARCHAR(3), e ENUM('x'), f BLOB, g INT, j JSON) CHARSET latin1`},
			stmt:  `ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
			want:  "a text null utf8mb4, b mediumtext null utf8mb4, c longtext null utf8mb4, d varchar(3) null utf8mb4, e enum null utf8mb4 {x}, f blob null binary, g int null, j json null | utf8mb4"},
		{name: "convert to a charset the parser refuses", table: "d.t", setup: []string{`CREATE TABLE t (a VARCHAR(3))`},
			stmt: `ALTER TABLE t CONVERT TO CHARACTER SET cp1251`, want: "a varchar(3) null cp1251 | cp1251"},
		{name: "convert to binary", table: "d.t", setup: []string{`CREATE TABLE t (a VARCHAR(3), b CHAR(2), c TEXT)`},
			stmt: `ALTER TABLE t CONVERT TO CHARACTER SET binary`, want: "a varbinary(3) null binary, b binary(2) null binary, c blob null binary | binary"},
		{name: "default charset changes new columns only", table: "d.t", setup: []string{`CREATE TABLE t (a VARCHAR(3))`},
			stmt: `ALTER TABLE t DEFAULT CHARSET=latin1, ADD b VARCHAR(3)`, want: "a varchar(3) null utf8mb4, b varchar(3) null latin1 | latin1"},
		{name: "table collation sets the default charset", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER TABLE t COLLATE latin2_general_ci`, want: "a int null | latin2"},
		{name: "json to longtext and back", table: "d.t", setup: []string{`CREATE TABLE t (j JSON)`, `ALTER TABLE t MODIFY j LONGTEXT`},
			stmt: `ALTER TABLE t ADD k JSON`, want: "j longtext null utf8mb4, k json null | utf8mb4"},
		{name: "options, defaults and checks change nothing", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER TABLE t ENGINE=InnoDB, ALTER COLUMN a SET DEFAULT 1, ADD CONSTRAINT c CHECK (a > 0), ALGORITHM=INPLACE, LOCK=NONE, COMMENT 'x', FORCE`,
			want: "a int null | utf8mb4"},
		{name: "MariaDB alter syntax", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER ONLINE IGNORE TABLE IF EXISTS t WAIT 3 ADD b INT INVISIBLE, ADD c VARCHAR(3) COMPRESSED=zlib, ADD d INT AS (a + 1) PERSISTENT, PAGE_CHECKSUM=1`,
			want: "a int null, b int null, c varchar(3) null utf8mb4, d int null | utf8mb4"},
		{name: "MariaDB set statement prefix", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `SET STATEMENT max_statement_time=60, sql_mode='' FOR ALTER TABLE t NOWAIT ADD b INT`,
			want: "a int null, b int null | utf8mb4"},
		{name: "MariaDB executable comment", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `/*M!100301 ALTER TABLE t ADD b INT */`, want: "a int null, b int null | utf8mb4"},
		{name: "comments", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: "ALTER TABLE t /* x */ ADD b INT -- y\n, ADD c INT # z", want: "a int null, b int null, c int null | utf8mb4"},
		{name: "column names that are type or attribute words", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: "ALTER TABLE t ADD point INT, ADD COLUMN invisible INT INVISIBLE, ADD nchar NCHAR(2), ADD `uuid` UUID, ADD wait INT",
			want: "a int null, point int null, invisible int null, nchar char(2) null utf8mb3, uuid uuid null, wait int null | utf8mb4"},
		{name: "rename to another database", table: "o.t2", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER TABLE t RENAME TO o.t2, ADD b INT`, want: "a int null, b int null | utf8mb4"},
		{name: "renamed away", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: `ALTER TABLE t RENAME AS t2`, want: "<nil>"},
		{name: "timestamp NOT NULL without explicit_defaults_for_timestamp", table: "d.t",
			setup: []string{}, stmt: `CREATE TABLE t (a TIMESTAMP, b TIMESTAMP NULL, c DATETIME)`,
			want: "a timestamp, b timestamp null, c datetime null | utf8mb4"},

		// MySQL 8 forms
		{name: "MySQL 8 atomic CREATE TABLE ... SELECT as logged", table: "d.t",
			stmt: "CREATE TABLE `t` (`a` int DEFAULT NULL, `b` varchar(3) COLLATE utf8mb4_0900_ai_ci NOT NULL) START TRANSACTION",
			want: "a int null, b varchar(3) utf8mb4 | utf8mb4"},
		{name: "MySQL 8 functional index, defaults, invisible", table: "d.t", setup: []string{"CREATE TABLE t (a INT, b JSON, INDEX f ((a + 1)), UNIQUE KEY u ((a * 2)))"},
			stmt: "ALTER TABLE t ADD c BINARY(16) DEFAULT (uuid_to_bin(uuid())), ALTER INDEX f INVISIBLE, ALTER COLUMN c SET INVISIBLE",
			want: "a int null, b json null, c binary(16) null binary | ix f() | ix u() | utf8mb4"},
		{name: "MySQL 8 expression key parts", table: "d.t",
			stmt: "CREATE TABLE t (a INT, b VARCHAR(9), KEY k (a, (LOWER(b))))",
			want: "a int null, b varchar(9) null utf8mb4 | ix k(a,) | utf8mb4"},

		{name: "table options the parser does not know", table: "d.t",
			stmt: "CREATE TABLE t (a INT NOT NULL ENGINE_ATTRIBUTE='{}', b INT, c VARCHAR(2)) ENGINE=InnoDB AUTOEXTEND_SIZE=4M DEFAULT CHARSET=latin1 PARTITION BY SYSTEM_TIME INTERVAL 1 MONTH",
			want: "a int, b int null, c varchar(2) null latin1 | latin1"},
		{name: "MariaDB application-time period columns are NOT NULL", table: "d.t",
			stmt: "CREATE TABLE t (a DATE, b DATE, c INT, PERIOD FOR p (a, b))",
			want: "a date, b date, c int null | utf8mb4"},
		{name: "MariaDB period added alone", table: "d.t", setup: []string{"CREATE TABLE t (a DATE, b DATE)"},
			stmt: "ALTER TABLE t ADD PERIOD FOR p (a, b)", want: "a date, b date | utf8mb4"},
		{name: "alter table options the parser does not know", table: "d.t", setup: []string{`CREATE TABLE t (a INT)`},
			stmt: "ALTER TABLE t ENGINE=InnoDB AUTOEXTEND_SIZE=8M, ADD b INT", want: "a int null, b int null | utf8mb4"},

		// RENAME, DROP, databases
		{name: "rename several, in order", table: "o.c", setup: []string{`CREATE TABLE a (x INT)`, `CREATE TABLE b (y INT)`},
			stmt: `RENAME TABLE a TO c, b TO a, c TO o.c`, want: "x int null | utf8mb4"},
		{name: "rename swaps", table: "d.a", setup: []string{`CREATE TABLE a (x INT)`, `CREATE TABLE b (y INT)`},
			stmt: `RENAME TABLE a TO tmp, b TO a, tmp TO b`, want: "y int null | utf8mb4"},
		{name: "MariaDB rename if exists", table: "d.b", setup: []string{`CREATE TABLE a (x INT)`},
			stmt: `RENAME TABLE IF EXISTS nope TO nope2, a WAIT 1 TO b`, want: "x int null | utf8mb4"},
		{name: "drop several with a server comment", table: "d.b", setup: []string{`CREATE TABLE a (x INT)`, `CREATE TABLE b (y INT)`},
			stmt: "DROP TABLE IF EXISTS `a`,`b`,`nope` /* generated by server */", want: "<nil>"},
		{name: "drop database drops its tables", table: "o.t", setup: []string{`CREATE TABLE o.t (x INT)`},
			stmt: `DROP SCHEMA o`, want: "<nil>"},
		{name: "create database with a charset", table: "n.t", setup: []string{`CREATE DATABASE n COLLATE latin1_german2_ci`},
			stmt: `CREATE TABLE n.t (a VARCHAR(1))`, want: "a varchar(1) null latin1 | latin1"},
		{name: "alter database without a name is the default database", table: "d.t", setup: []string{`ALTER DATABASE CHARACTER SET latin2`},
			stmt: `CREATE TABLE t (a VARCHAR(1))`, want: "a varchar(1) null latin2 | latin2"},
		{name: "MariaDB create or replace database", table: "o.t", setup: []string{`CREATE TABLE o.t (x INT)`},
			stmt: `CREATE OR REPLACE DATABASE o`, want: "<nil>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := catalogFrom(t, tc.setup...)
			if strings.HasPrefix(tc.name, "timestamp NOT NULL") {
				base = base.WithServer(Server{Charset: "utf8mb4", ExplicitDefaultsForTimestamp: false})
			}
			before, err := base.MarshalJSON()
			require.NoError(t, err)
			next, applied, err := base.Apply("d", tc.stmt)
			require.NoError(t, err)
			require.NotNil(t, applied, "a schema statement reports what it did")
			db, name, _ := strings.Cut(tc.table, ".")
			require.Equal(t, tc.want, describe(next.Table(db, name)))
			after, err := base.MarshalJSON()
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after), "Apply must leave its receiver unchanged")
		})
	}
}

func TestApplyReports(t *testing.T) {
	t.Parallel()
	tn := func(db, name string) TableName { return TableName{DB: db, Name: name} }
	tests := []struct {
		setup []string
		stmt  string
		want  Applied
	}{
		{stmt: `CREATE TABLE t (a INT)`, want: Applied{Kind: "CREATE TABLE", Tables: []TableChange{{Op: OpCreate, Table: tn("d", "t")}}}},
		{setup: []string{`CREATE TABLE t (a INT)`}, stmt: `CREATE TABLE IF NOT EXISTS t (a INT)`, want: Applied{Kind: "CREATE TABLE"}},
		{setup: []string{`CREATE TABLE t (a INT)`}, stmt: `ALTER TABLE t ADD b INT`,
			want: Applied{Kind: "ALTER TABLE", Tables: []TableChange{{Op: OpAlter, Table: tn("d", "t")}}}},
		{setup: []string{`CREATE TABLE t (a INT)`}, stmt: `ALTER TABLE t RENAME o.u`,
			want: Applied{Kind: "ALTER TABLE", Tables: []TableChange{{Op: OpAlter, Table: tn("d", "t"), NewName: &TableName{"o", "u"}}}}},
		{setup: []string{`CREATE TABLE a (x INT)`, `CREATE TABLE b (x INT)`}, stmt: `RENAME TABLE a TO c, b TO o.b`,
			want: Applied{Kind: "RENAME TABLE", Tables: []TableChange{{Op: OpRename, Table: tn("d", "a"), NewName: &TableName{"d", "c"}}, {Op: OpRename, Table: tn("d", "b"), NewName: &TableName{"o", "b"}}}}},
		{setup: []string{`CREATE TABLE a (x INT)`}, stmt: `DROP TABLE IF EXISTS a, nope`,
			want: Applied{Kind: "DROP TABLE", Tables: []TableChange{{Op: OpDrop, Table: tn("d", "a")}}}},
		{setup: []string{`CREATE TABLE o.a (x INT)`, `CREATE TABLE o.b (x INT)`}, stmt: `DROP DATABASE o`,
			want: Applied{Kind: "DROP DATABASE", Tables: []TableChange{{Op: OpDrop, Table: tn("o", "a")}, {Op: OpDrop, Table: tn("o", "b")}}, Databases: []string{"o"}}},
		{stmt: `CREATE DATABASE IF NOT EXISTS n`, want: Applied{Kind: "CREATE DATABASE", Databases: []string{"n"}}},
		{setup: []string{`CREATE TABLE t (a INT)`}, stmt: `CREATE INDEX i ON t (a)`,
			want: Applied{Kind: "CREATE INDEX", Tables: []TableChange{{Op: OpAlter, Table: tn("d", "t")}}}},
		// Contradictions: the catalog follows the binlog and says where it was out of step.
		{setup: []string{`CREATE TABLE p (x INT)`, `CREATE TABLE q (y INT)`}, stmt: `RENAME TABLE p TO q, nope TO o.n`,
			want: Applied{Kind: "RENAME TABLE",
				Tables: []TableChange{{Op: OpRename, Table: tn("d", "p"), NewName: &TableName{"d", "q"}},
					{Op: OpRename, Table: tn("d", "nope"), NewName: &TableName{"o", "n"}, Unknown: "RENAME TABLE d.nope TO o.n: the catalog did not know d.nope"}},
				Conflicts: []string{"RENAME TABLE d.p TO d.q replaced the known d.q",
					"RENAME TABLE d.nope TO o.n: the catalog did not know d.nope; o.n is marked unknown"}}},
		{setup: []string{`CREATE TABLE t (a INT)`}, stmt: `ALTER TABLE t MODIFY b INT`,
			want: Applied{Kind: "ALTER TABLE",
				Tables:    []TableChange{{Op: OpAlter, Table: tn("d", "t"), Unknown: "ALTER TABLE d.t MODIFY b: the catalog did not know column b"}},
				Conflicts: []string{"ALTER TABLE d.t MODIFY b: the catalog did not know column b; d.t is marked unknown"}}},
	}
	for _, tc := range tests {
		_, applied, err := catalogFrom(t, tc.setup...).Apply("d", tc.stmt)
		require.NoError(t, err, tc.stmt)
		require.Equal(t, &tc.want, applied, tc.stmt)
	}
}

// TestApplyNoOps: statements that do not change tables return the receiver and nil.
func TestApplyNoOps(t *testing.T) {
	t.Parallel()
	base := catalogFrom(t, `CREATE TABLE t (a INT)`)
	for _, stmt := range []string{
		"", "   ", "/* only a comment */", "BEGIN", "COMMIT", "ROLLBACK", "XA START 'x'", "XA END 'x'", "XA PREPARE 'x'", "XA COMMIT 'x'",
		"SAVEPOINT s1", "RELEASE SAVEPOINT s1", "ROLLBACK TO SAVEPOINT s1",
		"INSERT INTO t VALUES (1)", "UPDATE t SET a = 2", "DELETE FROM t", "REPLACE INTO t VALUES (1)",
		"TRUNCATE TABLE t", "TRUNCATE t",
		"GRANT ALL ON *.* TO 'u'@'%'", "REVOKE ALL ON *.* FROM 'u'@'%'", "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY 'p'",
		"DROP USER 'u'@'%'", "ALTER USER 'u'@'%' IDENTIFIED BY 'q'", "RENAME USER 'u'@'%' TO 'v'@'%'", "CREATE ROLE r", "SET PASSWORD FOR 'u'@'%' = PASSWORD('x')",
		"FLUSH PRIVILEGES", "FLUSH TABLES", "ANALYZE TABLE t", "OPTIMIZE TABLE t", "REPAIR TABLE t", "CHECK TABLE t",
		"CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v AS SELECT a FROM t",
		"CREATE OR REPLACE VIEW v AS SELECT 1", "ALTER VIEW v AS SELECT 2", "DROP VIEW IF EXISTS v",
		"CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", "DROP TRIGGER tr",
		"CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN CREATE TABLE x (a INT); END", "DROP PROCEDURE p",
		"CREATE FUNCTION f() RETURNS INT RETURN 1", "DROP FUNCTION IF EXISTS f",
		"CREATE DEFINER=`root`@`localhost` EVENT e ON SCHEDULE EVERY 1 DAY DO ALTER TABLE t ADD b INT", "ALTER EVENT e DISABLE", "DROP EVENT e",
		"CREATE SEQUENCE s", "DROP SEQUENCE s", "CREATE TEMPORARY TABLE tmp (a INT)", "DROP TEMPORARY TABLE IF EXISTS tmp",
		"CREATE OR REPLACE TEMPORARY TABLE tmp (a INT)", "SET @a = 1", "SET NAMES utf8mb4", "INSTALL SONAME 'ha_x'", "LOCK TABLES t WRITE", "UNLOCK TABLES",
		"CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'x')", "DO 1",
	} {
		next, applied, err := base.Apply("d", stmt)
		require.NoError(t, err, stmt)
		require.Nil(t, applied, stmt)
		require.Same(t, base, next, stmt)
	}
}

// TestApplyErrors: only statements that cannot be parsed or understood at all are
// errors; contradictions with the catalog are not (see TestApplyConflicts).
func TestApplyErrors(t *testing.T) {
	t.Parallel()
	base := catalogFrom(t, `CREATE TABLE t (a INT, b INT)`)
	tests := []struct {
		stmt   string
		db     string
		kind   string
		tables []TableName
		cause  string
	}{
		{stmt: `ALTER TABLE t ADD COLUMN c INT SOMETHING UNHEARD OF`, kind: "ALTER TABLE", tables: []TableName{{"d", "t"}}, cause: "parse"},
		{stmt: `ALTER TABLE o.x RENAME TO o.y, ADD c INT SOMETHING`, kind: "ALTER TABLE", tables: []TableName{{"o", "x"}, {"o", "y"}}, cause: "parse"},
		{stmt: `CREATE TABLE u (a INT, a INT)`, kind: "CREATE TABLE", tables: []TableName{{"d", "u"}}, cause: "twice"},
		{stmt: `CREATE TABLE u (a INT, KEY (nope))`, kind: "CREATE TABLE", tables: []TableName{{"d", "u"}}, cause: "key column nope is not a column of d.u"},
		{stmt: `CREATE TABLE v (a INT) WITH SYSTEM VERSIONING`, kind: "CREATE TABLE", tables: []TableName{{"d", "v"}}, cause: "system-versioned"},
		{stmt: `ALTER TABLE t ADD SYSTEM VERSIONING`, kind: "ALTER TABLE", tables: []TableName{{"d", "t"}}, cause: "system-versioned"},
		{stmt: `RENAME TABLE t TO t`, kind: "RENAME TABLE", tables: []TableName{{"d", "t"}, {"d", "t"}}, cause: ""},
		{stmt: `ALTER TABLE t ADD c INT`, db: "-", kind: "ALTER TABLE", tables: []TableName{{"", "t"}}, cause: "no default database"},
		{stmt: `RENAME TABLE t TO x`, db: "-", kind: "RENAME TABLE", tables: []TableName{{"", "t"}, {"", "x"}}, cause: "no default database"},
	}
	for _, tc := range tests {
		db := "d"
		if tc.db == "-" {
			db = ""
		}
		next, applied, err := base.Apply(db, tc.stmt)
		if tc.cause == "" { // RENAME TABLE t TO t: the server refuses it; nothing to follow
			if err == nil {
				continue
			}
		}
		require.Error(t, err, tc.stmt)
		var ddl *DDLError
		require.True(t, errors.As(err, &ddl), "a *DDLError: %v", err)
		require.Equal(t, tc.stmt, ddl.Statement)
		require.Equal(t, db, ddl.DB)
		require.Equal(t, tc.kind, ddl.Kind)
		require.Equal(t, tc.tables, ddl.Tables, tc.stmt)
		require.ErrorContains(t, err, tc.cause)
		require.ErrorContains(t, err, "binlog_row_metadata=FULL", "the error says what it means for the daemon")
		require.Nil(t, applied)
		require.Same(t, base, next, "a failed statement leaves the catalog as it was")
	}
}

// TestApplyCopyOnWrite: the catalog before a statement is unchanged, and shares the
// tables the statement did not touch.
func TestApplyCopyOnWrite(t *testing.T) {
	t.Parallel()
	c1 := catalogFrom(t, `CREATE TABLE a (x INT, KEY k (x))`, `CREATE TABLE b (y INT)`)
	a1, b1 := c1.Table("d", "a"), c1.Table("d", "b")
	desc := describe(a1)

	c2, _, err := c1.Apply("d", `ALTER TABLE a ADD z INT, ADD UNIQUE (z), RENAME COLUMN x TO x2, DROP INDEX k`)
	require.NoError(t, err)
	require.NotSame(t, c1, c2)
	require.Same(t, a1, c1.Table("d", "a"))
	require.Equal(t, desc, describe(c1.Table("d", "a")), "the old catalog's table is untouched")
	require.Equal(t, "x2 int null, z int null | uk z(z) | utf8mb4", describe(c2.Table("d", "a")))
	require.Same(t, b1, c2.Table("d", "b"), "an untouched table is shared")

	c3, _, err := c2.Apply("d", `DROP TABLE b`)
	require.NoError(t, err)
	require.Nil(t, c3.Table("d", "b"))
	require.Same(t, b1, c2.Table("d", "b"))
	require.Equal(t, 2, c2.Len())
	require.Equal(t, 1, c3.Len())

	c4, _, err := c3.Apply("d", `CREATE DATABASE n CHARACTER SET latin1`)
	require.NoError(t, err)
	_, ok := c3.Database("n")
	require.False(t, ok, "databases are copied on write too")
	cs, ok := c4.Database("n")
	require.True(t, ok)
	require.Equal(t, "latin1", cs)
}

func TestTableLookup(t *testing.T) {
	t.Parallel()
	c := catalogFrom(t, `CREATE TABLE Foo (a INT)`, `CREATE TABLE bar (a INT)`, `CREATE TABLE BAR (b INT)`)
	require.NotNil(t, c.Table("d", "Foo"))
	require.Same(t, c.Table("d", "Foo"), c.Table("d", "foo"), "a unique case-insensitive match is found")
	require.Equal(t, "a int null | utf8mb4", describe(c.Table("d", "bar")))
	require.Equal(t, "b int null | utf8mb4", describe(c.Table("d", "BAR")))
	require.Nil(t, c.Table("d", "Bar"), "an ambiguous case-insensitive match is no match")
	require.Nil(t, c.Table("x", "foo"))

	// DDL written in another case (lower_case_table_names servers) finds the table.
	c2, _, err := c.Apply("D", `ALTER TABLE FOO ADD b INT`)
	require.NoError(t, err)
	require.Equal(t, "a int null, b int null | utf8mb4", describe(c2.Table("d", "Foo")))

	var names []string
	for _, tb := range c2.Tables() {
		names = append(names, tb.DB+"."+tb.Name)
	}
	require.Equal(t, []string{"d.BAR", "d.Foo", "d.bar"}, names, "sorted")
}

func TestKeyColumnsCanonical(t *testing.T) {
	t.Parallel()
	// KeyColumns takes the first NOT NULL unique key in name order, whatever the order
	// of definition, so that DDL and information_schema agree.
	c := catalogFrom(t,
		`CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, c INT, UNIQUE KEY z (a), UNIQUE KEY m (b), UNIQUE KEY b (c))`,
		`CREATE TABLE p (a INT, b INT, PRIMARY KEY (b, a), UNIQUE (a))`,
		`CREATE TABLE n (a INT, UNIQUE (a))`)
	require.Equal(t, []string{"b"}, c.Table("d", "t").KeyColumns())
	require.Equal(t, []string{"b", "a"}, c.Table("d", "p").KeyColumns())
	require.Nil(t, c.Table("d", "n").KeyColumns())
}

func TestMarkUnknown(t *testing.T) {
	t.Parallel()
	c := catalogFrom(t, `CREATE TABLE t (a INT)`)
	_, _, err := c.Apply("d", `ALTER TABLE t ADD COLUMN b INT SOMETHING UNHEARD OF`)
	var ddl *DDLError
	require.ErrorAs(t, err, &ddl)

	m := c.MarkUnknown(append(ddl.Tables, TableName{"d", "new"}), ddl.Error())
	require.Empty(t, c.Table("d", "t").Unknown, "the receiver is unchanged")
	require.Contains(t, m.Table("d", "t").Unknown, "SOMETHING UNHEARD OF")
	require.Equal(t, "a int null | utf8mb4", describe(m.Table("d", "t")), "columns kept, but marked")
	require.NotNil(t, m.Table("d", "new"))
	require.Empty(t, m.Table("d", "new").Columns)

	// The mark survives ALTER and RENAME, and goes with a new definition.
	m2, _, err := m.Apply("d", `ALTER TABLE t ADD c INT`)
	require.NoError(t, err)
	m3, _, err := m2.Apply("d", `RENAME TABLE t TO t2`)
	require.NoError(t, err)
	require.NotEmpty(t, m3.Table("d", "t2").Unknown)
	m4, _, err := m3.Apply("d", `CREATE TABLE copy LIKE t2`)
	require.NoError(t, err)
	require.NotEmpty(t, m4.Table("d", "copy").Unknown, "a copy of an unknown table is unknown")
	m5, _, err := m4.Apply("d", `CREATE OR REPLACE TABLE t2 (x INT)`)
	require.NoError(t, err)
	require.Empty(t, m5.Table("d", "t2").Unknown)
}
