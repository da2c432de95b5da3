package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/strangler/strangler/internal/dburl"
)

// PGAddr returns the address (postgres://...) of the test PostgreSQL, after checking it
// answers. It comes from STRANGLER_TEST_PG_DSN, defaulting to the devstack's
// 127.0.0.1:5433.
func PGAddr(t testing.TB) string {
	t.Helper()
	addr := envOr("STRANGLER_TEST_PG_DSN", DefaultPG)
	db, err := sql.Open("pgx", addr)
	if err != nil {
		t.Fatalf("STRANGLER_TEST_PG_DSN %s: %v", dburl.Redact(addr), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "PostgreSQL at "+dburl.Redact(addr), err)
	}
	return addr
}

// OpenPG opens addr with the pgx driver and closes it when the test ends.
func OpenPG(t testing.TB, addr string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", addr)
	if err != nil {
		t.Fatalf("open %s: %v", dburl.Redact(addr), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// PGDatabase is a PostgreSQL database of its own for one test, dropped when the test ends.
type PGDatabase struct {
	Name string // database name
	Addr string // postgres:// address of the database
	DB   *sql.DB
}

// NewPGDatabase creates a uniquely named database on the test PostgreSQL.
func NewPGDatabase(t testing.TB) *PGDatabase {
	t.Helper()
	root := PGAddr(t)
	name := UniqueName("t")
	admin := OpenPG(t, root)
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `" ENCODING 'UTF8' TEMPLATE template0`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	u, err := url.Parse(root)
	if err != nil {
		t.Fatalf("STRANGLER_TEST_PG_DSN: %v", err)
	}
	u.Path = "/" + name
	addr := u.String()
	db := OpenPG(t, addr)
	t.Cleanup(func() {
		_ = db.Close()
		if t.Failed() && InCI() {
			return // keep the data of a failed CI test for whoever reads the logs
		}
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	})
	return &PGDatabase{Name: name, Addr: addr, DB: db}
}

// Exec runs statements in order on the database, failing the test on the first error.
func (d *PGDatabase) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.DB.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}
