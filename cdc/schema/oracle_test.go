package schema

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

// oracleSteps are DDL statements run on the real server one by one; after each, the
// catalog Apply builds must equal what Load reads back from the server. {db} is the
// test's database (the default database), {db2} a second one, {db3} one the steps
// create and drop.
var oracleSteps = []string{
	// Every type, aliases, unsigned, FSP, ENUM/SET labels with quotes, commas, backslashes
	// and trailing spaces, MariaDB JSON.
	`CREATE TABLE t1 (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(10,2) UNSIGNED,
		qty SMALLINT UNSIGNED DEFAULT 0, created DATETIME(3), updated TIMESTAMP(6) NULL, plain_ts TIMESTAMP,
		flag BOOL, b BIT(5), b1 BIT, note TEXT, blobby BLOB, y YEAR, f FLOAT, f30 FLOAT(30), f73 FLOAT(7,3) UNSIGNED,
		dd DOUBLE PRECISION, r REAL, n NUMERIC, dc DEC(5), fx FIXED(7,3), i INTEGER, big BIGINT(20) UNSIGNED ZEROFILL,
		c CHAR(3) BINARY, c1 CHAR, vb VARBINARY(16), bn BINARY(4), bn1 BINARY,
		e ENUM('a''b', 'c,d', 'e\\f', 'g"h', 'trail  ') NOT NULL, s SET('x', 'y''z', 'w\'v'),
		j JSON, t TIME(2), t0 TIME, d DATE, dt DATETIME)`,
	`CREATE TABLE IF NOT EXISTS t1 (x INT)`,
	"CREATE TABLE `odd ``name` (`a``b` INT, `select` VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_bin, `Mixed` INT) DEFAULT CHARSET=latin1",
	`CREATE TABLE t2 (a SERIAL, b INT, c INT NOT NULL, UNIQUE KEY uc (c), KEY (b), UNIQUE (b, c), UNIQUE (b))
		ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
	// Charsets: national types, utf8 meaning utf8mb3, TEXT(n) sizing, charsets the TiDB
	// parser does not accept, MariaDB-only collations, binary charset.
	`CREATE TABLE t3 (a NATIONAL VARCHAR(10), b NCHAR(2), b2 NATIONAL CHAR(3), b3 NVARCHAR(4), c VARCHAR(5) CHARSET utf8,
		c2 VARCHAR(5) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin, d TEXT(300) CHARACTER SET latin1, e TEXT(100), f BLOB(70000),
		g LONG, h LONG VARBINARY, i CHARACTER VARYING(7), k MEDIUMINT, l INT1, m INT8 UNSIGNED ZEROFILL, n TINYTEXT,
		o LONGTEXT CHARACTER SET ascii, p VARCHAR(3) CHARACTER SET cp1251, q CHAR(2) CHARACTER SET ucs2 COLLATE ucs2_bin,
		r VARCHAR(4) COLLATE utf8mb4_uca1400_ai_ci, r2 VARCHAR(4) CHARACTER SET latin2 COLLATE latin2_bin,
		s TEXT CHARACTER SET binary, u CHAR(3) CHARACTER SET binary, v VARCHAR(3) COLLATE latin1_german2_ci,
		w VARCHAR(2) CHARACTER SET utf8mb4 COLLATE uca1400_ai_ci, x VARCHAR(2) CHARACTER SET ucs2 COLLATE uca1400_ai_ci,
		z SET('a', 'b') CHARACTER SET latin1, zz MEDIUMTEXT CHARACTER SET utf16, ze ENUM('Ünï', 'ß') CHARACTER SET utf8mb4) COLLATE latin1_swedish_ci`,
	`CREATE TABLE t4 LIKE t2`,
	// Types the TiDB parser does not know: spatial, MariaDB's UUID, INET4, INET6.
	`CREATE TABLE t5 (id INT, g GEOMETRY, pt POINT NOT NULL, ls LINESTRING, pg POLYGON, mp MULTIPOINT, ml MULTILINESTRING,
		mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION, u UUID DEFAULT uuid(), ip6 INET6, ip4 INET4, SPATIAL KEY (pt), KEY (u))`,
	// Every ALTER form, MariaDB IF [NOT] EXISTS included.
	`ALTER TABLE t1 ADD COLUMN IF NOT EXISTS extra INT AFTER name`,
	`ALTER TABLE t1 ADD COLUMN IF NOT EXISTS extra BIGINT`,
	`ALTER TABLE t1 ADD COLUMN first_col VARCHAR(3) FIRST, ADD COLUMN (x1 INT, x2 INT UNSIGNED)`,
	`ALTER TABLE t1 ADD x0 INT AFTER id`,
	`ALTER TABLE t1 DROP COLUMN IF EXISTS nope, DROP COLUMN x1, DROP x0`,
	`ALTER TABLE t1 MODIFY COLUMN qty INT NOT NULL AFTER id`,
	`ALTER TABLE t1 MODIFY COLUMN IF EXISTS nope INT`,
	`ALTER TABLE t1 MODIFY created DATETIME(6) FIRST`,
	`ALTER TABLE t1 CHANGE COLUMN name full_name VARCHAR(40) CHARACTER SET latin1 NOT NULL FIRST`,
	`ALTER TABLE t1 CHANGE COLUMN IF EXISTS nope nope2 INT`,
	`ALTER TABLE t1 CHANGE x2 X2 BIGINT`,
	`ALTER TABLE t1 RENAME COLUMN X2 TO x3`,
	`ALTER TABLE t1 ADD UNIQUE KEY uk_full (full_name, qty), ADD INDEX idx_price (price), ADD KEY (qty)`,
	`ALTER TABLE t1 ADD UNIQUE KEY IF NOT EXISTS uk_full (qty)`,
	`ALTER TABLE t1 ADD INDEX IF NOT EXISTS idx_price (qty)`,
	`ALTER TABLE t1 ADD UNIQUE (qty), ADD UNIQUE (qty, price)`,
	`ALTER TABLE t1 DROP INDEX IF EXISTS nope, DROP INDEX idx_price, DROP KEY qty_2`,
	`ALTER TABLE t1 DROP PRIMARY KEY, ADD PRIMARY KEY (id, x3)`,
	`ALTER TABLE t1 RENAME INDEX uk_full TO uk_name`,
	`ALTER TABLE t1 RENAME KEY uk_name TO uk_name2`,
	`ALTER TABLE t1 CONVERT TO CHARACTER SET latin1`,
	`ALTER TABLE t1 DEFAULT CHARSET=utf8mb4`,
	`ALTER TABLE t1 ADD COLUMN later_text TEXT, ADD COLUMN later_tiny TINYTEXT`,
	`ALTER TABLE t1 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
	`ALTER TABLE t1 CHARACTER SET = latin1, ADD COLUMN lt VARCHAR(3)`,
	`ALTER TABLE t1 COLLATE utf8mb4_general_ci`,
	`ALTER TABLE t1 ADD COLUMN after_collate VARCHAR(3)`,
	`ALTER TABLE t1 MODIFY j LONGTEXT`,
	`ALTER TABLE t1 MODIFY j JSON NOT NULL`,
	`ALTER TABLE t1 CHANGE j j2 JSON`,
	`ALTER TABLE t1 ADD COLUMN lj LONGTEXT CHECK (json_valid(lj))`,
	`ALTER TABLE t1 ALTER COLUMN qty SET DEFAULT 5, ALTER COLUMN x3 DROP DEFAULT`,
	`ALTER TABLE t1 ENGINE=InnoDB, ALGORITHM=COPY, LOCK=SHARED`,
	`ALTER TABLE t1 ADD COLUMN ser SERIAL`,
	`CREATE TABLE t11 (x INT, sdv INT SERIAL DEFAULT VALUE)`,
	`ALTER TABLE t1 ADD COLUMN newpk_ignored INT UNIQUE KEY, COMMENT 'x'`,
	`ALTER TABLE t1 FORCE`,
	`ALTER TABLE t1 RENAME TO t1_renamed`,
	`ALTER TABLE t1_renamed RENAME TO {db2}.t1_moved, ADD COLUMN moved_flag TINYINT`,
	`RENAME TABLE {db2}.t1_moved TO t1, t2 TO t2b, t2b TO t2c`,
	`RENAME TABLE IF EXISTS nope TO nope2, t2c TO t2`,
	"ALTER TABLE {db}.`t2` RENAME AS `{db2}`.`t2`",
	"RENAME TABLE `{db2}`.t2 TO {db}.t2",
	// MariaDB syntax around the table name and column attributes.
	`CREATE OR REPLACE TABLE t4 (z INT PRIMARY KEY, zz INT)`,
	`CREATE INDEX ix_z ON t4 (zz)`,
	`CREATE UNIQUE INDEX ux_z ON t4 (zz)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS ux_z ON t4 (z)`,
	`DROP INDEX ix_z ON t4`,
	`DROP INDEX IF EXISTS nope ON t4`,
	`ALTER TABLE t4 ADD COLUMN w INT INVISIBLE`,
	`ALTER TABLE t4 ADD COLUMN v VARCHAR(10) COMPRESSED`,
	`ALTER TABLE t4 ADD COLUMN gen INT AS (z + 1) PERSISTENT`,
	`ALTER TABLE t4 ADD COLUMN virt INT GENERATED ALWAYS AS (z * 2) VIRTUAL`,
	`ALTER TABLE t4 WAIT 5 ADD COLUMN waited INT`,
	`ALTER TABLE t4 NOWAIT ADD COLUMN nowaited INT`,
	`SET STATEMENT max_statement_time=60 FOR ALTER TABLE t4 ADD COLUMN stmt_col INT`,
	`ALTER ONLINE TABLE t4 ADD COLUMN online_col INT`,
	`ALTER IGNORE TABLE t4 ADD COLUMN ign INT`,
	`ALTER TABLE IF EXISTS nope ADD COLUMN a INT`,
	`ALTER TABLE IF EXISTS t4 ADD COLUMN ie INT`,
	`/*M!100100 ALTER TABLE t4 ADD COLUMN exec_comment INT */`,
	`/*!40101 ALTER TABLE t4 ADD COLUMN exec_comment2 INT */`,
	`ALTER TABLE t4 /* a comment */ ADD COLUMN -- another
		commented INT # and a third
		`,
	`ALTER TABLE t4 ADD COLUMN vis INT INVISIBLE DEFAULT 3 NOT NULL, ADD COLUMN after_vis INT AFTER vis`,
	// Keys when columns go.
	`CREATE TABLE t7 (a INT NOT NULL, b INT, c INT, KEY kab (a, b), UNIQUE KEY ua (a), KEY (c), KEY kc2 (c, b))`,
	`ALTER TABLE t7 DROP COLUMN a`,
	`ALTER TABLE t7 ADD UNIQUE (b), ADD UNIQUE (b), ADD KEY (c)`,
	`ALTER TABLE t7 DROP COLUMN c`,
	// Foreign keys create an index only when no key serves them.
	`CREATE TABLE parent (id INT PRIMARY KEY)`,
	`CREATE TABLE child (id INT, pid INT, qid INT, rid INT, KEY (rid), CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES parent (id),
		FOREIGN KEY (qid) REFERENCES parent (id), FOREIGN KEY (rid) REFERENCES parent (id))`,
	`ALTER TABLE child DROP FOREIGN KEY fk_p`,
	`ALTER TABLE child ADD CONSTRAINT fk_id FOREIGN KEY (id) REFERENCES parent (id)`,
	// CONVERT TO grows TEXT and long VARCHAR.
	`CREATE TABLE t8 (v VARCHAR(20000), t TINYTEXT, m MEDIUMTEXT, e ENUM('x'), b BLOB, j JSON) CHARSET latin1`,
	"SET STATEMENT sql_mode='' FOR ALTER TABLE t8 CONVERT TO CHARACTER SET utf8mb4",
	`ALTER TABLE t8 CONVERT TO CHARACTER SET cp1251 COLLATE cp1251_bin`,
	// (MariaDB's information_schema shows ENUM labels of ucs2 columns as '?': no ENUM here.)
	`ALTER TABLE t8 DROP COLUMN e, CONVERT TO CHARACTER SET ucs2`,
	// MariaDB table options the TiDB parser does not know.
	`CREATE TABLE t9 (a INT, b VARCHAR(3)) ENGINE=Aria PAGE_CHECKSUM=1 TRANSACTIONAL=1`,
	`ALTER TABLE t9 PAGE_CHECKSUM=0, ADD COLUMN c INT`,
	// More edges.
	`ALTER TABLE t1 RENAME COLUMN j2 TO j3`,
	`ALTER TABLE child ADD INDEX qid_idx (qid, id)`,
	`ALTER TABLE t4 ADD COLUMN IF NOT EXISTS (a1 INT, zz INT)`,
	`ALTER TABLE t4 DROP COLUMN nowaited, ADD COLUMN nowaited BIGINT`,
	`CREATE TABLE t12 (a INT) AS SELECT 1 AS b, 'x' AS c`,
	`CREATE TABLE t13 (id INT NOT NULL, v VARCHAR(20), e ENUM('', 'a') CHARACTER SET binary, UNIQUE KEY (id), KEY (v(5)), KEY kd (id DESC))`,
	`ALTER TABLE t13 CONVERT TO CHARACTER SET binary`,
	`ALTER TABLE t7 ADD COLUMN d INT FIRST, ADD COLUMN e INT AFTER d`,
	"ALTER TABLE t7 ADD COLUMN point INT, ADD COLUMN `uuid` UUID, ADD COLUMN invisible INT INVISIBLE, ADD COLUMN nchar NCHAR(3)",
	`ALTER TABLE t7 CHANGE COLUMN point uuid2 BIGINT NOT NULL, MODIFY invisible BLOB, ADD COLUMN point POINT NOT NULL`,
	`CREATE TABLE t14 (a INT, b VARCHAR(30), CONSTRAINT pk PRIMARY KEY (a), INDEX USING BTREE (b), FULLTEXT KEY ft (b))`,
	`ALTER TABLE t14 ADD COLUMN c TEXT CHARACTER SET latin1 COLLATE latin1_bin, ADD CONSTRAINT uq UNIQUE (b)`,
	`ALTER TABLE t14 MODIFY COLUMN a BIGINT`,
	`ALTER TABLE t14 CHANGE COLUMN b B VARCHAR(30)`,
	`ALTER TABLE t14 ADD CONSTRAINT chk CHECK (a > 0)`,
	`ALTER TABLE t14 DROP CONSTRAINT chk, DROP CONSTRAINT IF EXISTS nope`,
	`ALTER TABLE t14 DROP CONSTRAINT uq`,
	`CREATE TABLE t15 (ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, dt DATETIME(6) DEFAULT NOW(6),
		j JSON CHECK (JSON_TYPE(j) = 'OBJECT'), g INT AS (JSON_VALUE(j, '$.a')) STORED)`,
	`CREATE TABLE t16 (a VARCHAR(3)) CHARACTER SET utf8 COLLATE utf8_unicode_ci`,
	`CREATE TABLE {db2}.t17 LIKE t16`,
	`ALTER TABLE {db2}.t17 ADD COLUMN b TEXT`,
	`RENAME TABLE t16 TO {db2}.t16, {db2}.t17 TO t17`,
	`DROP TABLE {db2}.t16, t17`,
	`CREATE TABLE UpperT (A INT, b INT NULL, UNIQUE KEY (b, A))`,
	`ALTER TABLE UpperT ADD c INT, ADD UNIQUE KEY (c)`,
	`CREATE TABLE t18 (t TEXT, UNIQUE KEY (t))`,
	`ALTER TABLE t18 ADD COLUMN x INT, ALGORITHM=COPY`,
	`CREATE TABLE t20 (a CHAR(5) ASCII, b CHAR(5) UNICODE, c VARCHAR(5) CHARACTER SET utf32)`,
	`ALTER TABLE t20 DEFAULT CHARACTER SET ucs2, ADD d TINYTEXT`,
	`CREATE INDEX ix_long ON t20 (a) USING BTREE COMMENT 'x' ALGORITHM=INPLACE LOCK=NONE`,
	`CREATE SPATIAL INDEX ix_sp ON t7 (point)`,
	`ALTER TABLE child DROP FOREIGN KEY fk_id, ADD INDEX (id, pid)`,
	`CREATE TABLE c3 (id INT, pid INT, FOREIGN KEY (pid) REFERENCES parent (id))`,
	`ALTER TABLE c3 ADD UNIQUE (pid)`,
	`CREATE TABLE c4 (id INT, pid INT, FOREIGN KEY (pid) REFERENCES parent (id))`,
	`ALTER TABLE c4 ADD PRIMARY KEY (pid, id)`,
	`CREATE TABLE t21 (a VARCHAR(3) CHARACTER SET cp1251, b VARCHAR(3) AS (CAST(a AS CHAR(3) CHARACTER SET cp1251)) VIRTUAL,
		c VARCHAR(3) AS (CONVERT(a USING cp1251)) VIRTUAL, d VARCHAR(3) DEFAULT _cp1251'x')`,
	`CREATE TABLE t22 (a DATE, b DATE, c INT, PERIOD FOR p(a, b)) ENGINE=InnoDB`,
	`ALTER TABLE t22 ADD d VARCHAR(3) NOT NULL, ALTER COLUMN c SET DEFAULT 4`,
	`ALTER TABLE t22 DROP PERIOD FOR p`,
	`ALTER TABLE t22 ADD e DATE, ADD f DATE, ADD PERIOD FOR q (e, f)`,
	`ALTER TABLE t22 DROP PERIOD FOR q, ADD PERIOD FOR q2 (a, b)`,
	// Databases.
	`CREATE DATABASE {db3} CHARACTER SET latin1`,
	`CREATE TABLE {db3}.t (a VARCHAR(3))`,
	`ALTER DATABASE {db3} CHARACTER SET utf8mb4`,
	`CREATE TABLE {db3}.t2 (a VARCHAR(3), PRIMARY KEY (a))`,
	`CREATE SCHEMA IF NOT EXISTS {db3} CHARACTER SET cp1251`,
	`DROP DATABASE {db3}`,
	`CREATE DATABASE {db3} COLLATE latin1_german2_ci`,
	`CREATE TABLE {db3}.t3 (a VARCHAR(3))`,
	`CREATE OR REPLACE DATABASE {db3} CHARACTER SET cp1251`,
	`CREATE TABLE {db3}.t4 (a VARCHAR(3))`,
	`ALTER SCHEMA {db3} COLLATE utf8mb4_uca1400_ai_ci`,
	`CREATE TABLE {db3}.t5 (a VARCHAR(3))`,
	`DROP SCHEMA IF EXISTS {db3}`,
	`ALTER DATABASE CHARACTER SET latin1`,
	`CREATE TABLE t10 (a VARCHAR(3), b TEXT)`,
	`ALTER DATABASE {db} CHARACTER SET utf8mb4`,
	// Not schema-changing (views are not tables).
	`CREATE VIEW v1 AS SELECT id FROM parent`,
	`CREATE TRIGGER tr1 BEFORE INSERT ON parent FOR EACH ROW SET NEW.id = NEW.id + 1`,
	`TRUNCATE TABLE t7`,
	`DROP VIEW v1`,
	// Drops.
	`DROP TABLE IF EXISTS t5, nope /* generated by server */`,
	`DROP TABLE t9 WAIT 2`,
	"DROP TABLE `odd ``name`, {db}.t8",
	`DROP TABLE IF EXISTS {db2}.nope, t10 NOWAIT`,
}

