package shadow

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/strangler/strangler/dualwrite/event"
)

// Failure is one recorded failed mirror, for reconciliation.
type Failure struct {
	ID         int64
	Event      event.Event
	Target     string
	Reason     string
	Error      string
	FailedAt   time.Time
	ResolvedAt *time.Time
}

// ReadFailures returns recorded failures, oldest first, after the id after (0: from the
// start); only unresolved ones when unresolved is true. The comparator reads them.
func ReadFailures(ctx context.Context, db *sql.DB, prefix string, after int64, unresolved bool, limit int) ([]Failure, error) {
	if limit <= 0 {
		limit = 1000
	}
	table := FailuresTable(prefix)
	q := "SELECT `id`, `event`, `target`, `reason`, COALESCE(`error`, ''), `failed_at`, `resolved_at` FROM `" + table + "` WHERE `id` > ?"
	if unresolved {
		q += " AND `resolved_at` IS NULL"
	}
	q += " ORDER BY `id` LIMIT ?"
	rows, err := db.QueryContext(ctx, q, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var (
			f        Failure
			data     string
			failed   sql.NullString
			resolved sql.NullString
		)
		if err := rows.Scan(&f.ID, &data, &f.Target, &f.Reason, &f.Error, &failed, &resolved); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		ev, _, err := event.Unmarshal([]byte(data))
		if err != nil {
			return nil, fmt.Errorf("%s row %d: %w", table, f.ID, err)
		}
		f.Event = ev
		f.FailedAt = parseTime(failed.String)
		if resolved.Valid {
			t := parseTime(resolved.String)
			f.ResolvedAt = &t
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MarkResolved records that failures were reconciled.
func MarkResolved(ctx context.Context, db *sql.DB, prefix string, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	table := FailuresTable(prefix)
	_, err := db.ExecContext(ctx, "UPDATE `"+table+"` SET `resolved_at` = UTC_TIMESTAMP(6) WHERE `id` IN (?"+strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return fmt.Errorf("mark %d failure(s) of %s resolved: %w", len(ids), table, err)
	}
	return nil
}

// parseTime reads a DATETIME(6) scanned as text (or as RFC 3339 with parseTime=true).
func parseTime(s string) time.Time {
	if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC); err == nil {
		return t
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}
