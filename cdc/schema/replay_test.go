package schema

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

// replayScript is the DDL of cdc/ddl_test.go's ddlScript: a table taken through every
// kind of DDL, renamed, copied, dropped and created anew with another shape.
var replayScript = []string{
	"CREATE TABLE p (id INT PRIMARY KEY, a VARCHAR(10), b INT)",
	"ALTER TABLE p ADD COLUMN c VARCHAR(5) DEFAULT '7' AFTER a",
	"ALTER TABLE p DROP COLUMN b",
	"ALTER TABLE p RENAME COLUMN a TO alpha",
	"ALTER TABLE p MODIFY c BIGINT UNSIGNED",
	"RENAME TABLE p TO q",
	"CREATE TABLE r LIKE q",
	"DROP TABLE q",
	"CREATE TABLE q (id INT PRIMARY KEY, other TEXT, e ENUM('x','y'))",
	"ALTER TABLE q ADD COLUMN IF NOT EXISTS e2 SET('m','n') DEFAULT 'm,n'",
}

// replayStep is one statement of replayScript as the server logged it, and the schema
// information_schema showed after it.
type replayStep struct {
	stmt   string
	logged []testenv.LoggedQuery
	want   *Catalog
}

// TestApplyReplaysOntoNewerCatalog: the daemon's fresh start. Its catalog is loaded from
// information_schema after all the DDL (today's q and r), and the binlog is replayed
// from an older position. Every logged statement succeeded on the server, so Apply must
// follow each one, and the catalog must match the server at every step.
func TestApplyReplaysOntoNewerCatalog(t *testing.T) {
	d := testenv.NewMySQLDatabase(t)
	include := func(name string) bool { return name == d.Name }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := d.DB.Conn(ctx) // one session: the default database is d.Name throughout
	require.NoError(t, err)
	defer conn.Close()

	file, pos := testenv.MasterPosition(t, d.DB)
	var steps []replayStep
	for _, stmt := range replayScript {
		_, err := conn.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
		var logged, mine []testenv.LoggedQuery
		logged, file, pos = testenv.BinlogQueries(t, d.DB, file, pos)
		for _, q := range logged {
			if q.DB == d.Name {
				mine = append(mine, q)
			}
		}
		require.Len(t, mine, 1, "the server logs %s once", stmt)
		want, err := Load(ctx, d.DB, include)
		require.NoError(t, err)
		steps = append(steps, replayStep{stmt: stmt, logged: mine, want: want})
	}
	final := steps[len(steps)-1].want
	require.Equal(t, []string{"q", "r"}, tableNames(final))
	db := d.Name
	qualified := func(name string) string { return db + "." + name }

	t.Run("from before CREATE TABLE p", func(t *testing.T) {
		cat, conflicts := final, []string(nil)
		for i, s := range steps {
			cat, conflicts = replay(t, cat, s, conflicts)
			requireReplayed(t, s.want, final, cat, db, nil, "step %d: %s", i, s.stmt)
		}
		requireSameSchema(t, final, cat, "the end")
		// The catalog's q and r were today's, not the ones the statements found.
		require.Equal(t, []string{
			"RENAME TABLE " + qualified("p") + " TO " + qualified("q") + " replaced the known " + qualified("q"),
			"CREATE TABLE " + qualified("r") + " replaced the known " + qualified("r"),
		}, conflicts)
	})

	t.Run("from after CREATE TABLE p", func(t *testing.T) {
		// The binlog starts after p's CREATE: p's columns cannot be known, nor those of
		// the q it becomes and of r, created LIKE it. The q created anew is known again.
		unknown := [][]string{
			{"p"}, {"p"}, {"p"}, {"p"}, // the ALTERs of p
			{"q"},               // RENAME TABLE p TO q
			{"q", "r"},          // CREATE TABLE r LIKE q
			{"r"}, {"r"}, {"r"}, // DROP TABLE q, CREATE TABLE q, ALTER TABLE q
		}
		cat, conflicts := final, []string(nil)
		for i, s := range steps[1:] {
			cat, conflicts = replay(t, cat, s, conflicts)
			requireReplayed(t, s.want, final, cat, db, unknown[i], "step %d: %s", i+1, s.stmt)
		}
		require.Equal(t, []string{
			"ALTER TABLE " + qualified("p") + ": altered without a known definition (the catalog did not know the table); " + qualified("p") + " is marked unknown",
			"RENAME TABLE " + qualified("p") + " TO " + qualified("q") + " replaced the known " + qualified("q"),
			"CREATE TABLE " + qualified("r") + " replaced the known " + qualified("r"),
		}, conflicts)
		require.Equal(t, "created LIKE "+qualified("q")+", whose definition is unknown (ALTER TABLE "+qualified("p")+
			": altered without a known definition (the catalog did not know the table))", cat.Table(db, "r").Unknown)
		requireSameTable(t, final.Table(db, "q"), cat.Table(db, "q"), "the end")
	})
}

// replay applies a step's logged statement to cat and collects its conflicts.
func replay(t *testing.T, cat *Catalog, s replayStep, conflicts []string) (*Catalog, []string) {
	t.Helper()
	for _, q := range s.logged {
		next, applied, err := cat.Apply(q.DB, q.Statement)
		require.NoError(t, err, q.Statement)
		require.NotNil(t, applied, q.Statement)
		for _, ch := range applied.Tables {
			name := ch.Table
			if ch.NewName != nil {
				name = *ch.NewName
			}
			if got := next.Table(name.DB, name.Name); got != nil {
				require.Equal(t, got.Unknown, ch.Unknown, "Applied says whether %s is unknown", name)
			}
		}
		conflicts = append(conflicts, applied.Conflicts...)
		cat = next
	}
	return cat, conflicts
}

// requireReplayed checks a catalog replayed from an older position against the server
// (want): every table of the server is there, equal to it, or marked unknown if it is
// one of unknown (names in database db, which must be unknown); every other table is one the replay has not reached yet, still the very
// table of the start catalog (final).
func requireReplayed(t *testing.T, want, final, got *Catalog, db string, unknown []string, msgAndArgs ...any) {
	t.Helper()
	for _, tb := range got.Tables() {
		if tb.Unknown != "" {
			require.Contains(t, unknown, tb.Name, msgAndArgs...)
		}
		if want.Table(tb.DB, tb.Name) == nil {
			require.Same(t, final.Table(tb.DB, tb.Name), tb, msgAndArgs...)
		}
	}
	for _, w := range want.Tables() {
		g := got.Table(w.DB, w.Name)
		require.NotNil(t, g, msgAndArgs...)
		if g.Unknown == "" {
			requireSameTable(t, w, g, msgAndArgs...)
		}
	}
	for _, name := range unknown {
		g := got.Table(db, name)
		require.NotNil(t, g, msgAndArgs...)
		require.NotEmpty(t, g.Unknown, msgAndArgs...)
	}
	require.Equal(t, want.Databases(), got.Databases(), msgAndArgs...)
}

func tableNames(c *Catalog) []string {
	var out []string
	for _, tb := range c.Tables() {
		out = append(out, tb.Name)
	}
	return out
}
