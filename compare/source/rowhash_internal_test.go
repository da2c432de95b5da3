package source

import (
	"context"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compare/mapping"
	"github.com/strangler/strangler/internal/testenv"
)

// The same-engine row hash is the CRC32 of the decimal text of the row text's CRC32 (the
// text is built once): the hashes of the server must be exactly that, computed here in Go from
// the row text the server builds.
func TestRowHashIsCRC32OfCRC32(t *testing.T) {
	t.Parallel()
	my := testenv.NewMySQLDatabase(t)
	my.Exec(t, "CREATE TABLE h (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NULL, amount DECIMAL(8,2) NOT NULL, at DATETIME(6) NULL)",
		"INSERT INTO h SELECT seq, IF(seq % 3 = 0, NULL, REPEAT('é', seq % 7)), seq / 7, IF(seq % 4 = 0, NULL, '2024-01-01' + INTERVAL seq SECOND) FROM seq_1_to_50")
	ctx, db, p := openPlan(t, my, mapping.Table{Source: "h", Target: "h"})
	require.Equal(t, "crc32", p.Digest)
	require.Equal(t, 1, strings.Count(p.Source.rowHash, "CONCAT_WS("), "the text is built once: %s", p.Source.rowHash)

	got := map[string]uint64{}
	require.NoError(t, p.Source.RowHashes(ctx, Range{}, func(k string, h uint64) error { got[k] = h; return nil }))
	require.Len(t, got, 50)

	expr := p.Source.rowHash
	text := strings.TrimSuffix(strings.TrimPrefix(expr, "CRC32(CRC32("), "))")
	require.NotEqual(t, expr, text, "unexpected row hash %s", expr)
	rows, err := db.sql.QueryContext(ctx, "SELECT id, "+text+" FROM h")
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var b []byte
		require.NoError(t, rows.Scan(&id, &b))
		inner := strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10)
		require.Equal(t, uint64(crc32.ChecksumIEEE([]byte(inner))), got[id], "row %s", id)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 50, n)
}

// Columns whose stored text is already canonical are hashed as they are, without a
// conversion per column; other pairs keep their canonical conversions.
func TestRawColumnsWhereTextIsCanonical(t *testing.T) {
	t.Parallel()
	my := testenv.NewMySQLDatabase(t)
	my.Exec(t,
		`CREATE TABLE r1 (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb3 NOT NULL, price DECIMAL(8,2) NOT NULL,
			at DATETIME(3) NOT NULL, d DATE NOT NULL, tag VARBINARY(4) NOT NULL, wide DECIMAL(8,2) NOT NULL, fine DATETIME(3) NOT NULL,
			l1 VARCHAR(5) CHARACTER SET latin1 NOT NULL)`,
		`CREATE TABLE r2 (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name TEXT CHARACTER SET utf8mb4 NOT NULL, price DECIMAL(14,2) NOT NULL,
			at TIMESTAMP(3) NOT NULL, d DATE NOT NULL, tag BLOB NOT NULL, wide DECIMAL(8,3) NOT NULL, fine DATETIME(6) NOT NULL,
			l1 VARCHAR(5) CHARACTER SET utf8mb4 NOT NULL)`)
	ctx, db, p := openPlan(t, my, mapping.Table{Source: "r1", Target: "r2"})
	raw := map[string]bool{}
	for i, c := range p.Columns {
		raw[c.Name] = p.Source.canon[i] == c.src.raw && p.Target.canon[i] == c.tgt.raw
	}
	require.Equal(t, map[string]bool{"id": true, "name": true, "price": true, "at": true, "d": true, "tag": true,
		"wide": false, // scales differ: both sides are cast to 3 digits
		"fine": false, // fractional digits differ
		"l1":   false, // latin1 is converted to UTF-8
	}, raw)

	// A rule on a column takes it off the raw path.
	p, err := Plan(ctx, db, db, mapping.Table{Source: "r1", Target: "r2", Columns: []mapping.Column{{Source: "name", Normalize: mapping.Normalize{Trim: true}}}})
	require.NoError(t, err)
	for i, c := range p.Columns {
		if c.Name == "name" {
			require.NotEqual(t, c.src.raw, p.Source.canon[i])
		}
	}
}

// openPlan opens the test database as both sides and plans the comparison of m.
func openPlan(t *testing.T, my *testenv.MySQLDatabase, m mapping.Table) (context.Context, *DB, *Pair) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	db, err := Open(ctx, my.Addr, 2)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p, err := Plan(ctx, db, db, m)
	require.NoError(t, err)
	return ctx, db, p
}