func TestApplyMatchesServer(t *testing.T) {
	d := testenv.NewMySQLDatabase(t)
	other := testenv.NewMySQLDatabase(t)
	db3 := d.Name + "_x"
	admin := testenv.OpenMySQL(t, d.Root)
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS `" + db3 + "`") })
	include := func(name string) bool { return name == d.Name || name == other.Name || name == db3 }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := d.DB.Conn(ctx) // one session: the default database is d.Name throughout
	require.NoError(t, err)
	defer conn.Close()

	cat, err := Load(ctx, d.DB, include)
	require.NoError(t, err)
	file, pos := testenv.MasterPosition(t, d.DB)
	expand := strings.NewReplacer("{db}", d.Name, "{db2}", other.Name, "{db3}", db3)
	for i, step := range oracleSteps {
		stmt := expand.Replace(step)
		_, err := conn.ExecContext(ctx, stmt)
		require.NoError(t, err, "step %d on the server: %s", i, stmt)
		// Apply what the daemon sees: the statements as the binlog logged them.
		var logged []testenv.LoggedQuery
		logged, file, pos = testenv.BinlogQueries(t, d.DB, file, pos)
		mine := 0
		for _, q := range logged {
			// SHOW BINLOG EVENTS hides the schema of database statements (the event
			// carries the database they are about, the current one for ALTER DATABASE
			// without a name); other sessions' events go.
			if q.DB == "" && (strings.Contains(q.Statement, d.Name) || strings.Contains(q.Statement, other.Name) || q.Statement == stmt) {
				q.DB = d.Name
			}
			if q.DB != d.Name {
				continue
			}
			mine++
			next, applied, err := cat.Apply(q.DB, q.Statement)
			require.NoError(t, err, "step %d: %s", i, q.Statement)
			if notSchema(step) {
				require.Nil(t, applied, "step %d is not schema-changing: %s", i, q.Statement)
				require.Same(t, cat, next)
			} else {
				require.NotNil(t, applied, "step %d: %s", i, q.Statement)
				// The catalog is in step with the server throughout: nothing contradicts it.
				require.Empty(t, applied.Conflicts, "step %d: %s", i, q.Statement)
				for _, tc := range applied.Tables {
					require.Empty(t, tc.Unknown, "step %d: %s", i, q.Statement)
				}
			}
			cat = next
		}
		if mine == 0 {
			// Not logged (MariaDB skips some no-ops: CREATE TABLE IF NOT EXISTS of a table
			// that exists, ALTER TABLE IF EXISTS of a missing one): the daemon never sees
			// it, and the catalog must match the server without it.
			t.Logf("step %d was not logged: %s", i, stmt)
		}
		want, err := Load(ctx, d.DB, include)
		require.NoError(t, err)
		requireSameSchema(t, want, cat, "step %d: %s", i, stmt)
	}
	require.NotZero(t, cat.Len())
}

