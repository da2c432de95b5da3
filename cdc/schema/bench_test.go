package schema

import (
	"context"
	"fmt"
	"testing"

	"github.com/strangler/strangler/internal/testenv"
)

// BenchmarkApplyBegin: the daemon hands Apply every QUERY event, BEGIN of every
// transaction included.
func BenchmarkApplyBegin(b *testing.B) {
	c := NewCatalog()
	for b.Loop() {
		if _, a, err := c.Apply("d", "BEGIN"); err != nil || a != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyAlterLargeCatalog: an ALTER in a catalog of 10,000 tables (copy on
// write copies the map, not the tables).
func BenchmarkApplyAlterLargeCatalog(b *testing.B) {
	c := NewCatalog().WithDatabase("d", "utf8mb4")
	for i := range 10000 {
		var err error
		c, _, err = c.Apply("d", fmt.Sprintf("CREATE TABLE t%d (id BIGINT PRIMARY KEY, name VARCHAR(50), created DATETIME(6), payload JSON)", i))
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, _, err := c.Apply("d", "ALTER TABLE t5000 ADD COLUMN extra INT AFTER name, ADD KEY (extra)"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad reads 1,000 tables of 6 columns from information_schema.
func BenchmarkLoad(b *testing.B) {
	d := testenv.NewMySQLDatabase(b)
	for i := range 1000 {
		d.Exec(b, fmt.Sprintf("CREATE TABLE t%d (id BIGINT PRIMARY KEY, name VARCHAR(50), e ENUM('a','b'), j JSON, at DATETIME(6), UNIQUE KEY (name))", i))
	}
	ctx := context.Background()
	include := func(db string) bool { return db == d.Name }
	for b.Loop() {
		c, err := Load(ctx, d.DB, include)
		if err != nil {
			b.Fatal(err)
		}
		if c.Len() != 1000 {
			b.Fatalf("loaded %d tables", c.Len())
		}
	}
}
