package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	d := testenv.NewMySQLDatabase(t)
	skipped := testenv.NewMySQLDatabase(t)
	d.Exec(t,
		`CREATE TABLE t (id INT UNSIGNED NOT NULL AUTO_INCREMENT, name VARCHAR(10) CHARACTER SET latin1, j JSON,
			k LONGTEXT, price DECIMAL(9,3), at TIMESTAMP(3) NULL, e ENUM('a''b', 'c\\d'),
			PRIMARY KEY (id), UNIQUE KEY u (name, id), KEY (price), CONSTRAINT k_json CHECK (json_valid(k)))`,
		`CREATE VIEW v AS SELECT id FROM t`,
		`CREATE SEQUENCE s`,
	)
	skipped.Exec(t, `CREATE TABLE other (a INT)`)
	ctx := context.Background()

	c, err := Load(ctx, d.DB, func(db string) bool { return db == d.Name })
	require.NoError(t, err)
	require.Equal(t, 1, c.Len(), "views and sequences are not base tables; other databases are not included")
	require.Equal(t, "id int unsigned, name varchar(10) null latin1, j json null, k longtext null utf8mb4, "+
		"price decimal(9,3) null, at timestamp null fsp=3, e enum null utf8mb4 {a'b|c\\d} | pk(id) | uk u(name,id) | ix price(price) | utf8mb4",
		describe(c.Table(d.Name, "t")), "a table-level json_valid check does not make a JSON column")
	require.Equal(t, []Database{{Name: d.Name, Charset: "utf8mb4"}}, c.Databases())
	s := c.Server()
	require.True(t, s.MariaDB)
	require.NotEmpty(t, s.Charset)
	read, err := ReadServer(ctx, d.DB)
	require.NoError(t, err)
	require.Equal(t, s, read)

	all, err := Load(ctx, d.DB, nil)
	require.NoError(t, err)
	require.NotNil(t, all.Table(skipped.Name, "other"))
	require.NotNil(t, all.Table(d.Name, "t"))
	for _, tb := range all.Tables() {
		require.NotContains(t, []string{"mysql", "information_schema", "performance_schema", "sys"}, tb.DB)
	}

	none, err := Load(ctx, d.DB, func(string) bool { return false })
	require.NoError(t, err)
	require.Zero(t, none.Len())
	require.Empty(t, none.Databases())
}

// TestHistory follows the two ways the daemon meets DDL without binlog column names: a
// first start at the earliest binlog position (an empty catalog and every CREATE and
// ALTER since), and a restart from an old checkpoint (a catalog persisted before some
// ALTERs). Either way, at each point of the binlog the catalog must hold the columns the
// server had then.
func TestHistory(t *testing.T) {
	t.Parallel()
	root := testenv.OpenMySQL(t, testenv.MySQLAddr(t))
	startFile, startPos := testenv.MasterPosition(t, root)
	d := testenv.NewMySQLDatabase(t) // its CREATE DATABASE is in the binlog followed
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	include := func(db string) bool { return db == d.Name }

	steps := []string{
		`CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(20), total DECIMAL(8,2))`,
		`INSERT INTO orders VALUES (1, 'a', 1.50)`,
		`ALTER TABLE orders ADD COLUMN status ENUM('new', 'paid') NOT NULL DEFAULT 'new' AFTER id`,
		`INSERT INTO orders VALUES (2, 'paid', 'b', 2.50)`,
		`ALTER TABLE orders DROP COLUMN customer, ADD COLUMN customer_id BIGINT UNSIGNED FIRST`,
		`CREATE TABLE items (order_id INT, n INT, sku VARCHAR(10), PRIMARY KEY (order_id, n))`,
		`ALTER TABLE orders MODIFY total DECIMAL(12,4), CHANGE status state VARCHAR(8) CHARACTER SET latin1`,
		`RENAME TABLE items TO order_lines`,
		`ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS qty SMALLINT UNSIGNED AFTER n, DROP PRIMARY KEY, ADD PRIMARY KEY (order_id, sku)`,
		`INSERT INTO order_lines VALUES (1, 1, 3, 'x')`,
		`CREATE OR REPLACE TABLE orders (id BIGINT PRIMARY KEY, placed DATETIME(6))`,
		`DROP TABLE order_lines`,
	}
	type point struct {
		file string
		pos  uint32
		want *Catalog
	}
	var points []point
	for _, s := range steps {
		d.Exec(t, s)
		f, p := testenv.MasterPosition(t, root)
		want, err := Load(ctx, d.DB, include)
		require.NoError(t, err)
		points = append(points, point{f, p, want})
	}
	queries, _, _ := testenv.BinlogQueries(t, root, startFile, startPos)
	var mine []testenv.LoggedQuery
	for _, q := range queries {
		if q.DB == "" && strings.Contains(q.Statement, d.Name) {
			q.DB = d.Name // database statements: the event's schema is the database
		}
		if q.DB == d.Name {
			mine = append(mine, q)
		}
	}
	require.NotEmpty(t, mine)

	// replay applies the queries from index from on, checking the catalog at each point
	// after the position it starts at.
	server, err := ReadServer(ctx, root)
	require.NoError(t, err)
	replay := func(cat *Catalog, from int, checkpointAt int) (*Catalog, []byte, int) {
		var checkpoint []byte
		checked := 0
		qi := from
		for pi, p := range points {
			for qi < len(mine) && !after(mine[qi], p.file, p.pos) {
				next, _, err := cat.Apply(mine[qi].DB, mine[qi].Statement)
				require.NoError(t, err, mine[qi].Statement)
				cat = next
				qi++
			}
			if from > 0 && after(mine[from-1], p.file, p.pos) {
				continue // before the restart
			}
			requireSameSchema(t, p.want, cat, fmt.Sprintf("after step %d: %s", pi, steps[pi]))
			checked++
			if pi == checkpointAt {
				data, err := json.Marshal(cat)
				require.NoError(t, err)
				checkpoint = data
			}
		}
		return cat, checkpoint, checked
	}

	// A first start at the earliest position: an empty catalog, every statement since.
	_, checkpoint, checked := replay(NewCatalog().WithServer(server), 0, 2)
	require.NotNil(t, checkpoint)
	require.Equal(t, len(steps), checked)

	// A restart from the checkpoint taken after step 2, before the ALTERs that follow.
	var restored Catalog
	require.NoError(t, json.Unmarshal(checkpoint, &restored))
	resumeAt := 0
	for resumeAt < len(mine) && !after(mine[resumeAt], points[2].file, points[2].pos) {
		resumeAt++
	}
	final, _, checked := replay(&restored, resumeAt, -1)
	require.Equal(t, len(steps)-2, checked, "every point from the checkpoint on")
	requireSameSchema(t, points[len(points)-1].want, final, "at the end")
}

// after reports whether query q was logged after position file:pos.
func after(q testenv.LoggedQuery, file string, pos uint32) bool {
	return q.File > file || (q.File == file && q.EndPos > pos)
}
