package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/cdc/checkpoint"
	"github.com/strangler/strangler/internal/dburl"
)

// Status is where a pipeline stands against its source.
type Status struct {
	Checkpoint *checkpoint.Checkpoint `json:"checkpoint"` // nil when none is saved
	Head       binlog.Position        `json:"source_head"`
	// LagBytes is the binlog between the checkpoint and the head; -1 when the
	// checkpoint's file is no longer on the source (purged) or it has no file position.
	LagBytes int64 `json:"lag_bytes"`
	// LagSeconds is how far behind the last delivered change is: 0 when caught up.
	LagSeconds float64 `json:"lag_seconds"`
	// CheckpointAgeSeconds is how long ago the checkpoint was saved.
	CheckpointAgeSeconds float64 `json:"checkpoint_age_seconds"`
	Purged               bool    `json:"purged"`
}

// GetStatus reads a pipeline's checkpoint and compares it with the source's head.
func GetStatus(ctx context.Context, source, checkpointAddr, name, prefix string) (*Status, error) {
	if !strings.HasPrefix(source, "mysql://") {
		source = "mysql://" + source
	}
	dsn, err := dburl.MySQLDSN(source)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	info, err := binlog.Inspect(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", dburl.Redact(source), err)
	}
	if !info.LogBin {
		return nil, fmt.Errorf("source %s has binary logging off", dburl.Redact(source))
	}
	store, err := checkpoint.Open(ctx, checkpointAddr, name, prefix)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	cp, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Checkpoint: cp, Head: info.Head, LagBytes: -1}
	if cp == nil {
		return st, nil
	}
	st.CheckpointAgeSeconds = time.Since(cp.SavedAt).Seconds()
	caughtUp := cp.Resume.Skip == 0 && ((cp.Resume.GTID != "" && cp.Resume.GTID == info.Head.GTID) ||
		(cp.Resume.File == info.Head.File && cp.Resume.Pos == info.Head.Pos))
	if cp.Resume.File != "" {
		files, err := binlog.BinaryLogs(ctx, db)
		if err != nil {
			return nil, err
		}
		st.LagBytes = binlog.BytesBetween(files, cp.Resume.Position, info.Head)
		if st.LagBytes < 0 {
			st.Purged = true
		}
		if st.LagBytes == 0 {
			caughtUp = true
		}
	}
	if !caughtUp && !cp.EventTime.IsZero() {
		st.LagSeconds = time.Since(cp.EventTime).Seconds()
	}
	return st, nil
}
