package testenv

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// LoggedQuery is the statement of one binlog QUERY event, as the server logged it.
type LoggedQuery struct {
	DB        string // the event's default database ("" when none)
	Statement string
	File      string // the binlog file holding the event
	EndPos    uint32 // the position after the event
}

// BinlogQueries returns the QUERY events the server logged from file:pos (see
// MasterPosition) up to its current position, read with SHOW BINLOG EVENTS across
// rotations, and that position. Events of every session are included: filter on DB.
func BinlogQueries(t testing.TB, db *sql.DB, file string, pos uint32) ([]LoggedQuery, string, uint32) {
	t.Helper()
	endFile, endPos := MasterPosition(t, db)
	var files []string
	rows, err := db.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatalf("SHOW BINARY LOGS: %v", err)
	}
	for rows.Next() {
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(cols); i++ {
			vals[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		if name >= file && name <= endFile {
			files = append(files, name)
		}
	}
	_ = rows.Close()

	var out []LoggedQuery
	for i, f := range files {
		from := uint32(4)
		if f == file {
			from = pos
		}
		q := fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d", f, from)
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var logName, eventType, info string
			var evPos, serverID, endLogPos uint64
			if err := rows.Scan(&logName, &evPos, &eventType, &serverID, &endLogPos, &info); err != nil {
				t.Fatal(err)
			}
			if i == len(files)-1 && evPos >= uint64(endPos) {
				break
			}
			if eventType != "Query" {
				continue
			}
			lq := LoggedQuery{Statement: info, File: logName, EndPos: uint32(endLogPos)}
			if rest, ok := strings.CutPrefix(info, "use `"); ok {
				if end := strings.Index(rest, "`; "); end >= 0 {
					lq.DB = strings.ReplaceAll(rest[:end], "``", "`")
					lq.Statement = rest[end+3:]
				}
			}
			out = append(out, lq)
		}
		_ = rows.Close()
	}
	return out, endFile, endPos
}
