package journal

import (
	"context"
	"database/sql"
	"time"
)

// Cursor is where a consumer is in one shard.
type Cursor struct {
	Sequence string // last sequence number handled; empty: start at the oldest record
	Finished bool   // the shard is closed and was read to its end
}

// ClaimShard takes (or renews) owner's lease on a shard for consumer and returns the
// shard's cursor. It reports false when another live instance reads the shard or the
// shard is finished.
func (s *Store) ClaimShard(ctx context.Context, consumer, stream, shard, owner string, lease time.Duration) (Cursor, bool, error) {
	what := "claim shard " + stream + "/" + shard
	if _, err := s.db.ExecContext(ctx, "INSERT INTO "+s.cursors+" (consumer, stream, shard, updated_at) VALUES (?, ?, ?, "+now+
		") ON DUPLICATE KEY UPDATE consumer = consumer", consumer, stream, shard); err != nil {
		return Cursor{}, false, wrap(err, what)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE "+s.cursors+" SET lease_owner = ?, lease_until = "+later+", updated_at = "+now+
		" WHERE consumer = ? AND stream = ? AND shard = ? AND finished = 0 AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < "+now+")",
		owner, micros(lease), consumer, stream, shard, owner); err != nil {
		return Cursor{}, false, wrap(err, what)
	}
	var cur Cursor
	var seq, holder sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT sequence, finished, lease_owner FROM "+s.cursors+" WHERE consumer = ? AND stream = ? AND shard = ?",
		consumer, stream, shard).Scan(&seq, &cur.Finished, &holder); err != nil {
		return Cursor{}, false, wrap(err, what)
	}
	cur.Sequence = seq.String
	return cur, !cur.Finished && holder.String == owner, nil
}

// SaveCursor records the last sequence number handled in a shard, and whether the shard
// is finished, if owner still holds the shard; it returns ErrLeaseLost otherwise.
func (s *Store) SaveCursor(ctx context.Context, consumer, stream, shard, owner, seq string, finished bool, lease time.Duration) error {
	res, err := s.db.ExecContext(ctx, "UPDATE "+s.cursors+" SET sequence = COALESCE(?, sequence), finished = ?, lease_until = "+later+", updated_at = "+now+
		" WHERE consumer = ? AND stream = ? AND shard = ? AND lease_owner = ?",
		nullString(seq), finished, micros(lease), consumer, stream, shard, owner)
	if err != nil {
		return wrap(err, "save cursor of "+stream+"/"+shard)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// ReleaseShard gives up owner's lease on a shard, so another instance can take it at once.
func (s *Store) ReleaseShard(ctx context.Context, consumer, stream, shard, owner string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE "+s.cursors+" SET lease_owner = NULL, lease_until = NULL WHERE consumer = ? AND stream = ? AND shard = ? AND lease_owner = ?",
		consumer, stream, shard, owner)
	return wrap2(err, "release shard "+stream+"/"+shard)
}
