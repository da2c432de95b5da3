// Package kinesisbus carries the compensate engine's commands and replies over Kinesis
// data streams: Bus publishes the commands of CommandStep steps to a command stream and
// reads services' replies from a reply stream; Serve is the other side, for a service
// written in Go: it reads commands, runs a handler, and writes the replies.
//
// Records are JSON (compensate.Command, compensate.Reply) keyed by saga id, so a saga's
// commands stay in order on one shard. Readers keep their place per shard in the
// journal's saga_cursors table, with a lease so that one instance reads a shard at a
// time; a record is handled at least once, and handlers are idempotent.
package kinesisbus

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/migrations"
)

// Options configure a Bus.
type Options struct {
	// CommandStream receives the commands (required).
	CommandStream string
	// ReplyStream is where services reply and what Consume reads (required).
	ReplyStream string
	// Consumer names the reply reader's cursors; default "compensate". Engines of the same
	// application share it (they split the shards); another application needs its own.
	Consumer string
	// TablePrefix of the toolkit's tables in the database given to New; default "strangler_".
	TablePrefix string
	// PollInterval is the wait between reads of a shard that had nothing new; default
	// 1 s (Kinesis allows 5 reads per second per shard).
	PollInterval time.Duration
	// ShardLease is how long an instance keeps a shard without reading it; default 30 s.
	ShardLease time.Duration
	// RelistInterval is how often new shards (after a reshard) are looked for; default 30 s.
	RelistInterval time.Duration
	// Instance names this reader in shard leases; default host:pid:random.
	Instance string
	// Logger receives the bus's logs; default slog.Default().
	Logger *slog.Logger
}

// Bus is a compensate.Commander over Kinesis.
type Bus struct {
	api API
	o   Options
	r   *reader
}

var _ compensate.Commander = (*Bus)(nil)

// New returns a bus that publishes with client and keeps its reply cursors in db.
func New(client API, db *sql.DB, o Options) (*Bus, error) {
	if o.CommandStream == "" || o.ReplyStream == "" {
		return nil, errors.New("kinesisbus: set Options.CommandStream (commands go there) and Options.ReplyStream (services reply there)")
	}
	if o.Consumer == "" {
		o.Consumer = "compensate"
	}
	r, err := newReader(client, db, o.ReplyStream, o.Consumer, o.TablePrefix, o.Instance, o.PollInterval, o.ShardLease, o.RelistInterval, o.Logger)
	if err != nil {
		return nil, err
	}
	return &Bus{api: client, o: o, r: r}, nil
}

func newReader(api API, db *sql.DB, stream, consumer, prefix, instance string, poll, lease, relist time.Duration, log *slog.Logger) (*reader, error) {
	if prefix == "" {
		prefix = migrations.DefaultPrefix
	}
	store, err := journal.New(db, prefix)
	if err != nil {
		return nil, fmt.Errorf("kinesisbus: %w", err)
	}
	if len(consumer) > 64 {
		return nil, fmt.Errorf("kinesisbus: consumer name %q is over 64 bytes", consumer)
	}
	if instance == "" {
		host, _ := os.Hostname()
		if len(host) > 32 {
			host = host[:32]
		}
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		instance = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if len(instance) > 64 {
		return nil, fmt.Errorf("kinesisbus: instance name %q is over 64 bytes", instance)
	}
	if poll <= 0 {
		poll = time.Second
	}
	if lease <= 0 {
		lease = 30 * time.Second
	}
	if relist <= 0 {
		relist = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &reader{api: api, store: store, consumer: consumer, stream: stream, owner: instance, poll: poll, lease: lease, relist: relist,
		log: log.With("component", "kinesisbus", "stream", stream, "consumer", consumer)}, nil
}

// Send publishes cmd to the command stream, keyed by its saga.
func (b *Bus) Send(ctx context.Context, cmd compensate.Command) error {
	cmd.ReplyTo = b.o.ReplyStream
	return put(ctx, b.api, b.o.CommandStream, cmd.SagaID, cmd)
}

func put(ctx context.Context, api API, stream, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("kinesisbus: encode record for %s: %w", stream, err)
	}
	if _, err := api.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(key), Data: data}); err != nil {
		return fmt.Errorf("kinesisbus: put record to %s: %w", stream, err)
	}
	return nil
}

// Consume reads the reply stream and hands each reply to deliver, until ctx ends.
func (b *Bus) Consume(ctx context.Context, deliver func(ctx context.Context, r compensate.Reply) error) error {
	return b.r.run(ctx, func(ctx context.Context, rec types.Record) error {
		var r compensate.Reply
		if err := json.Unmarshal(rec.Data, &r); err != nil || r.SagaID == "" || r.Step == "" {
			b.r.log.Warn("reply stream record is not a reply; skipped", "sequence", aws.ToString(rec.SequenceNumber), "err", err)
			return nil
		}
		return deliver(ctx, r)
	})
}

// Handler runs a command for a service and returns the reply. An error means the
// command could not be handled now (a database down): it is handled again later, and no
// reply is sent.
type Handler func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error)

// ServeOptions configure Serve.
type ServeOptions struct {
	// CommandStream is read for commands (required).
	CommandStream string
	// Consumer names the service's cursors (required), e.g. "inventory-service".
	Consumer string
	// Types, when set, are the command types the service handles; others are skipped.
	Types []string
	// ReplyStream is used for commands that name none (ReplyTo).
	ReplyStream string
	// TablePrefix, PollInterval, ShardLease, RelistInterval, Instance, Logger: as in Options.
	TablePrefix    string
	PollInterval   time.Duration
	ShardLease     time.Duration
	RelistInterval time.Duration
	Instance       string
	Logger         *slog.Logger
}

// Serve reads commands until ctx ends, runs handle on each one of its types, and puts
// the reply on the command's reply stream. Use compensate.Barrier in the handler's
// transaction so that a command runs once and a late action after its compensation
// does not run. The cursors are kept in db.
func Serve(ctx context.Context, client API, db *sql.DB, o ServeOptions, handle Handler) error {
	if o.CommandStream == "" || o.Consumer == "" {
		return errors.New("kinesisbus: serve: set ServeOptions.CommandStream and ServeOptions.Consumer (names the service's cursors)")
	}
	r, err := newReader(client, db, o.CommandStream, o.Consumer, o.TablePrefix, o.Instance, o.PollInterval, o.ShardLease, o.RelistInterval, o.Logger)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, t := range o.Types {
		wanted[t] = true
	}
	return r.run(ctx, func(ctx context.Context, rec types.Record) error {
		var cmd compensate.Command
		if err := json.Unmarshal(rec.Data, &cmd); err != nil || cmd.SagaID == "" || cmd.Type == "" {
			r.log.Warn("command stream record is not a command; skipped", "sequence", aws.ToString(rec.SequenceNumber), "err", err)
			return nil
		}
		if len(wanted) > 0 && !wanted[cmd.Type] {
			return nil
		}
		to := cmd.ReplyTo
		if to == "" {
			to = o.ReplyStream
		}
		if to == "" {
			r.log.Warn("command names no reply stream and ServeOptions.ReplyStream is empty; skipped", "id", cmd.ID)
			return nil
		}
		reply, err := handle(ctx, cmd)
		if err != nil {
			return fmt.Errorf("handle command %s (%s): %w", cmd.ID, cmd.Type, err)
		}
		reply.ID, reply.SagaID, reply.Step, reply.Op, reply.Attempt = cmd.ID, cmd.SagaID, cmd.Step, cmd.Op, cmd.Attempt
		return put(ctx, client, to, cmd.SagaID, reply)
	})
}
