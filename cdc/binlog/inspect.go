package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Flavors of source the reader speaks to.
const (
	FlavorMySQL   = "mysql"
	FlavorMariaDB = "mariadb"
)

// SourceInfo is what the reader needs to know about a source before streaming from it.
type SourceInfo struct {
	Version    string
	Flavor     string // mysql or mariadb
	ServerID   uint32
	ServerUUID string // MySQL only

	LogBin              bool
	BinlogFormat        string
	BinlogRowImage      string
	BinlogRowMetadata   string // NO_LOG (MariaDB default), MINIMAL, FULL; empty on servers without it
	BinlogRowValueOpts  string // MySQL: PARTIAL_JSON makes updates carry JSON diffs, not rows
	BinlogChecksum      string
	GTIDMode            bool // the source writes GTIDs (always on MariaDB, gtid_mode=ON on MySQL)
	BinlogExpireSeconds int64

	Grants []string // SHOW GRANTS lines of the current user

	Head    Position // the source's current end of binlog
	HeadErr error    // why Head could not be read (missing privilege)
}

// Inspect reads the source's version, binlog settings, grants and head position.
func Inspect(ctx context.Context, db *sql.DB) (*SourceInfo, error) {
	info := &SourceInfo{}
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&info.Version); err != nil {
		return nil, fmt.Errorf("inspect source: SELECT VERSION(): %w", err)
	}
	info.Flavor = FlavorMySQL
	if strings.Contains(strings.ToLower(info.Version), "mariadb") {
		info.Flavor = FlavorMariaDB
	}
	vars, err := variables(ctx, db, "log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata",
		"binlog_row_value_options", "binlog_checksum", "gtid_mode", "server_id", "server_uuid",
		"binlog_expire_logs_seconds", "expire_logs_days")
	if err != nil {
		return nil, err
	}
	info.LogBin = isOn(vars["log_bin"])
	info.BinlogFormat = strings.ToUpper(vars["binlog_format"])
	info.BinlogRowImage = strings.ToUpper(vars["binlog_row_image"])
	info.BinlogRowMetadata = strings.ToUpper(vars["binlog_row_metadata"])
	info.BinlogRowValueOpts = strings.ToUpper(vars["binlog_row_value_options"])
	info.BinlogChecksum = strings.ToUpper(vars["binlog_checksum"])
	info.ServerUUID = vars["server_uuid"]
	if id, err := strconv.ParseUint(vars["server_id"], 10, 32); err == nil {
		info.ServerID = uint32(id)
	}
	info.GTIDMode = info.Flavor == FlavorMariaDB || strings.EqualFold(vars["gtid_mode"], "ON")
	if s, err := strconv.ParseInt(vars["binlog_expire_logs_seconds"], 10, 64); err == nil && s > 0 {
		info.BinlogExpireSeconds = s
	} else if d, err := strconv.ParseFloat(vars["expire_logs_days"], 64); err == nil && d > 0 {
		info.BinlogExpireSeconds = int64(d * 86400)
	}

	rows, err := db.QueryContext(ctx, "SHOW GRANTS FOR CURRENT_USER()")
	if err == nil {
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err == nil {
				info.Grants = append(info.Grants, g)
			}
		}
		rows.Close()
	}

	if info.LogBin {
		// A missing privilege is reported by Check with the other problems.
		info.Head, info.HeadErr = HeadPosition(ctx, db, info.Flavor)
	}
	return info, nil
}

