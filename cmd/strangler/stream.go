package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/internal/streamadmin"
)

// streamFlags are the connection flags every `stream` subcommand shares.
type streamFlags struct {
	region   string
	endpoint string
}

func (f *streamFlags) client(ctx context.Context) (streamadmin.API, error) {
	c, err := kinesisclient.New(ctx, kinesisclient.Options{Region: f.region, Endpoint: f.endpoint})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newStreamCommand is `strangler stream`: create, describe, size and tail Kinesis streams.
func newStreamCommand() *cobra.Command {
	f := &streamFlags{}
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Create, describe, size and read Kinesis data streams",
		Long: `Create, describe, size and read the Kinesis data streams the CDC daemon writes to.

The endpoint comes from --kinesis-endpoint, else AWS_ENDPOINT_URL_KINESIS or
AWS_ENDPOINT_URL, else AWS itself; credentials and region from the AWS chain.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	pf.StringVar(&f.endpoint, "kinesis-endpoint", "", "Kinesis endpoint URL, e.g. http://127.0.0.1:4567 for kinesalite (default: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, or AWS)")
	cmd.AddCommand(newStreamCreateCommand(f), newStreamDescribeCommand(f), newStreamSizeCommand(), newStreamTailCommand(f))
	return cmd
}

// oneStreamArg explains the missing or extra argument instead of cobra's count message.
func oneStreamArg(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s needs the stream's name: %s", cmd.CommandPath(), example)
		case len(args) > 1:
			return fmt.Errorf("%s takes one stream name, got %d arguments (%q): %s", cmd.CommandPath(), len(args), args, example)
		}
		return streamadmin.ValidateName(args[0])
	}
}

func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--output %q: use text or json", output)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newStreamCreateCommand(f *streamFlags) *cobra.Command {
	var (
		o                   streamadmin.CreateOptions
		rps, recBytes, head float64
		output              string
	)
	cmd := &cobra.Command{
		Use:   "create NAME (--shards N | --on-demand | --records-per-sec R --avg-record-bytes B)",
		Short: "Create a stream and wait until it is ACTIVE",
		Long: `Create a stream, provisioned with --shards N, on-demand with --on-demand, or
provisioned with the shards a load needs (--records-per-sec and --avg-record-bytes,
plus --headroom; see strangler stream size). Waits until the stream is ACTIVE unless --wait=false.`,
		Example: `  strangler stream create orders --shards 4
  strangler stream create orders --records-per-sec 3000 --avg-record-bytes 900`,
		Args: oneStreamArg("strangler stream create NAME --shards N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			fl := cmd.Flags()
			byLoad := fl.Changed("records-per-sec") || fl.Changed("avg-record-bytes")
			var sized *streamadmin.SizeResult
			switch {
			case byLoad && (fl.Changed("shards") || o.OnDemand):
				return fmt.Errorf("give either --shards, --on-demand, or --records-per-sec with --avg-record-bytes, not several")
			case byLoad && !(fl.Changed("records-per-sec") && fl.Changed("avg-record-bytes")):
				return fmt.Errorf("sizing by load needs both --records-per-sec and --avg-record-bytes")
			case byLoad:
				r, err := streamadmin.Size(streamadmin.SizeInput{RecordsPerSecond: rps, AvgRecordBytes: recBytes, Headroom: head})
				if err != nil {
					return err
				}
				o.Shards, sized = r.Shards, &r
			case fl.Changed("shards") && o.Shards < 1:
				return fmt.Errorf("--shards %d: give at least 1", o.Shards)
			}
			if _, err := o.Input(args[0]); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			api, err := f.client(cmd.Context())
			if err != nil {
				return err
			}
			d, err := streamadmin.Create(cmd.Context(), api, args[0], o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				return writeJSON(out, d)
			}
			if sized != nil {
				fmt.Fprintf(out, "Sized for %v records/s of %v bytes with %v%% headroom: %d shard(s), %s limit binding.\n",
					rps, recBytes, head*100, sized.Shards, sized.Binding)
			}
			if d.Status != "ACTIVE" {
				fmt.Fprintf(out, "Created %s; it is %s (not waiting: see strangler stream describe %s).\n", d.Name, d.Status, d.Name)
			} else {
				fmt.Fprintf(out, "Created %s; it is ACTIVE.\n", d.Name)
			}
			return d.WriteText(out)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Shards, "shards", 0, "provisioned shards (each takes 1,000 records/s and 1 MiB/s)")
	fl.BoolVar(&o.OnDemand, "on-demand", false, "on-demand capacity mode: Kinesis scales the shards")
	fl.Float64Var(&rps, "records-per-sec", 0, "size by load: expected records per second")
	fl.Float64Var(&recBytes, "avg-record-bytes", 0, "size by load: average record size in bytes, data plus partition key")
	fl.Float64Var(&head, "headroom", streamadmin.DefaultHeadroom, "size by load: spare share on top of the load")
	fl.IntVar(&o.MaxRecordKiB, "max-record-kib", 0, "largest record the stream accepts, 1024 to 10240 KiB (default: Kinesis's 1024)")
	fl.BoolVar(&o.Wait, "wait", true, "wait until the stream is ACTIVE")
	fl.DurationVar(&o.WaitTimeout, "wait-timeout", 5*time.Minute, "give up waiting for ACTIVE after this long")
	fl.StringVar(&output, "output", "text", "text or json")
	return cmd
}

func newStreamDescribeCommand(f *streamFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a stream's status, mode, shards, retention and encryption",
		Args:  oneStreamArg("strangler stream describe NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			api, err := f.client(cmd.Context())
			if err != nil {
				return err
			}
			d, err := streamadmin.Describe(cmd.Context(), api, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			return d.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "text or json")
	return cmd
}

func newStreamSizeCommand() *cobra.Command {
	var (
		in     streamadmin.SizeInput
		output string
	)
	cmd := &cobra.Command{
		Use:   "size --records-per-sec R --avg-record-bytes B [--headroom 0.25]",
		Short: "Compute the provisioned shards a write load needs",
		Long: `Compute the provisioned shards a write load needs from Kinesis's per-shard ingest
limits (1,000 records/s and 1 MiB/s, whichever is reached first) and say which limit binds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			fl := cmd.Flags()
			if !fl.Changed("records-per-sec") || !fl.Changed("avg-record-bytes") {
				return fmt.Errorf("give the load: --records-per-sec R --avg-record-bytes B (data plus partition key)")
			}
			r, err := streamadmin.Size(in)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&in.RecordsPerSecond, "records-per-sec", 0, "expected records per second")
	fl.Float64Var(&in.AvgRecordBytes, "avg-record-bytes", 0, "average record size in bytes, data plus partition key")
	fl.Float64Var(&in.Headroom, "headroom", streamadmin.DefaultHeadroom, "spare share on top of the load (0.25 plans for 125%)")
	fl.StringVar(&output, "output", "text", "text or json")
	return cmd
}

