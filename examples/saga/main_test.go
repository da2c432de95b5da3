package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv()
	os.Exit(m.Run())
}

// The example runs end to end: one order completes, three are compensated at each step.
func TestExampleRuns(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	dsn, err := dburl.MySQLDSN(db.Addr)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	results, err := run(ctx, settings{dsn: dsn, endpoint: testenv.KinesisEndpoint(t), commands: testenv.NewStream(t, 1), replies: testenv.NewStream(t, 1),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out)
	require.NoError(t, err, out.String())
	require.Len(t, results, 4)
	states := func(g compensate.Saga) string {
		var s []string
		for _, st := range g.Steps {
			s = append(s, string(st.State))
		}
		return string(g.State) + ": " + strings.Join(s, " ")
	}
	require.Equal(t, "completed: done done done", states(results[0]))
	require.Equal(t, "compensated: failed pending pending", states(results[1]))
	require.Contains(t, results[1].Error, "out of stock")
	require.Equal(t, "compensated: compensated failed pending", states(results[2]))
	require.Contains(t, results[2].Error, "payment declined")
	require.Equal(t, "compensated: compensated compensated failed", states(results[3]))
	require.Contains(t, results[3].Error, "no shipping address")

	var stock int
	require.NoError(t, db.DB.QueryRow("SELECT stock FROM inventory WHERE sku = 'book'").Scan(&stock))
	require.Equal(t, 8, stock, "only the completed order's 2 books left the shelf")
	var charged, refunded int
	require.NoError(t, db.DB.QueryRow("SELECT COUNT(*), COALESCE(SUM(refunded), 0) FROM payments").Scan(&charged, &refunded))
	require.Equal(t, []int{2, 1}, []int{charged, refunded}, "o-100 charged; o-103 charged then refunded")
	require.Contains(t, out.String(), "o-100  completed")
}
