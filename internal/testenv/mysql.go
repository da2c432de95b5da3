package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the driver every MySQL test uses

	"github.com/strangler/strangler/internal/dburl"
)

// MySQLAddr returns the address (mysql://...) of the test MariaDB with binlog, after
// checking it answers.
func MySQLAddr(t testing.TB) string {
	t.Helper()
	addr := envOr("STRANGLER_TEST_MYSQL_DSN", DefaultMySQL)
	dsn, err := dburl.MySQLDSN(addr)
	if err != nil {
		t.Fatalf("STRANGLER_TEST_MYSQL_DSN: %v", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dburl.Redact(addr), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "MySQL/MariaDB at "+dburl.Redact(addr), err)
	}
	return addr
}

// OpenMySQL opens addr and closes it when the test ends.
func OpenMySQL(t testing.TB, addr string) *sql.DB {
	t.Helper()
	dsn, err := dburl.MySQLDSN(addr)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// MySQLDatabase is a database of its own for one test, dropped when the test ends.
type MySQLDatabase struct {
	Name string // database name
	Addr string // mysql:// address with Name as the current database
	Root string // mysql:// address of the server, no database
	DB   *sql.DB
}

// NewMySQLDatabase creates a uniquely named database on the test server.
func NewMySQLDatabase(t testing.TB) *MySQLDatabase {
	t.Helper()
	root := MySQLAddr(t)
	name := UniqueName("t")
	admin := OpenMySQL(t, root)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	addr, err := dburl.WithDatabase(root, name)
	if err != nil {
		t.Fatal(err)
	}
	db := OpenMySQL(t, addr)
	t.Cleanup(func() {
		if t.Failed() && InCI() {
			return // keep the data of a failed CI test for whoever reads the logs
		}
		_, _ = admin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	})
	return &MySQLDatabase{Name: name, Addr: addr, Root: root, DB: db}
}

// Exec runs statements in order on the database, failing the test on the first error.
func (d *MySQLDatabase) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.DB.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// MasterPosition returns the server's current binlog file and position: a start
// position that covers every write made after it.
func MasterPosition(t testing.TB, db *sql.DB) (string, uint32) {
	t.Helper()
	rows, err := db.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatalf("SHOW MASTER STATUS: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS returned nothing: is the binlog on?")
	}
	vals := make([]any, len(cols))
	var file string
	var pos uint32
	vals[0], vals[1] = &file, &pos
	for i := 2; i < len(cols); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// StartAt returns the --start value for the server's current position.
func StartAt(t testing.TB, db *sql.DB) string {
	f, p := MasterPosition(t, db)
	return fmt.Sprintf("file:%s:%d", f, p)
}

// FreshStart rotates the server's binlog (FLUSH BINARY LOGS) and returns the --start
// value for the head of the new file. A reader started at a file position replays the
// file from its head to learn the GTID set there; a fresh file keeps that replay short
// on a server whose binlog many tests write at once.
func FreshStart(t testing.TB, db *sql.DB) string {
	t.Helper()
	if _, err := db.Exec("FLUSH BINARY LOGS"); err != nil {
		t.Fatalf("FLUSH BINARY LOGS: %v", err)
	}
	return StartAt(t, db)
}
