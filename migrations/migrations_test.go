package migrations

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

func tables(t *testing.T, db *testenv.MySQLDatabase, prefix string) []string {
	rows, err := db.DB.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? ORDER BY TABLE_NAME", prefix+"%")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	return out
}

func TestUpDownStatusWithPrefix(t *testing.T) {
	db := testenv.NewMySQLDatabase(t)
	ctx := context.Background()
	m, err := New(db.DB, "acme_")
	require.NoError(t, err)

	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, st)
	for _, s := range st {
		require.False(t, s.Applied, s.Name)
	}

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.Len(t, applied, len(st))
	got := tables(t, db, "acme_")
	require.Contains(t, got, "acme_cdc_checkpoints")
	require.Contains(t, got, "acme_schema_migrations")

	again, err := m.Up(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "a second up applies nothing")

	// Every migration rolls back cleanly, leaving only goose's version table.
	for range st {
		_, err := m.Down(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"acme_schema_migrations"}, tables(t, db, "acme_"))
}

func TestConcurrentUpIsSerialised(t *testing.T) {
	db := testenv.NewMySQLDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m, err := New(db.DB, "strangler_")
			if err == nil {
				_, err = m.Up(context.Background())
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Contains(t, tables(t, db, "strangler_"), "strangler_cdc_checkpoints")
}

func TestPrefixIsValidated(t *testing.T) {
	for _, p := range []string{"a-b", "x;drop", "`", "waytoolongprefix_waytoolongprefix_"} {
		require.Error(t, ValidatePrefix(p), p)
	}
	require.NoError(t, ValidatePrefix(""))
	require.NoError(t, ValidatePrefix("strangler_"))
}

func TestStatementsSplitting(t *testing.T) {
	got := statements("\n-- comment\nCREATE TABLE a (\n  x INT\n);\nINSERT INTO a VALUES (1);\n")
	require.Equal(t, []string{"CREATE TABLE a (\n  x INT\n)", "INSERT INTO a VALUES (1)"}, got)
}
