package schema

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestApplyConflicts: the binlog is the authority. A statement that contradicts the
// catalog brings it into the state the statement implies, says so in Applied.Conflicts,
// and marks a table unknown when the server's table had a column the catalog's lacks.
func TestApplyConflicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mariadb bool // the catalog follows a MariaDB server
		setup   []string
		stmt    string
		// tables are describe() of the tables to check ("<nil>": must not exist).
		tables map[string]string
		// unknown are the tables that must be marked unknown after the statement, with a
		// part of the reason; every other table in tables must be known.
		unknown map[string]string
		// conflicts are Applied.Conflicts, exactly.
		conflicts []string
	}{
		// CREATE TABLE
		{name: "create of a known table replaces it", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `CREATE TABLE t (b INT)`,
			tables:    map[string]string{"d.t": "b int null | utf8mb4"},
			conflicts: []string{"CREATE TABLE d.t replaced the known d.t"}},
		{name: "create or replace is no conflict", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:   `CREATE OR REPLACE TABLE t (b INT)`,
			tables: map[string]string{"d.t": "b int null | utf8mb4"}},
		{name: "MySQL: create if not exists keeps the known table", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:   `CREATE TABLE IF NOT EXISTS t (b INT)`,
			tables: map[string]string{"d.t": "a int null | utf8mb4"}},
		{name: "MariaDB: a logged create if not exists created the table", mariadb: true, setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `CREATE TABLE IF NOT EXISTS t (b INT)`,
			tables:    map[string]string{"d.t": "b int null | utf8mb4"},
			conflicts: []string{"CREATE TABLE IF NOT EXISTS d.t replaced the known d.t (MariaDB logs it only when the table did not exist)"}},
		{name: "create like a table the catalog does not know", setup: []string{`CREATE TABLE u (a INT)`},
			stmt:    `CREATE TABLE u LIKE nope`,
			tables:  map[string]string{"d.u": " | utf8mb4"},
			unknown: map[string]string{"d.u": "CREATE TABLE d.u LIKE d.nope: the catalog did not know d.nope"},
			conflicts: []string{"CREATE TABLE d.u replaced the known d.u",
				"CREATE TABLE d.u LIKE d.nope: the catalog did not know d.nope; d.u is marked unknown"}},
		{name: "create like an unknown table", setup: []string{`ALTER TABLE src ADD a INT`},
			stmt:    `CREATE TABLE o.u LIKE src`,
			tables:  map[string]string{"o.u": "a int null | utf8mb4"},
			unknown: map[string]string{"o.u": "created LIKE d.src, whose definition is unknown (ALTER TABLE d.src: altered without a known definition"}},
		{name: "create ... select", stmt: `CREATE TABLE u SELECT 1 AS a`,
			tables:  map[string]string{"d.u": " | utf8mb4"},
			unknown: map[string]string{"d.u": "CREATE TABLE ... SELECT"}},
		{name: "a full create makes an unknown table known", setup: []string{`ALTER TABLE t ADD a INT`},
			stmt:   `CREATE TABLE t (b INT)`,
			tables: map[string]string{"d.t": "b int null | utf8mb4"},
			// The catalog knew a table t (if not its columns): the create contradicts it.
			conflicts: []string{"CREATE TABLE d.t replaced the known d.t"}},

		// RENAME TABLE, ALTER TABLE ... RENAME TO
		{name: "rename onto a known table replaces it", setup: []string{`CREATE TABLE p (id INT)`, `CREATE TABLE q (x TEXT)`},
			stmt:      `RENAME TABLE p TO q`,
			tables:    map[string]string{"d.p": "<nil>", "d.q": "id int null | utf8mb4"},
			conflicts: []string{"RENAME TABLE d.p TO d.q replaced the known d.q"}},
		{name: "rename of a table the catalog does not know", setup: []string{`CREATE TABLE a (x INT)`},
			stmt:      `RENAME TABLE nope TO o.b, a TO c`,
			tables:    map[string]string{"o.b": " | latin1", "d.c": "x int null | utf8mb4"},
			unknown:   map[string]string{"o.b": "RENAME TABLE d.nope TO o.b: the catalog did not know d.nope"},
			conflicts: []string{"RENAME TABLE d.nope TO o.b: the catalog did not know d.nope; o.b is marked unknown"}},
		{name: "rename of an unknown table onto a known one", setup: []string{`CREATE TABLE b (x INT)`},
			stmt:    `RENAME TABLE nope TO b`,
			tables:  map[string]string{"d.b": " | utf8mb4"},
			unknown: map[string]string{"d.b": "the catalog did not know d.nope"},
			conflicts: []string{"RENAME TABLE d.nope TO d.b: the catalog did not know d.nope; d.b is marked unknown",
				"RENAME TABLE d.nope TO d.b replaced the known d.b"}},
		{name: "MariaDB rename if exists of an unknown table changes nothing", setup: []string{`CREATE TABLE b (x INT)`},
			stmt:   `RENAME TABLE IF EXISTS nope TO b`,
			tables: map[string]string{"d.b": "x int null | utf8mb4", "d.nope": "<nil>"}},
		{name: "rename carries the unknown mark", setup: []string{`ALTER TABLE a ADD x INT`},
			stmt:    `RENAME TABLE a TO b`,
			tables:  map[string]string{"d.a": "<nil>", "d.b": "x int null | utf8mb4"},
			unknown: map[string]string{"d.b": "ALTER TABLE d.a: altered without a known definition"}},
		{name: "alter rename onto a known table replaces it", setup: []string{`CREATE TABLE a (x INT)`, `CREATE TABLE o.b (y INT)`},
			stmt:      `ALTER TABLE a RENAME TO o.b, ADD z INT`,
			tables:    map[string]string{"d.a": "<nil>", "o.b": "x int null, z int null | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.a RENAME TO o.b replaced the known o.b"}},

		// DROP
		{name: "drop of an unknown table changes nothing", setup: []string{`CREATE TABLE a (x INT)`},
			stmt:   `DROP TABLE nope, a`,
			tables: map[string]string{"d.a": "<nil>"}},

		// ALTER TABLE, CREATE INDEX, DROP INDEX of a table the catalog does not know
		{name: "alter of a table the catalog does not know", stmt: `ALTER TABLE nope ADD c INT, DROP COLUMN x, MODIFY y INT`,
			tables:    map[string]string{"d.nope": "c int null, y int null | utf8mb4"},
			unknown:   map[string]string{"d.nope": "ALTER TABLE d.nope: altered without a known definition (the catalog did not know the table)"},
			conflicts: []string{"ALTER TABLE d.nope: altered without a known definition (the catalog did not know the table); d.nope is marked unknown"}},
		{name: "MariaDB alter if exists is logged only when the table exists", stmt: `ALTER TABLE IF EXISTS o.nope ADD c VARCHAR(3)`,
			tables:    map[string]string{"o.nope": "c varchar(3) null latin1 | latin1"},
			unknown:   map[string]string{"o.nope": "altered without a known definition"},
			conflicts: []string{"ALTER TABLE o.nope: altered without a known definition (the catalog did not know the table); o.nope is marked unknown"}},
		{name: "alter and rename of a table the catalog does not know", stmt: `ALTER TABLE o.x RENAME TO o.y, ADD c INT`,
			tables:    map[string]string{"o.x": "<nil>", "o.y": "c int null | latin1"},
			unknown:   map[string]string{"o.y": "ALTER TABLE o.x: altered without a known definition"},
			conflicts: []string{"ALTER TABLE o.x: altered without a known definition (the catalog did not know the table); o.x is marked unknown"}},
		{name: "create index on a table the catalog does not know", stmt: `CREATE INDEX i ON nope (a)`,
			tables:    map[string]string{"d.nope": " | utf8mb4"},
			unknown:   map[string]string{"d.nope": "CREATE INDEX i ON d.nope: altered without a known definition"},
			conflicts: []string{"CREATE INDEX i ON d.nope: altered without a known definition (the catalog did not know the table); d.nope is marked unknown"}},
		{name: "drop index on a table the catalog does not know", stmt: `DROP INDEX IF EXISTS i ON nope`,
			tables:    map[string]string{"d.nope": " | utf8mb4"},
			unknown:   map[string]string{"d.nope": "DROP INDEX i ON d.nope: altered without a known definition"},
			conflicts: []string{"DROP INDEX i ON d.nope: altered without a known definition (the catalog did not know the table); d.nope is marked unknown"}},
		{name: "an unknown table stays unknown and records no conflicts", setup: []string{`ALTER TABLE t ADD a INT`},
			stmt:    `ALTER TABLE t ADD a BIGINT, DROP COLUMN nope, MODIFY nope2 INT, ADD b INT AFTER nope3, ADD KEY (nope4)`,
			tables:  map[string]string{"d.t": "a bigint null, nope2 int null, b int null | utf8mb4"},
			unknown: map[string]string{"d.t": "ALTER TABLE d.t: altered without a known definition"}},

		// Columns
		{name: "add of a known column replaces it, last by default", setup: []string{`CREATE TABLE t (a INT, b INT, c INT, PRIMARY KEY (a))`},
			stmt:      `ALTER TABLE t ADD COLUMN a BIGINT NULL`,
			tables:    map[string]string{"d.t": "b int null, c int null, a bigint | pk(a) | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t ADD COLUMN a: the catalog already had column a; its definition was replaced"}},
		{name: "add of a known column moves it to the stated position", setup: []string{`CREATE TABLE t (a INT, b INT, c INT)`},
			stmt:   `ALTER TABLE t ADD COLUMN C VARCHAR(3) FIRST, ADD b BIGINT AFTER a`,
			tables: map[string]string{"d.t": "C varchar(3) null utf8mb4, a int null, b bigint null | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t ADD COLUMN C: the catalog already had column c; its definition was replaced",
				"ALTER TABLE d.t ADD COLUMN b: the catalog already had column b; its definition was replaced"}},
		{name: "add of known columns in a list", setup: []string{`CREATE TABLE t (a INT, b INT)`},
			stmt:      `ALTER TABLE t ADD COLUMN (a TEXT, z INT)`,
			tables:    map[string]string{"d.t": "b int null, a text null utf8mb4, z int null | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t ADD COLUMN a: the catalog already had column a; its definition was replaced"}},
		{name: "add if not exists of a known column is no conflict", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:   `ALTER TABLE t ADD COLUMN IF NOT EXISTS a BIGINT`,
			tables: map[string]string{"d.t": "a int null | utf8mb4"}},
		{name: "drop of a missing column is ignored", setup: []string{`CREATE TABLE t (a INT, b INT)`},
			stmt:      `ALTER TABLE t DROP COLUMN nope, DROP COLUMN IF EXISTS nope2, DROP b`,
			tables:    map[string]string{"d.t": "a int null | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t DROP COLUMN nope: the catalog did not know the column (ignored)"}},
		{name: "modify of a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `ALTER TABLE t MODIFY c BIGINT, ADD d INT`,
			tables:    map[string]string{"d.t": "a int null, c bigint null, d int null | utf8mb4"},
			unknown:   map[string]string{"d.t": "ALTER TABLE d.t MODIFY c: the catalog did not know column c"},
			conflicts: []string{"ALTER TABLE d.t MODIFY c: the catalog did not know column c; d.t is marked unknown"}},
		{name: "modify if exists of a missing column is no conflict", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:   `ALTER TABLE t MODIFY IF EXISTS c BIGINT`,
			tables: map[string]string{"d.t": "a int null | utf8mb4"}},
		{name: "change of a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT, b INT)`},
			stmt:      `ALTER TABLE t CHANGE c b BIGINT FIRST`,
			tables:    map[string]string{"d.t": "b bigint null, a int null | utf8mb4"},
			unknown:   map[string]string{"d.t": "ALTER TABLE d.t CHANGE c b: the catalog did not know column c"},
			conflicts: []string{"ALTER TABLE d.t CHANGE c b: the catalog did not know column c; d.t is marked unknown"}},
		{name: "rename of a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `ALTER TABLE t RENAME COLUMN c TO d`,
			tables:    map[string]string{"d.t": "a int null | utf8mb4"},
			unknown:   map[string]string{"d.t": "ALTER TABLE d.t RENAME COLUMN c TO d: the catalog did not know column c"},
			conflicts: []string{"ALTER TABLE d.t RENAME COLUMN c TO d: the catalog did not know column c; d.t is marked unknown"}},
		{name: "change onto a known column replaces it", setup: []string{`CREATE TABLE t (a INT, b INT, c INT, KEY kb (b), KEY ka (a))`},
			stmt:      `ALTER TABLE t CHANGE a b BIGINT`,
			tables:    map[string]string{"d.t": "b bigint null, c int null | ix ka(b) | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t CHANGE a b replaced the known column b"}},
		{name: "rename onto a known column replaces it", setup: []string{`CREATE TABLE t (a INT, b TEXT, c INT)`},
			stmt:      `ALTER TABLE t RENAME COLUMN c TO b`,
			tables:    map[string]string{"d.t": "a int null, b int null | utf8mb4"},
			conflicts: []string{"ALTER TABLE d.t RENAME COLUMN c TO b replaced the known column b"}},
		{name: "after a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT, b INT)`},
			stmt:      `ALTER TABLE t ADD c INT AFTER nope, MODIFY a INT AFTER nope`,
			tables:    map[string]string{"d.t": "b int null, c int null, a int null | utf8mb4"},
			unknown:   map[string]string{"d.t": "ALTER TABLE d.t places column c AFTER nope: the catalog did not know column nope"},
			conflicts: []string{"ALTER TABLE d.t places column c AFTER nope: the catalog did not know column nope; d.t is marked unknown"}},

		// Keys
		{name: "a key over a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `ALTER TABLE t ADD UNIQUE KEY u (a), ADD KEY k (a, nope)`,
			tables:    map[string]string{"d.t": "a int null | uk u(a) | utf8mb4"},
			unknown:   map[string]string{"d.t": "ALTER TABLE d.t adds a key over column nope: the catalog did not know the column"},
			conflicts: []string{"ALTER TABLE d.t adds a key over column nope: the catalog did not know the column; d.t is marked unknown"}},
		{name: "create index over a missing column marks the table unknown", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:      `CREATE UNIQUE INDEX u ON t (nope)`,
			tables:    map[string]string{"d.t": "a int null | utf8mb4"},
			unknown:   map[string]string{"d.t": "CREATE INDEX u ON d.t adds a key over column nope"},
			conflicts: []string{"CREATE INDEX u ON d.t adds a key over column nope: the catalog did not know the column; d.t is marked unknown"}},
		{name: "key clashes and missing keys are skipped", setup: []string{`CREATE TABLE t (a INT, b INT, KEY k (a))`},
			stmt:   `ALTER TABLE t ADD KEY k (b), ADD UNIQUE KEY k (b), DROP INDEX nope, RENAME INDEX nope2 TO nope3, DROP PRIMARY KEY`,
			tables: map[string]string{"d.t": "a int null, b int null | ix k(a) | utf8mb4"}},
		{name: "drop index of a missing key is skipped", setup: []string{`CREATE TABLE t (a INT)`},
			stmt:   `DROP INDEX nope ON t`,
			tables: map[string]string{"d.t": "a int null | utf8mb4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := NewCatalog().WithServer(Server{MariaDB: tc.mariadb, Charset: "utf8mb4", ExplicitDefaultsForTimestamp: true}).
				WithDatabase("d", "utf8mb4").WithDatabase("o", "latin1")
			for _, s := range tc.setup {
				next, _, err := base.Apply("d", s)
				require.NoError(t, err, s)
				base = next
			}
			before, err := base.MarshalJSON()
			require.NoError(t, err)

			next, applied, err := base.Apply("d", tc.stmt)
			require.NoError(t, err, "a statement that contradicts the catalog is no error")
			require.NotNil(t, applied)
			require.Equal(t, tc.conflicts, applied.Conflicts)
			for name, want := range tc.tables {
				db, tn, _ := strings.Cut(name, ".")
				got := next.Table(db, tn)
				require.Equal(t, want, describe(got), name)
				if got == nil {
					continue
				}
				if reason, ok := tc.unknown[name]; ok {
					require.Contains(t, got.Unknown, reason, name)
				} else {
					require.Empty(t, got.Unknown, name)
				}
			}
			// Applied says which tables the statement left unknown.
			for _, ch := range applied.Tables {
				name := ch.Table
				if ch.NewName != nil {
					name = *ch.NewName
				}
				got := next.Table(name.DB, name.Name)
				if ch.Op == OpDrop {
					require.Nil(t, got)
					require.Empty(t, ch.Unknown)
					continue
				}
				require.NotNil(t, got, name.String())
				require.Equal(t, got.Unknown, ch.Unknown, name.String())
				_, wantUnknown := tc.unknown[name.String()]
				require.Equal(t, wantUnknown, ch.Unknown != "", name.String())
			}
			after, err := base.MarshalJSON()
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after), "Apply must leave its receiver unchanged")
		})
	}
}

