package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/schema"
	"github.com/strangler/strangler/internal/testenv"
)

func sampleCatalog(t *testing.T, cols ...string) *schema.Catalog {
	t.Helper()
	cat := schema.NewCatalog()
	ddl := "CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY"
	for _, c := range cols {
		ddl += ", " + c + " VARCHAR(10)"
	}
	next, _, err := cat.Apply("shop", "CREATE DATABASE IF NOT EXISTS shop")
	require.NoError(t, err)
	next, _, err = next.Apply("shop", ddl+")")
	require.NoError(t, err)
	return next
}

func sampleCheckpoint(t *testing.T, pos uint32, cat *schema.Catalog) *Checkpoint {
	return &Checkpoint{
		Resume:    binlog.Resume{Position: binlog.Position{File: "binlog.000007", Pos: pos, GTID: "0-1-42"}, Skip: 3},
		EventTime: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		Source:    SourceID{Flavor: "mariadb", ServerID: 1},
		Schema:    cat,
		SavedAt:   time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC),
		Version:   "test",
	}
}

func requireSameCheckpoint(t *testing.T, want, got *Checkpoint) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.Resume, got.Resume)
	require.True(t, want.EventTime.Equal(got.EventTime), "event time %s != %s", want.EventTime, got.EventTime)
	require.Equal(t, want.Source, got.Source)
	require.Equal(t, want.Version, got.Version)
	require.NotNil(t, got.Schema)
	require.Equal(t, want.Schema.Table("shop", "orders").Columns, got.Schema.Table("shop", "orders").Columns)
}

func TestFileStoreRoundTripAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "checkpoint.json")
	s, err := NewFileStore(path)
	require.NoError(t, err)
	ctx := context.Background()

	got, err := s.Load(ctx)
	require.NoError(t, err)
	require.Nil(t, got, "no file, no checkpoint")

	cp := sampleCheckpoint(t, 1234, sampleCatalog(t, "note"))
	require.NoError(t, s.Save(ctx, cp))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	requireSameCheckpoint(t, cp, got)

	cp2 := sampleCheckpoint(t, 5678, sampleCatalog(t, "note", "extra"))
	require.NoError(t, s.Save(ctx, cp2))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	requireSameCheckpoint(t, cp2, got)
	require.Len(t, got.Schema.Table("shop", "orders").Columns, 3)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	require.NoError(t, s.Delete(ctx))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestFileStoreCorruptFileIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"resume": {"file": "binlog.0`), 0o644))
	s, err := NewFileStore(path)
	require.NoError(t, err)
	_, err = s.Load(context.Background())
	require.ErrorContains(t, err, "not valid JSON")
	require.ErrorContains(t, err, path)
}

func TestMySQLStore(t *testing.T) {
	db := testenv.NewMySQLDatabase(t)
	ctx := context.Background()
	prefix := "ck_"
	a, err := OpenMySQLStore(ctx, db.Addr, "pipeline-a", prefix)
	require.NoError(t, err)
	defer a.Close()
	b, err := OpenMySQLStore(ctx, db.Addr, "pipeline-b", prefix)
	require.NoError(t, err)
	defer b.Close()

	got, err := a.Load(ctx)
	require.NoError(t, err)
	require.Nil(t, got)

	cat := sampleCatalog(t, "note")
	cpA := sampleCheckpoint(t, 100, cat)
	require.NoError(t, a.Save(ctx, cpA))
	cpB := sampleCheckpoint(t, 200, sampleCatalog(t, "other"))
	require.NoError(t, b.Save(ctx, cpB))

	// A second save with the same schema writes the position only; the schema stays.
	cpA2 := sampleCheckpoint(t, 150, cat)
	require.NoError(t, a.Save(ctx, cpA2))
	var hash string
	require.NoError(t, db.DB.QueryRow("SELECT schema_hash FROM ck_cdc_checkpoints WHERE name='pipeline-a'").Scan(&hash))
	require.Len(t, hash, 64)

	// A fresh store (a restarted daemon) reads what was saved, per name.
	a2, err := OpenMySQLStore(ctx, db.Addr, "pipeline-a", prefix)
	require.NoError(t, err)
	defer a2.Close()
	got, err = a2.Load(ctx)
	require.NoError(t, err)
	requireSameCheckpoint(t, cpA2, got)
	got, err = b.Load(ctx)
	require.NoError(t, err)
	requireSameCheckpoint(t, cpB, got)
	require.NotNil(t, got.Schema.Table("shop", "orders"))
	require.Equal(t, "other", got.Schema.Table("shop", "orders").Columns[1].Name)

	require.NoError(t, a2.Delete(ctx))
	got, err = a2.Load(ctx)
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestMySQLStoreCreatesItsDatabase(t *testing.T) {
	root := testenv.MySQLAddr(t)
	name := testenv.UniqueName("ckdb")
	addr := root[:len(root)-1] + "/" + name
	admin := testenv.OpenMySQL(t, root)
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS `" + name + "`") })
	s, err := Open(context.Background(), addr, "x", "strangler_")
	require.NoError(t, err)
	defer s.Close()
	var n int
	require.NoError(t, admin.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_NAME='strangler_cdc_checkpoints'", name).Scan(&n))
	require.Equal(t, 1, n)
}

func TestOpenRefusesUnknownAddresses(t *testing.T) {
	_, err := Open(context.Background(), "redis://localhost", "x", "strangler_")
	require.ErrorContains(t, err, "file:PATH or mysql://")
	_, err = Open(context.Background(), "file:", "x", "strangler_")
	require.ErrorContains(t, err, "needs a path")
}
