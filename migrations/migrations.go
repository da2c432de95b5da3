// Package migrations owns the schema of every table the toolkit keeps in MySQL/MariaDB:
// CDC checkpoints, the outbox, the mirror journal, sagas, comparator runs. The SQL lives
// in mysql/*.sql, embedded in the binary; table names carry a configurable prefix
// (default "strangler_"). pressly/goose applies them and records versions in
// <prefix>schema_migrations.
//
// A migration file is SQL with two sections, `-- +up` and `-- +down`; statements end
// with a semicolon at the end of a line; {{.Prefix}} is replaced by the table prefix.
package migrations

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed mysql/*.sql
var mysqlFiles embed.FS

// DefaultPrefix starts the name of every table the toolkit owns.
const DefaultPrefix = "strangler_"

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_]{0,32}$`)

// ValidatePrefix checks a table prefix is safe to put in SQL.
func ValidatePrefix(prefix string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("table prefix %q: use up to 32 letters, digits and underscores", prefix)
	}
	return nil
}

// Migrator applies the toolkit's migrations to one database.
type Migrator struct {
	db       *sql.DB
	prefix   string
	provider *goose.Provider
}

// New prepares the migrations for db with table prefix prefix.
func New(db *sql.DB, prefix string) (*Migrator, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	ms, err := load(prefix)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectMySQL, db, nil,
		goose.WithTableName(prefix+"schema_migrations"),
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(ms...),
	)
	if err != nil {
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{db: db, prefix: prefix, provider: p}, nil
}

// Result is one migration applied or rolled back.
type Result struct {
	Version  int64
	Name     string
	Duration time.Duration
}

// Up applies every pending migration. Concurrent callers (several daemons starting at
// once) are serialised with a named lock, held on a connection of its own: the pool
// must allow at least three open connections.
func (m *Migrator) Up(ctx context.Context) ([]Result, error) {
	var out []Result
	err := m.locked(ctx, func() error {
		rs, err := m.provider.Up(ctx)
		for _, r := range rs {
			out = append(out, Result{Version: r.Source.Version, Name: sqlName(r.Source.Path), Duration: r.Duration})
		}
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		return nil
	})
	return out, err
}

// Down rolls back the latest applied migration.
func (m *Migrator) Down(ctx context.Context) (*Result, error) {
	var out *Result
	err := m.locked(ctx, func() error {
		r, err := m.provider.Down(ctx)
		if err != nil {
			return fmt.Errorf("roll back migration: %w", err)
		}
		out = &Result{Version: r.Source.Version, Name: sqlName(r.Source.Path), Duration: r.Duration}
		return nil
	})
	return out, err
}

// Status is the state of one migration.
type Status struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	ss, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]Status, len(ss))
	for i, s := range ss {
		out[i] = Status{Version: s.Source.Version, Name: sqlName(s.Source.Path), Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt}
	}
	return out, nil
}

func sqlName(p string) string { return "mysql/" + strings.TrimSuffix(path.Base(p), ".go") + ".sql" }

// Table returns the full name of one of the toolkit's tables.
func (m *Migrator) Table(name string) string { return m.prefix + name }

func (m *Migrator) locked(ctx context.Context, fn func() error) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer conn.Close()
	lock := m.prefix + "migrations"
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", lock).Scan(&got); err != nil {
		return fmt.Errorf("migrations: take lock %s: %w", lock, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("migrations: another process holds lock %s for over 60 s", lock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock) //nolint:errcheck
	return fn()
}

// load reads the embedded files and makes one goose migration of each, rendered for prefix.
func load(prefix string) ([]*goose.Migration, error) {
	entries, err := fs.ReadDir(mysqlFiles, "mysql")
	if err != nil {
		return nil, err
	}
	var out []*goose.Migration
	for _, e := range entries {
		name := e.Name()
		us := strings.IndexByte(name, '_')
		if us < 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s: name it NNNNN_what.sql", name)
		}
		version, err := strconv.ParseInt(name[:us], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration file %s: version %q is not a number", name, name[:us])
		}
		raw, err := fs.ReadFile(mysqlFiles, "mysql/"+name)
		if err != nil {
			return nil, err
		}
		up, down, err := render(name, raw, prefix)
		if err != nil {
			return nil, err
		}
		m := goose.NewGoMigration(version, &goose.GoFunc{RunDB: runAll(name, up)}, &goose.GoFunc{RunDB: runAll(name, down)})
		// goose wants Go migrations named *.go; the name shows in status output only.
		m.Source = strings.TrimSuffix(name, ".sql") + ".go"
		out = append(out, m)
	}
	return out, nil
}

func render(name string, raw []byte, prefix string) (up, down []string, err error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("migration %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ Prefix string }{prefix}); err != nil {
		return nil, nil, fmt.Errorf("migration %s: %w", name, err)
	}
	text := buf.String()
	ui, di := strings.Index(text, "-- +up"), strings.Index(text, "-- +down")
	if ui < 0 || di < ui {
		return nil, nil, fmt.Errorf("migration %s: needs a `-- +up` section followed by a `-- +down` section", name)
	}
	return statements(text[ui+len("-- +up") : di]), statements(text[di+len("-- +down"):]), nil
}

// statements splits SQL at semicolons that end a line.
func statements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--")) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func runAll(name string, stmts []string) func(context.Context, *sql.DB) error {
	return func(ctx context.Context, db *sql.DB) error {
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migration %s: %w\n%s", name, err, s)
			}
		}
		return nil
	}
}
