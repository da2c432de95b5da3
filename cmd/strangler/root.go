package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strangler/strangler/internal/cliconfig"
	"github.com/strangler/strangler/internal/version"
)

// globals are the settings every command has.
type globals struct {
	config    string
	logFormat string
	logLevel  string
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "strangler",
		Short: "Take a MySQL/MariaDB monolith apart into event-driven services on Kinesis",
		Long: `strangler takes a MySQL/MariaDB monolith apart into event-driven services on AWS
Kinesis, the strangler-fig way: stream every row change of the legacy database into
Kinesis (cdc), mirror the monolith's writes (dualwrite), and prove the new services
match the old ones (compare).

Every setting can be given three ways, flags winning over the environment and the
environment over the file:
  --server-id 4242                      a flag
  STRANGLER_SERVER_ID=4242              an environment variable (STRANGLER_ + the flag in capitals)
  server-id: 4242                       a key of the YAML file given with --config
Lists (--include) are comma-separated in the environment and YAML lists in the file.

Database addresses are written mysql://user:pass@tcp(host:port)/db (a go-sql-driver DSN
after mysql://) and postgres://user:pass@host:port/db.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return cliconfig.Apply(cmd, g.config)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.config, "config", os.Getenv("STRANGLER_CONFIG"), "YAML file of settings named like the flags (env STRANGLER_CONFIG)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newCDCCommand(g), newStreamCommand(), newMigrateCommand(g), newCompareCommand(g), newCompensateCommand(g), newDualwriteCommand(g), newOutboxCommand(g), newVersionCommand())
	return root
}

// logger builds the structured logger of long-running commands, on stderr.
func (g *globals) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", g.logFormat)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print strangler's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "strangler", version.String())
			return nil
		},
	}
}