func newStreamTailCommand(f *streamFlags) *cobra.Command {
	var o streamadmin.TailOptions
	cmd := &cobra.Command{
		Use:   "tail NAME [--from trim-horizon|latest] [--limit N] [--follow]",
		Short: "Print a stream's records, one JSON line each",
		Long: `Print a stream's records, one JSON line each: shard, sequence, partition_key, arrival,
and data (the record itself when it is JSON, else data_base64). Without --follow it stops
once every shard is read to its end.`,
		Example: `  strangler stream tail orders --limit 10
  strangler stream tail orders --from latest --follow | jq .data.after`,
		Args: oneStreamArg("strangler stream tail NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.From != streamadmin.FromTrimHorizon && o.From != streamadmin.FromLatest {
				return fmt.Errorf("--from %q: use %s or %s", o.From, streamadmin.FromTrimHorizon, streamadmin.FromLatest)
			}
			if o.Limit < 0 {
				return fmt.Errorf("--limit %d: give 0 (no limit) or a positive count", o.Limit)
			}
			cmd.SilenceUsage = true
			api, err := f.client(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			return streamadmin.Tail(cmd.Context(), api, args[0], o, func(r streamadmin.TailRecord) error {
				return enc.Encode(r)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.From, "from", streamadmin.FromTrimHorizon, "where to start in each shard: trim-horizon (oldest retained) or latest")
	fl.IntVar(&o.Limit, "limit", 0, "stop after N records (0: no limit)")
	fl.BoolVar(&o.Follow, "follow", false, "keep printing new records until interrupted")
	fl.DurationVar(&o.PollInterval, "poll-interval", time.Second, "wait between reads of a shard with nothing new")
	return cmd
}