// TestApplyUnknownLifecycle: a table marked unknown stays so across ALTER and RENAME
// (the mark, with the reason of the statement that lost track of the table, goes with
// the name), a copy of it is unknown, and a full CREATE TABLE makes it known again.
func TestApplyUnknownLifecycle(t *testing.T) {
	t.Parallel()
	const lost = "ALTER TABLE d.t: altered without a known definition (the catalog did not know the table)"
	c := catalogFrom(t)
	steps := []struct {
		stmt   string
		table  string // db.name to check
		reason string // its Unknown, exactly ("" for known); "*" for any non-empty
	}{
		{`ALTER TABLE t ADD a INT`, "d.t", lost},
		{`ALTER TABLE t ADD b INT, DROP COLUMN a, MODIFY nope INT`, "d.t", lost},
		{`CREATE INDEX i ON t (b)`, "d.t", lost},
		{`RENAME TABLE t TO o.t2`, "o.t2", lost},
		{`ALTER TABLE o.t2 RENAME TO t3`, "d.t3", lost},
		{`CREATE TABLE copy LIKE t3`, "d.copy", "created LIKE d.t3, whose definition is unknown (" + lost + ")"},
		{`CREATE TABLE t3 (x INT)`, "d.t3", ""},
		{`CREATE TABLE copy2 LIKE t3`, "d.copy2", ""},
		{`ALTER TABLE copy ADD y INT`, "d.copy", "*"},
		{`CREATE OR REPLACE TABLE copy (y INT)`, "d.copy", ""},
	}
	for _, s := range steps {
		next, applied, err := c.Apply("d", s.stmt)
		require.NoError(t, err, s.stmt)
		require.NotNil(t, applied, s.stmt)
		db, name, _ := strings.Cut(s.table, ".")
		got := next.Table(db, name)
		require.NotNil(t, got, s.stmt)
		if s.reason == "*" {
			require.NotEmpty(t, got.Unknown, s.stmt)
		} else {
			require.Equal(t, s.reason, got.Unknown, s.stmt)
		}
		c = next
	}
	require.Equal(t, "b int null | ix i(b) | utf8mb4", describe(catalogFrom(t, `ALTER TABLE t ADD b INT`, `CREATE INDEX i ON t (b)`).Table("d", "t")),
		"an unknown table keeps what the statements say, as a best guess")
}
