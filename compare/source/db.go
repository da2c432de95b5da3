// Package source talks to the two databases of a comparison, MySQL/MariaDB or
// PostgreSQL in any combination. It describes tables, plans how each column pair is
// rendered to one canonical text on both engines, and runs the queries the differ needs:
// chunk boundaries, chunk and bucket checksums computed inside the database, row hashes
// and full rows of small ranges.
//
// Canonical forms (the same bytes on both engines for the same logical value):
//
//	integers   decimal digits                       decimals  fixed scale (the wider side's)
//	floats     rounded to N digits after the point  text      UTF-8 bytes, no collation
//	binary     upper-case hex (raw bytes same-engine) dates    YYYY-MM-DD
//	date-times YYYY-MM-DD HH:MM:SS.ffffff in UTC    times     [-]HH:MM:SS.ffffff
//	JSON       engine's normalised text same-engine; canonicalised by strangler across engines
//
// Key ranges use the order both engines agree on: numbers and times by value, text and
// binary by bytes (binary collations; COLLATE is added when the column's is not).
package source

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/strangler/strangler/internal/dburl"
)

// Engine is the database product on one side.
type Engine string

const (
	MariaDB  Engine = "mariadb"
	MySQL    Engine = "mysql"
	Postgres Engine = "postgres"
)

// Family is true for the MySQL protocol engines.
func (e Engine) mysqlFamily() bool { return e == MariaDB || e == MySQL }

// DB is one side of a comparison.
type DB struct {
	Engine   Engine
	Version  string
	Addr     string // redacted address, for logs and reports
	Name     string // current database (MySQL) or database (PostgreSQL)
	sql      *sql.DB
	normJSON bool   // MariaDB's JSON_NORMALIZE exists
	collate  string // PostgreSQL: the database's default collation (datcollate)
}

// SQL returns the underlying pool (for tests and the store).
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes the pool.
func (d *DB) Close() error { return d.sql.Close() }

// Open connects to a mysql:// or postgres:// address. Sessions are set to UTC so that
// TIMESTAMP values render the same everywhere.
func Open(ctx context.Context, addr string, maxConns int) (*DB, error) {
	if maxConns <= 0 {
		maxConns = 8
	}
	d := &DB{Addr: dburl.Redact(addr)}
	switch dburl.KindOf(addr) {
	case dburl.Postgres:
		cfg, err := pgx.ParseConfig(addr)
		if err != nil {
			return nil, fmt.Errorf("parse PostgreSQL address %s: %w", d.Addr, err)
		}
		cfg.RuntimeParams["timezone"] = "UTC"
		cfg.RuntimeParams["datestyle"] = "ISO, YMD"
		cfg.RuntimeParams["extra_float_digits"] = "1"
		cfg.RuntimeParams["application_name"] = "strangler-compare"
		d.sql = stdlib.OpenDB(*cfg)
		d.Engine = Postgres
		d.Name = cfg.Database
	default:
		dsn, err := dburl.MySQLDSN(addr)
		if err != nil {
			return nil, err
		}
		// Parsed again so that charset= becomes the driver's setting, not a session variable.
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("MySQL address %s: %w", d.Addr, err)
		}
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		if cfg.DBName == "" {
			return nil, fmt.Errorf("address %s names no database: write mysql://user:pass@tcp(host:port)/db", d.Addr)
		}
		cfg.InterpolateParams = true // one round trip per query instead of prepare/execute/close
		cfg.Params["time_zone"] = "'+00:00'"
		cfg.Params["group_concat_max_len"] = "1048576"
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("MySQL address %s: %w", d.Addr, err)
		}
		d.sql = sql.OpenDB(conn)
		d.Name = cfg.DBName
		d.Engine = MySQL
	}
	d.sql.SetMaxOpenConns(maxConns)
	d.sql.SetMaxIdleConns(maxConns)
	d.sql.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.sql.PingContext(pctx); err != nil {
		d.sql.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.Addr, err)
	}
	if err := d.sql.QueryRowContext(pctx, "SELECT VERSION()").Scan(&d.Version); err != nil {
		d.sql.Close()
		return nil, fmt.Errorf("%s: read version: %w", d.Addr, err)
	}
	if d.Engine.mysqlFamily() {
		if strings.Contains(strings.ToLower(d.Version), "mariadb") {
			d.Engine = MariaDB
		}
		var x sql.NullString
		d.normJSON = d.sql.QueryRowContext(pctx, "SELECT JSON_NORMALIZE('{}')").Scan(&x) == nil
	} else {
		var num int
		var enc string
		if err := d.sql.QueryRowContext(pctx, `SELECT current_setting('server_version_num')::int, current_setting('server_encoding'),
			(SELECT datcollate FROM pg_database WHERE datname = current_database())`).Scan(&num, &enc, &d.collate); err != nil {
			d.sql.Close()
			return nil, fmt.Errorf("%s: read server settings: %w", d.Addr, err)
		}
		if num < 140000 {
			d.sql.Close()
			return nil, fmt.Errorf("%s: PostgreSQL %s: compare needs PostgreSQL 14 or later (for bit_xor)", d.Addr, d.Version)
		}
		if enc != "UTF8" {
			d.sql.Close()
			return nil, fmt.Errorf("%s: server_encoding is %s: compare needs a UTF8 database so that text hashes match MySQL's utf8mb4", d.Addr, enc)
		}
	}
	return d, nil
}

// quote quotes an identifier; "schema.table" becomes two quoted parts.
func (d *DB) quote(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if d.Engine == Postgres {
			parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
		} else {
			parts[i] = "`" + strings.ReplaceAll(p, "`", "``") + "`"
		}
	}
	return strings.Join(parts, ".")
}

// splitName returns schema and table of a name as given ("t" or "schema.t").
func (d *DB) splitName(name string) (schema, table string) {
	if s, t, ok := strings.Cut(name, "."); ok {
		return s, t
	}
	if d.Engine == Postgres {
		return "", name
	}
	return d.Name, name
}

// literal quotes a string as an SQL literal for this engine (used in generated SQL only
// for values from the mapping file, never for data).
func (d *DB) literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// EstimateRows returns the engine's estimate of a table's row count (for progress only).
func (d *DB) EstimateRows(ctx context.Context, t *Table) int64 {
	var n sql.NullInt64
	if d.Engine == Postgres {
		_ = d.sql.QueryRowContext(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", t.quoted).Scan(&n)
	} else {
		_ = d.sql.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", t.Schema, t.Table).Scan(&n)
	}
	if n.Int64 < 0 {
		return 0
	}
	return n.Int64
}
