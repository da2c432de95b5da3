package source_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compare/mapping"
	"github.com/strangler/strangler/compare/source"
	"github.com/strangler/strangler/internal/testenv"
)

func open(t *testing.T, addr string) *source.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := source.Open(ctx, addr, 4)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// The same logical rows in MariaDB and PostgreSQL, in each engine's natural types, must
// give the same chunk checksum: canonical forms agree across engines.
func TestCanonicalChecksumsAgreeAcrossEngines(t *testing.T) {
	t.Parallel()
	my := testenv.NewMySQLDatabase(t)
	pg := testenv.NewPGDatabase(t)
	my.Exec(t, "SET NAMES utf8mb4",
		`CREATE TABLE items (
			id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			name VARCHAR(50) NOT NULL,
			note TEXT NULL,
			price DECIMAL(12,2) NOT NULL,
			ratio DOUBLE NULL,
			weight FLOAT NULL,
			born DATE NULL,
			seen DATETIME(6) NULL,
			at TIMESTAMP(3) NULL,
			dur TIME(6) NULL,
			blob_ VARBINARY(20) NULL,
			flag TINYINT(1) NOT NULL,
			kind ENUM('a','b') NOT NULL,
			doc JSON NULL
		) DEFAULT CHARSET=utf8mb4`,
		`INSERT INTO items VALUES
			(1, 'alpha', NULL, 12.30, 0.1, 1.5, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '10:11:12.5', X'00FF10', 1, 'a', '{"b": [1, 2.50], "a": null}'),
			(18446744073709551615, 'héllo wörld ✓', '', -0.01, 1e20, -2.25, NULL, NULL, NULL, '-01:00:00', X'', 0, 'b', '[]'),
			(3, 'Zed', 'x', 0.00, NULL, NULL, '1999-12-31', '1999-12-31 23:59:59', '2038-01-01 00:00:00', NULL, NULL, 1, 'a', NULL)`)
	pg.Exec(t,
		`CREATE TYPE kind AS ENUM ('a','b')`,
		`CREATE TABLE items (
			id NUMERIC(20) NOT NULL PRIMARY KEY,
			name TEXT NOT NULL,
			note VARCHAR(10) NULL,
			price NUMERIC(14,4) NOT NULL,
			ratio DOUBLE PRECISION NULL,
			weight REAL NULL,
			born DATE NULL,
			seen TIMESTAMP(6) NULL,
			at TIMESTAMPTZ NULL,
			dur TIME NULL,
			blob_ BYTEA NULL,
			flag BOOLEAN NOT NULL,
			kind kind NOT NULL,
			doc JSONB NULL
		)`,
		`INSERT INTO items VALUES
			(1, 'alpha', NULL, 12.3, 0.1, 1.5, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123+00', '10:11:12.5', '\x00ff10', true, 'a', '{"a": null, "b": [1, 2.5]}'),
			(18446744073709551615, 'héllo wörld ✓', '', -0.01, 1e20, -2.25, NULL, NULL, NULL, NULL, '\x', false, 'b', '[]'),
			(3, 'Zed', 'x', 0, NULL, NULL, '1999-12-31', '1999-12-31 23:59:59', '2038-01-01 00:00:00+00', NULL, NULL, true, 'a', NULL)`)
	ctx := context.Background()
	src, tgt := open(t, my.Addr), open(t, pg.Addr)
	// PostgreSQL has no negative TIME: row 18446744073709551615 differs in dur only.
	m := mapping.Table{Source: "items", Target: "items"}
	p, err := source.Plan(ctx, src, tgt, m)
	require.NoError(t, err)
	require.Equal(t, "md5", p.Digest)
	require.True(t, p.HasInGo(), "JSON across engines is canonicalised in Go")

	ss, err := p.Source.Sums(ctx, source.Range{}, nil)
	require.NoError(t, err)
	ts, err := p.Target.Sums(ctx, source.Range{}, nil)
	require.NoError(t, err)
	require.Equal(t, int64(3), ss[0].Count)
	require.Equal(t, int64(3), ts[0].Count)
	require.NotEqual(t, ss[0].Hash, ts[0].Hash, "the TIME -01:00:00 against NULL differs")

	// Row by row: exactly one row, one column differs.
	hs := map[string]uint64{}
	require.NoError(t, p.Source.RowHashes(ctx, source.Range{}, func(k string, h uint64) error { hs[k] = h; return nil }))
	var differ []string
	require.NoError(t, p.Target.RowHashes(ctx, source.Range{}, func(k string, h uint64) error {
		if hs[k] != h {
			differ = append(differ, k)
		}
		return nil
	}))
	require.Equal(t, []string{"18446744073709551615"}, differ)

	// Bucketed sums split at key 3 (UNSIGNED range and numeric(20) agree on order).
	sb, err := p.Source.Sums(ctx, source.Range{}, []source.Key{{"3"}})
	require.NoError(t, err)
	tb, err := p.Target.Sums(ctx, source.Range{}, []source.Key{{"3"}})
	require.NoError(t, err)
	require.Equal(t, sb[0], tb[0], "keys 1 and 3 match")
	require.Equal(t, int64(2), sb[0].Count)
	require.NotEqual(t, sb[1].Hash, tb[1].Hash)

	rows, err := p.Source.Fetch(ctx, []source.Key{{"18446744073709551615"}})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	trows, err := p.Target.Fetch(ctx, []source.Key{{"18446744073709551615"}})
	require.NoError(t, err)
	require.Len(t, trows, 1)
	for i, c := range p.Columns {
		same := (rows[0].Canon[i] == nil) == (trows[0].Canon[i] == nil) && (rows[0].Canon[i] == nil || *rows[0].Canon[i] == *trows[0].Canon[i])
		require.Equal(t, c.Name != "dur", same, "column %s: %v vs %v", c.Name, deref(rows[0].Canon[i]), deref(trows[0].Canon[i]))
	}
	require.Equal(t, uint64(18446744073709551615), p.SourceValue(0, rows[0].Display[0]))
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
