// Package cdc is the change data capture daemon: it wires the stages a row change passes
// through, in one direction:
//
//	binlog.Reader -> decoder.Decoder -> relay (encode, track) -> sink.Sink -> checkpoint.Checkpointer
//
// The reader hands out binlog events in order across reconnections; the decoder turns
// them into change events with the columns of their time; the relay encodes each one,
// tells the checkpointer about it and passes it to the sink; the sink acknowledges what it
// has delivered; the checkpointer saves the position up to which everything is delivered.
package cdc

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/strangler/strangler/cdc/binlog"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/migrations"
)

// Config is everything `strangler cdc run` is told.
type Config struct {
	Source   string // mysql:// address or bare go-sql-driver DSN
	Flavor   string // auto, mysql, mariadb
	ServerID uint32
	Include  []string
	Exclude  []string

	Sink            string // kinesis, stdout, file:PATH, discard
	Stream          string
	Region          string
	KinesisEndpoint string
	// Kinesis sink tuning.
	MaxRecordBytes int
	Linger         time.Duration
	MaxInFlight    int
	MinRate        float64 // floor of the adaptive send rate, records/s
	SinkRetryTime  time.Duration
	Oversize       string // fail or skip
	DeadLetterPath string

	Checkpoint         string // file:PATH or mysql://...
	CheckpointInterval time.Duration
	Name               string // pipeline name: the checkpoint's key
	TablePrefix        string
	Start              string // earliest, latest, gtid:SET, file:NAME:POS
	ResetCheckpoint    bool
	StopAt             string // file:NAME:POS: stop once everything before it is delivered

	SourceRetryTimeout time.Duration
	ShutdownTimeout    time.Duration
	MetricsAddr        string

	// Routers turn some changes into records of their own (the outbox router); library
	// users may add theirs.
	Routers []Router

	Logger *slog.Logger
	Stdout io.Writer // where the stdout sink writes
}

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	return Config{
		Flavor:             "auto",
		ServerID:           0,
		Sink:               "kinesis",
		MaxRecordBytes:     1 << 20,
		Linger:             50 * time.Millisecond,
		MaxInFlight:        8,
		MinRate:            50,
		SinkRetryTime:      10 * time.Minute,
		Oversize:           "fail",
		DeadLetterPath:     "./strangler-data/dead-letters.jsonl",
		Checkpoint:         "file:./strangler-data/checkpoint.json",
		CheckpointInterval: time.Second,
		Name:               "default",
		TablePrefix:        migrations.DefaultPrefix,
		Start:              "latest",
		ShutdownTimeout:    30 * time.Second,
	}
}

// Validate checks the configuration before anything connects, naming each bad setting
// and its fix.
func (c *Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Source == "" {
		add("--source is required: the MySQL/MariaDB to read, e.g. mysql://cdc:secret@tcp(db:3306)/")
	} else if dburl.KindOf(c.Source) != dburl.MySQL {
		add("--source %s: the CDC daemon reads MySQL or MariaDB; write mysql://user:pass@tcp(host:port)/", dburl.Redact(c.Source))
	} else if _, err := dburl.ParseMySQL(c.Source); err != nil {
		add("--source: %v", err)
	}
	switch c.Flavor {
	case "auto", binlog.FlavorMySQL, binlog.FlavorMariaDB:
	default:
		add("--flavor %q: use auto, mysql or mariadb", c.Flavor)
	}
	if c.ServerID == 0 {
		add("--server-id is required: a replica id no other replica of the source uses (e.g. 4242)")
	}
	switch {
	case c.Sink == "kinesis":
		if c.Stream == "" {
			add("--stream is required with --sink kinesis: the Kinesis stream to write (create one with `strangler stream create`)")
		}
	case c.Sink == "stdout", c.Sink == "discard":
	case strings.HasPrefix(c.Sink, "file:") && len(c.Sink) > len("file:"):
	default:
		add("--sink %q: use kinesis, stdout, file:PATH or discard", c.Sink)
	}
	if c.MaxRecordBytes < 1024 || c.MaxRecordBytes > 10<<20 {
		add("--kinesis-max-record-bytes %d: between 1024 and 10485760 (10 MiB, for streams raised to it)", c.MaxRecordBytes)
	}
	if c.Oversize != "fail" && c.Oversize != "skip" {
		add("--oversize %q: use fail (stop with an error) or skip (write to the dead-letter file and go on)", c.Oversize)
	}
	if !strings.HasPrefix(c.Checkpoint, "file:") && !strings.HasPrefix(c.Checkpoint, "mysql://") {
		add("--checkpoint %q: use file:PATH or mysql://user:pass@tcp(host:port)/db", dburl.Redact(c.Checkpoint))
	}
	if c.Name == "" {
		add("--name must not be empty")
	}
	if err := migrations.ValidatePrefix(c.TablePrefix); err != nil {
		add("--table-prefix: %v", err)
	}
	switch {
	case c.Start == "earliest", c.Start == "latest":
	default:
		if _, err := binlog.ParseStart(c.Start); err != nil {
			add("%v", err)
		}
	}
	if c.StopAt != "" {
		if p, err := binlog.ParseStart(c.StopAt); err != nil || p.File == "" {
			add("--stop-at %q: write file:NAME:POS", c.StopAt)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  - %s", strings.Join(problems, "\n  - "))
}
