// Package dburl parses the database addresses the project accepts everywhere:
// `mysql://` followed by a go-sql-driver DSN (the form golang-migrate uses),
// a bare go-sql-driver DSN, and `postgres://` URLs.
package dburl

import (
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Kind names the engine an address points at.
type Kind string

const (
	MySQL    Kind = "mysql"
	Postgres Kind = "postgres"
)

// KindOf tells which engine an address is for. A bare DSN is taken as MySQL.
func KindOf(addr string) Kind {
	switch {
	case strings.HasPrefix(addr, "postgres://"), strings.HasPrefix(addr, "postgresql://"):
		return Postgres
	default:
		return MySQL
	}
}

// ParseMySQL turns `mysql://user:pass@tcp(host:port)/db?params` or the same without
// the scheme into a go-sql-driver config. Parameters the toolkit relies on are set:
// parseTime stays off (values are read as text) and the connection speaks utf8mb4.
func ParseMySQL(addr string) (*mysql.Config, error) {
	if addr == "" {
		return nil, fmt.Errorf("empty MySQL address: give one like mysql://user:pass@tcp(host:3306)/db")
	}
	dsn := strings.TrimPrefix(addr, "mysql://")
	if strings.Contains(dsn, "://") {
		return nil, fmt.Errorf("address %q is not a MySQL address: write mysql://user:pass@tcp(host:port)/db", Redact(addr))
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL address %q: %w (expected mysql://user:pass@tcp(host:port)/db)", Redact(addr), err)
	}
	if cfg.Net == "tcp" && cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:3306"
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["charset"]; !ok {
		cfg.Params["charset"] = "utf8mb4"
	}
	return cfg, nil
}

// MySQLDSN returns the go-sql-driver DSN for addr, for sql.Open("mysql", ...).
func MySQLDSN(addr string) (string, error) {
	cfg, err := ParseMySQL(addr)
	if err != nil {
		return "", err
	}
	return cfg.FormatDSN(), nil
}

// WithDatabase returns addr with its database replaced by db.
func WithDatabase(addr, db string) (string, error) {
	cfg, err := ParseMySQL(addr)
	if err != nil {
		return "", err
	}
	cfg.DBName = db
	return "mysql://" + cfg.FormatDSN(), nil
}

// Redact hides the password of an address for logs and error messages.
func Redact(addr string) string {
	scheme := ""
	rest := addr
	if i := strings.Index(addr, "://"); i >= 0 {
		scheme, rest = addr[:i+3], addr[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return addr
	}
	cred := rest[:at]
	if c := strings.Index(cred, ":"); c >= 0 {
		cred = cred[:c] + ":xxx"
	}
	return scheme + cred + rest[at:]
}
