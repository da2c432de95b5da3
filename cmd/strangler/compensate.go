package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/migrations"
)

// compensateFlags are the flags every `compensate` subcommand shares.
type compensateFlags struct {
	addr, prefix, output string
}

func (f *compensateFlags) open() (*sql.DB, *journal.Store, error) {
	if err := checkOutput(f.output); err != nil {
		return nil, nil, err
	}
	if f.addr == "" {
		return nil, nil, fmt.Errorf("--db is required: the MySQL/MariaDB database holding the saga tables, e.g. mysql://user:pass@tcp(host:3306)/app")
	}
	dsn, err := dburl.MySQLDSN(f.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--db: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, nil, err
	}
	s, err := journal.New(db, f.prefix)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, s, nil
}

// newCompensateCommand is `strangler compensate`: look at and repair the sagas of the
// compensate engine, from their journal.
func newCompensateCommand(g *globals) *cobra.Command {
	f := &compensateFlags{}
	cmd := &cobra.Command{
		Use:   "compensate",
		Short: "List, inspect and retry the sagas of the compensate engine",
		Long: `List, inspect and retry the sagas the compensate engine keeps in its journal tables.

A saga whose compensation kept failing is "stuck": the engine stops retrying it and
waits for an operator. Find them with 'list --stuck', see why with 'show ID', fix the
cause (the service down, the data it trips on), then 'retry ID': the engines running
the recovery loop (Engine.Run) take it up again with a fresh retry budget.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.addr, "db", "", "database holding the saga tables: mysql://user:pass@tcp(host:port)/db (required)")
	pf.StringVar(&f.prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's table names")
	pf.StringVar(&f.output, "output", "text", "output format: text or json")
	cmd.AddCommand(newCompensateListCommand(f), newCompensateShowCommand(f), newCompensateRetryCommand(f), newCompensatePurgeCommand(f))
	return cmd
}

func newCompensateListCommand(f *compensateFlags) *cobra.Command {
	var (
		stuck  bool
		states []string
		name   string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sagas, newest first",
		Example: `  strangler compensate list --stuck --db 'mysql://app:secret@tcp(db:3306)/shop'
  strangler compensate list --state running,compensating --name place-order --output json --db ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := journal.Filter{Name: name, Limit: limit}
			if stuck {
				states = append(states, string(journal.Stuck))
			}
			for _, s := range states {
				st := journal.SagaState(strings.TrimSpace(s))
				if !st.Valid() {
					return fmt.Errorf("--state %q: use %s", s, stateNames())
				}
				filter.States = append(filter.States, st)
			}
			if limit < 1 {
				return fmt.Errorf("--limit %d: give 1 or more", limit)
			}
			db, s, err := f.open()
			if err != nil {
				return err
			}
			defer db.Close()
			sagas, err := s.List(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if f.output == "json" {
				if sagas == nil {
					sagas = []journal.Saga{}
				}
				return writeJSON(cmd.OutOrStdout(), sagas)
			}
			if len(sagas) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No sagas match.")
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSAGA\tSTATE\tSTEP\tUPDATED\tERROR")
			for _, g := range sagas {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.Name, g.State, g.StepName, stamp(g.UpdatedAt), oneLine(g.Error, 100))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&stuck, "stuck", false, "only stuck sagas (same as --state stuck)")
	cmd.Flags().StringSliceVar(&states, "state", nil, "only sagas in these states: "+stateNames())
	cmd.Flags().StringVar(&name, "name", "", "only sagas of this definition name")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many sagas")
	return cmd
}

func stateNames() string {
	var out []string
	for _, s := range journal.States {
		out = append(out, string(s))
	}
	return strings.Join(out, ", ")
}

// sagaIDArg explains a missing saga id instead of cobra's count message.
func sagaIDArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs one saga id (find them with `strangler compensate list`), got %d arguments", cmd.CommandPath(), len(args))
	}
	return nil
}

// shown is a saga as `show --output json` prints it: with its input.
type shown struct {
	journal.Saga
	Input json.RawMessage `json:"input"`
}

