package testenv

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// binlogMetadataLock serialises the tests that switch binlog_row_metadata, which is a
// server-wide setting.
const binlogMetadataLock = "strangler_binlog_metadata"

// WithMinimalRowMetadata runs write while the server logs row events with MINIMAL
// optional metadata (no column names, ENUM/SET labels or primary key), as a source with
// binlog_row_metadata=MINIMAL writes them, and restores FULL as soon as write returns.
//
// binlog_row_metadata is GLOBAL-only on MariaDB and, contrary to what one might expect,
// a session does not keep the value it started with: every table map is written with
// the global value of the moment (checked on 10.11). So the switch covers exactly the
// writes, under a named lock that serialises the tests using this helper. Writes of
// other tests in that window (a few milliseconds) also get MINIMAL metadata: tests that
// must see FULL metadata should take the same lock with LockRowMetadata.
func (d *MySQLDatabase) WithMinimalRowMetadata(t testing.TB, write func() error) {
	t.Helper()
	lock := LockRowMetadata(t, d.Root)
	defer lock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := OpenMySQL(t, d.Root)
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatalf("open a connection to switch binlog_row_metadata: %v", err)
	}
	defer conn.Close()
	defer func() {
		// Always restore FULL, also when write fails or the test stops.
		if _, err := conn.ExecContext(context.Background(), "SET GLOBAL binlog_row_metadata='FULL'"); err != nil {
			t.Errorf("restore binlog_row_metadata=FULL: %v", err)
		}
	}()
	if _, err := conn.ExecContext(ctx, "SET GLOBAL binlog_row_metadata='MINIMAL'"); err != nil {
		t.Fatalf("SET GLOBAL binlog_row_metadata='MINIMAL': %v", err)
	}
	if err := write(); err != nil {
		t.Fatalf("write with binlog_row_metadata=MINIMAL: %v", err)
	}
}

// LockRowMetadata takes the server-wide lock that WithMinimalRowMetadata holds while
// binlog_row_metadata is MINIMAL, and returns its release. A test whose writes must
// carry FULL metadata holds it around them.
func LockRowMetadata(t testing.TB, root string) (release func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db := OpenMySQL(t, root)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("open a connection for the lock %s: %v", binlogMetadataLock, err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", binlogMetadataLock).Scan(&got); err != nil {
		_ = conn.Close()
		t.Fatalf("GET_LOCK(%s): %v", binlogMetadataLock, err)
	}
	if !got.Valid || got.Int64 != 1 {
		_ = conn.Close()
		t.Fatalf("GET_LOCK(%s) timed out after 60 s: another test holds it", binlogMetadataLock)
	}
	return func() {
		// Closing the session would release the lock too; say so explicitly.
		_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", binlogMetadataLock)
		_ = conn.Close()
	}
}

// WithFullRowMetadata runs write while no other test can switch binlog_row_metadata to
// MINIMAL: for writes whose row events a test decodes from the binlog's own column names.
func (d *MySQLDatabase) WithFullRowMetadata(t testing.TB, write func() error) {
	t.Helper()
	release := LockRowMetadata(t, d.Root)
	defer release()
	if err := write(); err != nil {
		t.Fatalf("write with binlog_row_metadata=FULL: %v", err)
	}
}