func notSchema(step string) bool {
	for _, p := range []string{"CREATE VIEW", "CREATE TRIGGER", "TRUNCATE", "DROP VIEW", "INSERT", "BEGIN"} {
		if strings.HasPrefix(step, p) {
			return true
		}
	}
	return false
}

// requireSameSchema compares two catalogs strictly: every table, column (name, order,
// type, unsigned, nullable, charset, precision, scale, FSP, elements) and key, and the
// databases' charsets.
func requireSameSchema(t *testing.T, want, got *Catalog, msgAndArgs ...any) {
	t.Helper()
	names := func(c *Catalog) []string {
		var out []string
		for _, tb := range c.Tables() {
			out = append(out, tb.DB+"."+tb.Name)
		}
		return out
	}
	require.Equal(t, names(want), names(got), msgAndArgs...)
	for i, w := range want.Tables() {
		requireSameTable(t, w, got.Tables()[i], msgAndArgs...)
	}
	require.Equal(t, want.Databases(), got.Databases(), msgAndArgs...)
}

// requireSameTable compares two tables strictly (see requireSameSchema); msgAndArgs
// starts with a format string.
func requireSameTable(t *testing.T, want, got *Table, msgAndArgs ...any) {
	t.Helper()
	w, g := *want, *got
	// Column by column first, so that a failure shows the column, not the table.
	wc, gc := w.Columns, g.Columns
	for j := range min(len(wc), len(gc)) {
		require.Equal(t, wc[j], gc[j], append([]any{"table " + w.Name + ": " + msgAndArgs[0].(string)}, msgAndArgs[1:]...)...)
	}
	w.Columns, g.Columns = nil, nil
	g.Indexes = slices.Clone(g.Indexes)
	for j := range g.Indexes {
		g.Indexes[j].Generated = false // information_schema does not show it
	}
	require.Equal(t, len(wc), len(gc), msgAndArgs...)
	require.Equal(t, w, g, msgAndArgs...)
}
