package checkpoint

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/schema"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/migrations"
)

// Open returns the store an address names: file:PATH, or a mysql:// address whose
// database holds the checkpoint table (created if missing). name keys the checkpoint,
// so several pipelines can share a table.
func Open(ctx context.Context, addr, name, tablePrefix string) (Store, error) {
	switch {
	case strings.HasPrefix(addr, "file:"):
		path := strings.TrimPrefix(addr, "file:")
		if path == "" {
			return nil, errors.New("--checkpoint file: needs a path, e.g. file:./strangler-data/checkpoint.json")
		}
		return NewFileStore(path)
	case strings.HasPrefix(addr, "mysql://"):
		return OpenMySQLStore(ctx, addr, name, tablePrefix)
	}
	return nil, fmt.Errorf("--checkpoint %q: use file:PATH or mysql://user:pass@tcp(host:port)/db", dburl.Redact(addr))
}

// stored is a checkpoint as written: the schema history already encoded, so that an
// unchanged schema is encoded once, not at every save.
type stored struct {
	Resume    binlog.Resume   `json:"resume"`
	EventTime time.Time       `json:"event_time"`
	Source    SourceID        `json:"source"`
	Schema    json.RawMessage `json:"schema,omitempty"`
	Filter    string          `json:"filter,omitempty"`
	SavedAt   time.Time       `json:"saved_at"`
	Version   string          `json:"version"`
}

// schemaCache remembers the encoding of the last catalog saved.
type schemaCache struct {
	catalog *schema.Catalog
	json    []byte
	hash    string
}

func (c *schemaCache) encode(cat *schema.Catalog) ([]byte, string, error) {
	if cat == nil {
		return nil, "", nil
	}
	if cat != c.catalog {
		b, err := json.Marshal(cat)
		if err != nil {
			return nil, "", fmt.Errorf("encode schema history: %w", err)
		}
		sum := sha256.Sum256(b)
		c.catalog, c.json, c.hash = cat, b, hex.EncodeToString(sum[:])
	}
	return c.json, c.hash, nil
}

func decodeSchema(raw []byte) (*schema.Catalog, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	cat := schema.NewCatalog()
	if err := json.Unmarshal(raw, cat); err != nil {
		return nil, fmt.Errorf("decode schema history: %w", err)
	}
	return cat, nil
}

// FileStore keeps the checkpoint in a JSON file, replaced atomically at each save
// (temporary file, fsync, rename, fsync of the directory).
type FileStore struct {
	path  string
	cache schemaCache
}

// NewFileStore returns a store writing path; its directory is created if missing.
func NewFileStore(path string) (*FileStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint directory for %s: %w", path, err)
	}
	return &FileStore{path: path}, nil
}

func (s *FileStore) String() string { return "file:" + s.path }
func (s *FileStore) Close() error   { return nil }

func (s *FileStore) Load(ctx context.Context) (*Checkpoint, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", s.path, err)
	}
	var st stored
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("checkpoint %s is not valid JSON (%w): restore it from a backup, or remove it and start with --start", s.path, err)
	}
	cat, err := decodeSchema(st.Schema)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	return &Checkpoint{Resume: st.Resume, EventTime: st.EventTime, Source: st.Source, Schema: cat, Filter: st.Filter, SavedAt: st.SavedAt, Version: st.Version}, nil
}

func (s *FileStore) Save(ctx context.Context, cp *Checkpoint) error {
	sj, _, err := s.cache.encode(cp.Schema)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(stored{Resume: cp.Resume, EventTime: cp.EventTime, Source: cp.Source, Schema: sj, Filter: cp.Filter, SavedAt: cp.SavedAt, Version: cp.Version}, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *FileStore) Delete(ctx context.Context) error {
	err := os.Remove(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// MySQLStore keeps checkpoints in the toolkit's <prefix>cdc_checkpoints table, one row
// per pipeline name.
type MySQLStore struct {
	db    *sql.DB
	name  string
	table string
	addr  string
	cache schemaCache
	saved string // schema hash in the row
}

// OpenMySQLStore connects to addr, creates its database if missing, applies the
// toolkit's migrations there and returns a store for checkpoint name.
func OpenMySQLStore(ctx context.Context, addr, name, prefix string) (*MySQLStore, error) {
	cfg, err := dburl.ParseMySQL(addr)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint: %w", err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("--checkpoint %s names no database: add one, e.g. mysql://user:pass@tcp(host:3306)/strangler", dburl.Redact(addr))
	}
	dbName := cfg.DBName
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(dbName, "`", "``")+"` CHARACTER SET utf8mb4"); err != nil {
		return nil, fmt.Errorf("create checkpoint database %s at %s: %w", dbName, dburl.Redact(addr), err)
	}
	cfg.DBName = dbName
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	mig, err := migrations.New(db, prefix)
	if err != nil {
		db.Close()
		return nil, err
	}
	if _, err := mig.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("checkpoint store at %s: %w", dburl.Redact(addr), err)
	}
	// Migrations hold a lock on one connection while goose uses others; only then is the
	// pool narrowed to what saving a checkpoint needs.
	db.SetMaxOpenConns(2)
	return &MySQLStore{db: db, name: name, table: mig.Table("cdc_checkpoints"), addr: dburl.Redact(addr)}, nil
}

