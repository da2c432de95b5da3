package main

import (
	"database/sql"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/migrations"
)

func newMigrateCommand(g *globals) *cobra.Command {
	var addr, prefix string
	open := func() (*sql.DB, *migrations.Migrator, error) {
		if addr == "" {
			return nil, nil, fmt.Errorf("--db is required: the MySQL/MariaDB database for the toolkit's tables, e.g. mysql://user:pass@tcp(host:3306)/strangler")
		}
		dsn, err := dburl.MySQLDSN(addr)
		if err != nil {
			return nil, nil, fmt.Errorf("--db: %w", err)
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, nil, err
		}
		m, err := migrations.New(db, prefix)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return db, m, nil
	}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the tables the toolkit keeps (checkpoints, outbox, journals, sagas, comparator runs)",
	}
	cmd.PersistentFlags().StringVar(&addr, "db", "", "database for the toolkit's tables: mysql://user:pass@tcp(host:port)/db (required)")
	cmd.PersistentFlags().StringVar(&prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's table names")
	up := &cobra.Command{
		Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, m, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			rs, err := m.Up(cmd.Context())
			for _, r := range rs {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %05d %s (%s)\n", r.Version, r.Name, r.Duration.Round(1e6))
			}
			if err == nil && len(rs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "up to date")
			}
			return err
		},
	}
	down := &cobra.Command{
		Use: "down", Short: "Roll back the latest migration", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, m, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := m.Down(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolled back %05d %s\n", r.Version, r.Name)
			return nil
		},
	}
	status := &cobra.Command{
		Use: "status", Short: "List migrations and whether each is applied", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, m, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			ss, err := m.Status(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
			for _, s := range ss {
				applied := "pending"
				if s.Applied {
					applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(w, "%05d\t%s\t%s\n", s.Version, s.Name, applied)
			}
			return w.Flush()
		},
	}
	cmd.AddCommand(up, down, status)
	return cmd
}