func newCompensateShowCommand(f *compensateFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a saga: its steps and every attempt of their actions and compensations",
		Example: `  strangler compensate show 0193c1c4-5b0e-7d55-9b1c-0a4c3d2e1f00 --db 'mysql://app:secret@tcp(db:3306)/shop'`,
		Args:    sagaIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, s, err := f.open()
			if err != nil {
				return err
			}
			defer db.Close()
			g, err := s.Load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.Attempts, err = s.Attempts(cmd.Context(), g.ID); err != nil {
				return err
			}
			if f.output == "json" {
				in := json.RawMessage(g.Input)
				if !json.Valid(in) {
					in, _ = json.Marshal(string(g.Input))
				}
				return writeJSON(cmd.OutOrStdout(), shown{Saga: *g, Input: in})
			}
			return printSaga(cmd.OutOrStdout(), g)
		},
	}
}

func printSaga(out io.Writer, g *journal.Saga) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	next := ""
	if g.State.Active() {
		next = stamp(g.NextRunAt)
	}
	lease := "none"
	if g.LeaseOwner != "" {
		lease = g.LeaseOwner + " until " + stamp(g.LeaseUntil)
	}
	for _, kv := range [][2]string{
		{"Saga", g.ID}, {"Name", g.Name}, {"State", string(g.State)}, {"Error", g.Error},
		{"Created", stamp(g.CreatedAt)}, {"Updated", stamp(g.UpdatedAt)}, {"Finished", stamp(g.FinishedAt)},
		{"Next run", next}, {"Lease", lease}, {"Retries", fmt.Sprint(g.Retries)}, {"Input", oneLine(string(g.Input), 200)},
	} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "STEP\tNAME\tKIND\tSTATE\tACTIONS\tCOMPENSATIONS\tNEXT ATTEMPT\tERROR")
	for _, st := range g.Steps {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", st.Index, st.Name, st.Kind, st.State, st.ActionAttempts, st.CompAttempts,
			stamp(st.NextAttemptAt), oneLine(st.Error, 80))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ATTEMPT\tSTEP\tOP\tOWNER\tSTARTED\tFINISHED\tOUTCOME\tERROR")
	for _, a := range g.Attempts {
		outcome := string(a.Outcome)
		if a.FinishedAt.IsZero() {
			outcome = "in flight"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Attempt, a.Step, a.Op, a.Owner, stamp(a.StartedAt), stamp(a.FinishedAt), outcome, oneLine(a.Error, 80))
	}
	return w.Flush()
}

func newCompensateRetryCommand(f *compensateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Re-arm a stuck saga: its compensations are tried again with a fresh retry budget",
		Long: `Re-arm a stuck saga. Its state goes back to compensating and its compensations get a
fresh retry budget; any engine running the recovery loop picks it up at once. Fix what
made the compensation fail first, or it gets stuck again.`,
		Example: `  strangler compensate retry 0193c1c4-5b0e-7d55-9b1c-0a4c3d2e1f00 --db 'mysql://app:secret@tcp(db:3306)/shop'`,
		Args:    sagaIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, s, err := f.open()
			if err != nil {
				return err
			}
			defer db.Close()
			if err := s.Retry(cmd.Context(), args[0]); err != nil {
				return err
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"id": args[0], "state": string(journal.Compensating)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Saga %s re-armed: compensating again; a running engine picks it up.\n", args[0])
			return nil
		},
	}
}

func newCompensatePurgeCommand(f *compensateFlags) *cobra.Command {
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:     "purge",
		Short:   "Delete sagas that completed or were compensated long ago (never stuck or active ones)",
		Example: `  strangler compensate purge --older-than 720h --db 'mysql://app:secret@tcp(db:3306)/shop'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan <= 0 {
				return fmt.Errorf("--older-than %s: give how old an ended saga must be to go, e.g. 720h", olderThan)
			}
			db, s, err := f.open()
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := s.Purge(cmd.Context(), olderThan)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]int{"purged": n})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Purged %d saga(s) that ended over %s ago.\n", n, olderThan)
			return nil
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "delete sagas that ended longer ago than this (required), e.g. 720h")
	return cmd
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