func (s *MySQLStore) String() string { return s.addr + " table " + s.table + " name " + s.name }
func (s *MySQLStore) Close() error   { return s.db.Close() }

func (s *MySQLStore) Load(ctx context.Context) (*Checkpoint, error) {
	var resume, source, version, savedAt string
	var schemaJSON, eventTime sql.NullString
	err := s.db.QueryRowContext(ctx, "SELECT `resume`, `event_time`, `source`, `schema_json`, `schema_hash`, `saved_at`, `version` FROM `"+s.table+"` WHERE `name` = ?", s.name).
		Scan(&resume, &eventTime, &source, &schemaJSON, &s.saved, &savedAt, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", s, err)
	}
	cp := &Checkpoint{Version: version}
	// The toolkit reads DATETIME as text (no parseTime in its DSNs): parse it as UTC.
	if cp.SavedAt, err = time.Parse(mysqlDatetime, savedAt); err != nil {
		return nil, fmt.Errorf("checkpoint %s: saved_at %q: %w", s, savedAt, err)
	}
	if eventTime.Valid {
		if cp.EventTime, err = time.Parse(mysqlDatetime, eventTime.String); err != nil {
			return nil, fmt.Errorf("checkpoint %s: event_time %q: %w", s, eventTime.String, err)
		}
	}
	if err := json.Unmarshal([]byte(resume), &cp.Resume); err != nil {
		return nil, fmt.Errorf("checkpoint %s: resume column: %w", s, err)
	}
	var sc sourceColumn
	if err := json.Unmarshal([]byte(source), &sc); err != nil {
		return nil, fmt.Errorf("checkpoint %s: source column: %w", s, err)
	}
	cp.Source, cp.Filter = sc.SourceID, sc.Filter
	if cp.Schema, err = decodeSchema([]byte(schemaJSON.String)); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", s, err)
	}
	return cp, nil
}

func (s *MySQLStore) Save(ctx context.Context, cp *Checkpoint) error {
	resume, err := json.Marshal(cp.Resume)
	if err != nil {
		return err
	}
	source, err := json.Marshal(sourceColumn{cp.Source, cp.Filter})
	if err != nil {
		return err
	}
	sj, hash, err := s.cache.encode(cp.Schema)
	if err != nil {
		return err
	}
	var eventTime any
	if !cp.EventTime.IsZero() {
		eventTime = cp.EventTime.UTC().Format(mysqlDatetime)
	}
	savedAt := cp.SavedAt.UTC().Format(mysqlDatetime)
	if hash == s.saved && hash != "" {
		// The schema in the row is current: write the position only.
		_, err = s.db.ExecContext(ctx, "UPDATE `"+s.table+"` SET `resume`=?, `event_time`=?, `source`=?, `saved_at`=?, `version`=? WHERE `name`=?",
			string(resume), eventTime, string(source), savedAt, cp.Version, s.name)
	} else {
		_, err = s.db.ExecContext(ctx, "INSERT INTO `"+s.table+"` (`name`,`resume`,`event_time`,`source`,`schema_json`,`schema_hash`,`saved_at`,`version`) VALUES (?,?,?,?,?,?,?,?) "+
			"ON DUPLICATE KEY UPDATE `resume`=VALUES(`resume`), `event_time`=VALUES(`event_time`), `source`=VALUES(`source`), `schema_json`=VALUES(`schema_json`), `schema_hash`=VALUES(`schema_hash`), `saved_at`=VALUES(`saved_at`), `version`=VALUES(`version`)",
			s.name, string(resume), eventTime, string(source), nullIfEmpty(sj), hash, savedAt, cp.Version)
		if err == nil {
			s.saved = hash
		}
	}
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", s, err)
	}
	return nil
}

func (s *MySQLStore) Delete(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM `"+s.table+"` WHERE `name` = ?", s.name)
	s.saved = ""
	return err
}

// sourceColumn is what the table's source column holds: the server and the filter
// fingerprint the position belongs to.
type sourceColumn struct {
	SourceID
	Filter string `json:"filter,omitempty"`
}

const mysqlDatetime = "2006-01-02 15:04:05.999999"

func nullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
