package dualwrite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// sequencer numbers each aggregate's events in the legacy transaction
// (Config.LockAggregates). Upserting the aggregate's row locks it until commit, so two
// transactions writing events of one aggregate are serialised: their numbers follow
// their commit order, and a rolled-back transaction's numbers are rolled back with it.
type sequencer struct {
	table string
}

func newSequencer(ctx context.Context, db *sql.DB, prefix string) (*sequencer, error) {
	s := &sequencer{table: prefix + "aggregate_sequences"}
	if _, err := db.ExecContext(ctx, "SELECT 1 FROM `"+s.table+"` LIMIT 0"); err != nil {
		return nil, fmt.Errorf("LockAggregates: table %s: %w (create it with `strangler migrate up --table-prefix %s`)", s.table, err, prefix)
	}
	return s, nil
}

// assign locks the events' aggregates, in a fixed order so that two transactions with
// the same aggregates cannot deadlock on them, and sets each event's Sequence.
func (s *sequencer) assign(ctx context.Context, tx Tx, evs []Event) error {
	type agg struct {
		typ, id string
		idx     []int
	}
	byKey := map[[2]string]*agg{}
	var aggs []*agg
	for i := range evs {
		k := [2]string{evs[i].AggregateType, evs[i].AggregateID}
		a := byKey[k]
		if a == nil {
			a = &agg{typ: k[0], id: k[1]}
			byKey[k] = a
			aggs = append(aggs, a)
		}
		a.idx = append(a.idx, i)
	}
	slices.SortFunc(aggs, func(a, b *agg) int { return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id)) })
	for _, a := range aggs {
		n := len(a.idx)
		// LAST_INSERT_ID(expr) hands the new last number back in the statement's result.
		res, err := tx.ExecContext(ctx, "INSERT INTO `"+s.table+"` (`aggregate_type`, `aggregate_id`, `sequence`) VALUES (?, ?, LAST_INSERT_ID(?)) ON DUPLICATE KEY UPDATE `sequence` = LAST_INSERT_ID(`sequence` + ?)",
			a.typ, a.id, n, n)
		if err != nil {
			return fmt.Errorf("lock aggregate %s %s: %w", a.typ, a.id, err)
		}
		last, err := res.LastInsertId()
		if err != nil || last < int64(n) {
			return fmt.Errorf("lock aggregate %s %s: no sequence returned (%v)", a.typ, a.id, err)
		}
		for j, i := range a.idx {
			evs[i].Sequence = uint64(last) - uint64(n) + uint64(j) + 1
		}
	}
	return nil
}

func (s *sequencer) close() error { return nil }
