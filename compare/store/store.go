// Package store keeps parity runs in the toolkit's MySQL tables (migrations 00030+): data
// runs with per-table progress (for --resume) and results, shadow runs with per-endpoint
// results, and reads them back as history for reports.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // the store is MySQL/MariaDB

	"github.com/strangler/strangler/compare"
	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/version"
	"github.com/strangler/strangler/migrations"
)

// Store is the parity store on one MySQL/MariaDB database.
type Store struct {
	db     *sql.DB
	prefix string
	owned  bool
}

// Open connects to addr (mysql://...) and applies pending migrations.
func Open(ctx context.Context, addr, prefix string) (*Store, error) {
	if dburl.KindOf(addr) != dburl.MySQL {
		return nil, fmt.Errorf("--store %s: the parity store is a MySQL/MariaDB database (mysql://user:pass@tcp(host:port)/db)", dburl.Redact(addr))
	}
	dsn, err := dburl.MySQLDSN(addr)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	db.SetMaxOpenConns(4)
	s, err := New(ctx, db, prefix)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New uses an open database, applying pending migrations.
func New(ctx context.Context, db *sql.DB, prefix string) (*Store, error) {
	m, err := migrations.New(db, prefix)
	if err != nil {
		return nil, err
	}
	if _, err := m.Up(ctx); err != nil {
		return nil, fmt.Errorf("parity store: %w", err)
	}
	return &Store{db: db, prefix: prefix}, nil
}

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

func (s *Store) t(name string) string { return "`" + s.prefix + name + "`" }

var _ compare.RunStore = (*Store)(nil)

// StartRun records a new run and returns its id.
func (s *Store) StartRun(ctx context.Context, r *report.Run, fingerprint string, config []byte) (int64, error) {
	now := time.Now().UTC()
	res, err := s.db.ExecContext(ctx, "INSERT INTO "+s.t("compare_runs")+
		" (kind, name, fingerprint, status, source, target, config_json, started_at, updated_at, version) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
		r.Kind, r.Name, fingerprint, r.Source, r.Target, string(config), r.StartedAt, now, version.String())
	if err != nil {
		return 0, fmt.Errorf("parity store: start run: %w", err)
	}
	return res.LastInsertId()
}

// ResumableRun finds the latest run of the same comparison that did not finish.
func (s *Store) ResumableRun(ctx context.Context, kind, fingerprint string) (int64, bool, error) {
	var id int64
	var status string
	err := s.db.QueryRowContext(ctx, "SELECT id, status FROM "+s.t("compare_runs")+
		" WHERE kind = ? AND fingerprint = ? ORDER BY id DESC LIMIT 1", kind, fingerprint).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("parity store: find run to resume: %w", err)
	}
	if status == "done" {
		return 0, false, nil
	}
	_, err = s.db.ExecContext(ctx, "UPDATE "+s.t("compare_runs")+" SET status = 'running', updated_at = ? WHERE id = ?", time.Now().UTC(), id)
	return id, err == nil, err
}