// HeadPosition returns the source's current end of binlog, with its GTID set.
func HeadPosition(ctx context.Context, db *sql.DB, flavor string) (Position, error) {
	var pos Position
	var cols []string
	var vals []sql.NullString
	err := queryOneRow(ctx, db, []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"}, &cols, &vals)
	if err != nil {
		return pos, fmt.Errorf("read the source's binlog position (needs REPLICATION CLIENT, BINLOG MONITOR on MariaDB): %w", err)
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			pos.File = vals[i].String
		case "position":
			p, _ := strconv.ParseUint(vals[i].String, 10, 32)
			pos.Pos = uint32(p)
		case "executed_gtid_set":
			pos.GTID = strings.ReplaceAll(vals[i].String, "\n", "")
		}
	}
	if pos.File == "" {
		return pos, errors.New("the source reports no binlog file: binary logging is off (set log_bin)")
	}
	if flavor == FlavorMariaDB {
		if err := db.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos.GTID); err != nil {
			return pos, fmt.Errorf("read @@gtid_binlog_pos: %w", err)
		}
	}
	return pos, nil
}

// BinaryLogs lists the source's binlog files and their sizes, oldest first.
func BinaryLogs(ctx context.Context, db *sql.DB) ([]LogFile, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("SHOW BINARY LOGS (needs REPLICATION CLIENT, BINLOG MONITOR on MariaDB): %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []LogFile
	for rows.Next() {
		dest := make([]any, len(cols))
		var lf LogFile
		dest[0], dest[1] = &lf.Name, &lf.Size
		for i := 2; i < len(cols); i++ {
			dest[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, lf)
	}
	return out, rows.Err()
}

// LogFile is one binlog file on the source.
type LogFile struct {
	Name string
	Size int64
}

// BytesBetween counts binlog bytes from a to b using the source's file sizes; -1 when
// a's file is no longer on the source.
func BytesBetween(files []LogFile, a, b Position) int64 {
	if Compare(a, b) >= 0 {
		return 0
	}
	var n int64
	started := false
	for _, f := range files {
		switch {
		case f.Name == a.File && f.Name == b.File:
			return int64(b.Pos) - int64(a.Pos)
		case f.Name == a.File:
			started = true
			n += f.Size - int64(a.Pos)
		case f.Name == b.File:
			if !started {
				return -1
			}
			return n + int64(b.Pos)
		case started:
			n += f.Size
		}
	}
	if !started {
		return -1
	}
	return n
}

// Problem is one reason a source is not fit for CDC, with its fix.
type Problem struct {
	Setting string
	Found   string
	Fix     string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s is %s: %s", p.Setting, p.Found, p.Fix)
}

// PreflightError lists everything that stops `cdc run` from starting.
type PreflightError struct {
	Problems []Problem
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	b.WriteString("the source is not set up for change data capture:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Check returns a *PreflightError naming each setting that keeps the source from being
// read safely, or nil. serverID is the replica id the daemon will use.
func (s *SourceInfo) Check(serverID uint32) error {
	var ps []Problem
	setGlobal := func(v string) string {
		if s.Flavor == FlavorMariaDB {
			return "set " + v + " in the server configuration ([mariadbd] section) and restart, or SET GLOBAL " + v + " for new sessions"
		}
		return "set " + v + " in the server configuration ([mysqld] section) and restart, or SET PERSIST " + v
	}
	if !s.LogBin {
		ps = append(ps, Problem{"log_bin", "OFF", "start the server with --log-bin (and a unique --server-id); binary logging cannot be turned on without a restart"})
	} else {
		if s.BinlogFormat != "ROW" {
			ps = append(ps, Problem{"binlog_format", orUnset(s.BinlogFormat), setGlobal("binlog_format=ROW") + "; STATEMENT and MIXED binlogs do not carry row values"})
		}
		if s.BinlogRowImage != "" && s.BinlogRowImage != "FULL" {
			ps = append(ps, Problem{"binlog_row_image", s.BinlogRowImage, setGlobal("binlog_row_image=FULL") + "; MINIMAL and NOBLOB images leave columns out of events"})
		}
		if strings.Contains(s.BinlogRowValueOpts, "PARTIAL_JSON") {
			ps = append(ps, Problem{"binlog_row_value_options", s.BinlogRowValueOpts, setGlobal("binlog_row_value_options=''") + "; PARTIAL_JSON logs JSON diffs instead of whole values"})
		}
	}
	if serverID == 0 {
		ps = append(ps, Problem{"--server-id", "0", "give the daemon a replica id that no other replica of this source uses"})
	} else if serverID == s.ServerID {
		ps = append(ps, Problem{"--server-id", strconv.FormatUint(uint64(serverID), 10), "that is the source's own server_id: choose another id, unique among the source's replicas"})
	}
	if len(s.Grants) > 0 && !s.hasGrant("REPLICATION SLAVE", "REPLICATION REPLICA") {
		ps = append(ps, Problem{"privilege REPLICATION SLAVE", "missing", "GRANT REPLICATION SLAVE ON *.* TO the daemon's user"})
	}
	if (len(s.Grants) > 0 && !s.hasGrant("REPLICATION CLIENT", "BINLOG MONITOR")) || s.HeadErr != nil {
		found := "missing"
		if s.HeadErr != nil {
			found = "missing (" + s.HeadErr.Error() + ")"
		}
		ps = append(ps, Problem{"privilege REPLICATION CLIENT", found, "GRANT REPLICATION CLIENT ON *.* TO the daemon's user (BINLOG MONITOR on MariaDB 10.5+)"})
	}
	if len(ps) == 0 {
		return nil
	}
	return &PreflightError{Problems: ps}
}

// Warnings are settings that work but that a user should know about.
func (s *SourceInfo) Warnings() []string {
	var w []string
	if s.BinlogRowMetadata != "FULL" {
		w = append(w, fmt.Sprintf("binlog_row_metadata is %s: column names come from the schema history kept with the checkpoint; FULL (MySQL 8.0.1+, MariaDB 10.5+) puts them in the binlog and is safer", orUnset(s.BinlogRowMetadata)))
	}
	if s.BinlogChecksum != "" && s.BinlogChecksum != "CRC32" {
		w = append(w, "binlog_checksum is "+s.BinlogChecksum+": events are not verified in transit; CRC32 is recommended")
	}
	return w
}

// grantRE matches the privilege list of a global grant: GRANT a, b ON *.* TO ...
var grantRE = regexp.MustCompile(`(?i)^GRANT (.+) ON \*\.\* TO `)

func (s *SourceInfo) hasGrant(names ...string) bool {
	roles := false
	for _, g := range s.Grants {
		m := grantRE.FindStringSubmatch(g)
		if m == nil {
			// A grant of a role (GRANT `role` TO user) may carry the privilege: we cannot
			// tell from here, so the reader's connection will be the judge.
			if strings.HasPrefix(strings.ToUpper(g), "GRANT `") || strings.HasPrefix(strings.ToUpper(g), "GRANT '") {
				roles = true
			}
			continue
		}
		privs := strings.ToUpper(m[1])
		if strings.Contains(privs, "ALL PRIVILEGES") {
			return true
		}
		for _, n := range names {
			if strings.Contains(privs, n) {
				return true
			}
		}
	}
	return roles
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

func isOn(v string) bool {
	v = strings.ToUpper(v)
	return v == "ON" || v == "1"
}

// variables reads global variables by name; a variable the server lacks is absent.
func variables(ctx context.Context, db *sql.DB, names ...string) (map[string]string, error) {
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + ")"
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("inspect source: read global variables: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[strings.ToLower(k)] = v
	}
	return out, rows.Err()
}

// queryOneRow runs the first of queries the server understands and returns its first row
// as strings (SHOW MASTER STATUS became SHOW BINARY LOG STATUS in MySQL 8.4).
func queryOneRow(ctx context.Context, db *sql.DB, queries []string, cols *[]string, vals *[]sql.NullString) error {
	var lastErr error
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			lastErr = err
			continue
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			return err
		}
		*cols = c
		*vals = make([]sql.NullString, len(c))
		if !rows.Next() {
			return rows.Err()
		}
		dest := make([]any, len(c))
		for i := range dest {
			dest[i] = &(*vals)[i]
		}
		return rows.Scan(dest...)
	}
	return lastErr
}