// LoadTables returns the saved progress of a run's tables.
func (s *Store) LoadTables(ctx context.Context, runID int64) ([]compare.TableProgress, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT source_table, target_table, resume_key, done, result_json FROM "+s.t("compare_tables")+" WHERE run_id = ? ORDER BY source_table, target_table", runID)
	if err != nil {
		return nil, fmt.Errorf("parity store: load progress of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []compare.TableProgress
	for rows.Next() {
		var tp compare.TableProgress
		var resume sql.NullString
		var result string
		if err := rows.Scan(&tp.Source, &tp.Target, &resume, &tp.Done, &result); err != nil {
			return nil, err
		}
		if resume.Valid && resume.String != "" {
			if err := json.Unmarshal([]byte(resume.String), &tp.Resume); err != nil {
				return nil, fmt.Errorf("parity store: run %d table %s: resume key: %w", runID, tp.Source, err)
			}
		}
		if err := json.Unmarshal([]byte(result), &tp.Result); err != nil {
			return nil, fmt.Errorf("parity store: run %d table %s: %w", runID, tp.Source, err)
		}
		out = append(out, tp)
	}
	return out, rows.Err()
}

// SaveTable writes a table's progress and result so far.
func (s *Store) SaveTable(ctx context.Context, runID int64, tp compare.TableProgress) error {
	result, err := json.Marshal(tp.Result)
	if err != nil {
		return err
	}
	var resume any
	if tp.Resume != nil {
		b, _ := json.Marshal(tp.Resume)
		resume = string(b)
	}
	r := tp.Result
	now := time.Now().UTC()
	_, err = s.db.ExecContext(ctx, "INSERT INTO "+s.t("compare_tables")+
		` (run_id, source_table, target_table, verdict, source_rows, target_rows, missing, extra, changed, in_flight, parity, chunks, resume_key, done, result_json, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE verdict = VALUES(verdict), source_rows = VALUES(source_rows), target_rows = VALUES(target_rows),
		missing = VALUES(missing), extra = VALUES(extra), changed = VALUES(changed), in_flight = VALUES(in_flight),
		parity = VALUES(parity), chunks = VALUES(chunks), resume_key = VALUES(resume_key), done = VALUES(done),
		result_json = VALUES(result_json), updated_at = VALUES(updated_at)`,
		runID, tp.Source, tp.Target, r.Verdict, r.SourceRows, r.TargetRows, r.Counts.Missing, r.Counts.Extra, r.Counts.Changed,
		r.Counts.InFlight, r.Parity, r.Chunks, resume, tp.Done, string(result), now)
	if err != nil {
		return fmt.Errorf("parity store: save table %s of run %d: %w", tp.Source, runID, err)
	}
	_, err = s.db.ExecContext(ctx, "UPDATE "+s.t("compare_runs")+" SET updated_at = ? WHERE id = ?", now, runID)
	return err
}

// FinishRun records a run's end, its report and the differing rows of its tables.
func (s *Store) FinishRun(ctx context.Context, r *report.Run) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("parity store: finish run %d: %w", r.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck
	now := time.Now().UTC()
	finished := now
	if r.FinishedAt != nil {
		finished = *r.FinishedAt
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+s.t("compare_runs")+
		" SET status = ?, verdict = ?, error = ?, report_json = ?, finished_at = ?, updated_at = ? WHERE id = ?",
		r.Status, r.Verdict, nullIfEmpty(r.Error), string(body), finished, now, r.ID); err != nil {
		return fmt.Errorf("parity store: finish run %d: %w", r.ID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.t("compare_diffs")+" WHERE run_id = ?", r.ID); err != nil {
		return fmt.Errorf("parity store: finish run %d: %w", r.ID, err)
	}
	for _, t := range r.Tables {
		ins := func(kind string, key report.Key, cols any) error {
			var cj any
			if cols != nil {
				b, _ := json.Marshal(cols)
				cj = string(b)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO "+s.t("compare_diffs")+
				" (run_id, source_table, target_table, kind, key_json, columns_json) VALUES (?, ?, ?, ?, ?, ?)",
				r.ID, t.Source, t.Target, kind, key.String(), cj)
			return err
		}
		for _, k := range t.Missing {
			if err := ins("missing", k, nil); err != nil {
				return fmt.Errorf("parity store: save differences of %s: %w", t.Source, err)
			}
		}
		for _, k := range t.Extra {
			if err := ins("extra", k, nil); err != nil {
				return fmt.Errorf("parity store: save differences of %s: %w", t.Source, err)
			}
		}
		for _, c := range t.Changed {
			if err := ins("changed", c.Key, c.Columns); err != nil {
				return fmt.Errorf("parity store: save differences of %s: %w", t.Source, err)
			}
		}
	}
	for _, e := range r.Endpoints {
		if err := saveEndpoint(ctx, tx, s, r.ID, e); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// SaveEndpoints writes a shadow run's per-endpoint results so far.
func (s *Store) SaveEndpoints(ctx context.Context, runID int64, es []report.Endpoint) error {
	for _, e := range es {
		if err := saveEndpoint(ctx, s.db, s, runID, e); err != nil {
			return err
		}
	}
	_, err := s.db.ExecContext(ctx, "UPDATE "+s.t("compare_runs")+" SET updated_at = ? WHERE id = ?", time.Now().UTC(), runID)
	return err
}

func saveEndpoint(ctx context.Context, x execer, s *Store, runID int64, e report.Endpoint) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = x.ExecContext(ctx, "INSERT INTO "+s.t("compare_endpoints")+
		` (run_id, endpoint, requests, compared, matches, mismatches, errors, result_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE requests = VALUES(requests), compared = VALUES(compared), matches = VALUES(matches),
		mismatches = VALUES(mismatches), errors = VALUES(errors), result_json = VALUES(result_json), updated_at = VALUES(updated_at)`,
		runID, truncate(e.Endpoint, 191), e.Requests, e.Compared, e.Matches, e.Mismatches, e.CandidateErrors, string(body), time.Now().UTC())
	if err != nil {
		return fmt.Errorf("parity store: save endpoint %s of run %d: %w", e.Endpoint, runID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Query selects runs for a report.
type Query struct {
	Kind  string  // data, shadow, or "" for both
	Limit int     // newest first; 0: 50
	IDs   []int64 // only these runs
}

// Runs returns runs, newest first, with their tables and endpoints (from the tables'
// latest saved state, so unfinished runs show their progress).
func (s *Store) Runs(ctx context.Context, q Query) ([]report.Run, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	where := []string{"1=1"}
	var args []any
	if q.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, q.Kind)
	}
	if len(q.IDs) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(q.IDs)), ",")
		where = append(where, "id IN ("+ph+")")
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, "SELECT id, kind, name, status, verdict, source, target, COALESCE(error, ''), started_at, finished_at FROM "+
		s.t("compare_runs")+" WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("parity store: read runs: %w", err)
	}
	var out []report.Run
	for rows.Next() {
		var r report.Run
		var started []byte
		var finished []byte
		if err := rows.Scan(&r.ID, &r.Kind, &r.Name, &r.Status, &r.Verdict, &r.Source, &r.Target, &r.Error, &started, &finished); err != nil {
			rows.Close()
			return nil, err
		}
		r.StartedAt = parseTime(started)
		if finished != nil {
			f := parseTime(finished)
			r.FinishedAt = &f
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.loadDetails(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseTime(b []byte) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, string(b), time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}

func (s *Store) loadDetails(ctx context.Context, r *report.Run) error {
	tps, err := s.LoadTables(ctx, r.ID)
	if err != nil {
		return err
	}
	for _, tp := range tps {
		t := tp.Result
		if !tp.Done && r.Status != "done" && t.Verdict == "" {
			t.Finish()
		}
		r.Tables = append(r.Tables, t)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT result_json FROM "+s.t("compare_endpoints")+" WHERE run_id = ? ORDER BY endpoint", r.ID)
	if err != nil {
		return fmt.Errorf("parity store: read endpoints of run %d: %w", r.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return err
		}
		var e report.Endpoint
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return fmt.Errorf("parity store: run %d: %w", r.ID, err)
		}
		r.Endpoints = append(r.Endpoints, e)
	}
	return rows.Err()
}
