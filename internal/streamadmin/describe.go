package streamadmin

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Description is what `stream describe` shows.
type Description struct {
	Name           string    `json:"name"`
	ARN            string    `json:"arn,omitempty"`
	Status         string    `json:"status"`
	Mode           string    `json:"mode"`
	OpenShardCount int       `json:"open_shard_count"`
	RetentionHours int       `json:"retention_hours"`
	Encryption     string    `json:"encryption"`
	KMSKeyID       string    `json:"kms_key_id,omitempty"`
	MaxRecordKiB   int       `json:"max_record_kib,omitempty"` // 0 when the server does not say (1024 by default)
	Consumers      int       `json:"consumers"`
	Created        time.Time `json:"created,omitzero"`
	OpenShards     []Shard   `json:"open_shards"`
}

// Shard is an open shard and the part of the 128-bit hash key space it takes.
type Shard struct {
	ID              string  `json:"id"`
	Parent          string  `json:"parent,omitempty"`
	StartingHashKey string  `json:"starting_hash_key"`
	EndingHashKey   string  `json:"ending_hash_key"`
	KeySpacePercent float64 `json:"key_space_percent"`
}

// Describe returns the stream's summary and its open shards.
func Describe(ctx context.Context, api API, stream string) (*Description, error) {
	name, arn := streamRef(stream)
	out, err := api.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: name, StreamARN: arn})
	if err != nil {
		return nil, wrapErr("describe stream", stream, err)
	}
	s := out.StreamDescriptionSummary
	d := &Description{
		Name:           aws.ToString(s.StreamName),
		ARN:            aws.ToString(s.StreamARN),
		Status:         string(s.StreamStatus),
		Mode:           string(types.StreamModeProvisioned), // servers that do not say (kinesalite) only know this mode
		OpenShardCount: int(aws.ToInt32(s.OpenShardCount)),
		RetentionHours: int(aws.ToInt32(s.RetentionPeriodHours)),
		Encryption:     string(s.EncryptionType),
		KMSKeyID:       aws.ToString(s.KeyId),
		MaxRecordKiB:   int(aws.ToInt32(s.MaxRecordSizeInKiB)),
		Consumers:      int(aws.ToInt32(s.ConsumerCount)),
		OpenShards:     []Shard{},
	}
	if s.StreamModeDetails != nil && s.StreamModeDetails.StreamMode != "" {
		d.Mode = string(s.StreamModeDetails.StreamMode)
	}
	if d.Encryption == "" {
		d.Encryption = string(types.EncryptionTypeNone)
	}
	if s.StreamCreationTimestamp != nil {
		d.Created = s.StreamCreationTimestamp.UTC()
	}
	if d.Status == string(types.StreamStatusCreating) {
		return d, nil // no shards to list yet
	}
	shards, err := listShards(ctx, api, stream)
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		if sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
			continue // closed by a reshard
		}
		o := Shard{ID: aws.ToString(sh.ShardId), Parent: aws.ToString(sh.ParentShardId)}
		if sh.HashKeyRange != nil {
			o.StartingHashKey = aws.ToString(sh.HashKeyRange.StartingHashKey)
			o.EndingHashKey = aws.ToString(sh.HashKeyRange.EndingHashKey)
			o.KeySpacePercent = keySpacePercent(o.StartingHashKey, o.EndingHashKey)
		}
		d.OpenShards = append(d.OpenShards, o)
	}
	return d, nil
}

// listShards lists every shard of stream, open and closed, following NextToken.
func listShards(ctx context.Context, api API, stream string) ([]types.Shard, error) {
	name, arn := streamRef(stream)
	in := &kinesis.ListShardsInput{StreamName: name, StreamARN: arn}
	var all []types.Shard
	for {
		out, err := api.ListShards(ctx, in)
		if err != nil {
			return nil, wrapErr("list shards of", stream, err)
		}
		all = append(all, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return all, nil
		}
		// With a token, Kinesis refuses the stream name: the token names it.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

var keySpace = new(big.Float).SetInt(new(big.Int).Lsh(big.NewInt(1), 128))

func keySpacePercent(start, end string) float64 {
	s, ok1 := new(big.Int).SetString(start, 10)
	e, ok2 := new(big.Int).SetString(end, 10)
	if !ok1 || !ok2 {
		return 0
	}
	width := new(big.Int).Sub(e, s)
	width.Add(width, big.NewInt(1))
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(width), keySpace).Float64()
	return f * 100
}

// WriteText prints the description for people.
func (d *Description) WriteText(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("Stream:       %s\n", d.Name)
	if d.ARN != "" {
		p("ARN:          %s\n", d.ARN)
	}
	p("Status:       %s\n", d.Status)
	p("Mode:         %s\n", d.Mode)
	p("Open shards:  %d\n", d.OpenShardCount)
	p("Retention:    %d hours\n", d.RetentionHours)
	if d.KMSKeyID != "" {
		p("Encryption:   %s (key %s)\n", d.Encryption, d.KMSKeyID)
	} else {
		p("Encryption:   %s\n", d.Encryption)
	}
	if d.MaxRecordKiB > 0 {
		p("Max record:   %d KiB\n", d.MaxRecordKiB)
	} else {
		p("Max record:   default (1024 KiB)\n")
	}
	p("Consumers:    %d\n", d.Consumers)
	if !d.Created.IsZero() {
		p("Created:      %s\n", d.Created.Format(time.RFC3339))
	}
	if len(d.OpenShards) > 0 {
		p("Open shards and their hash key ranges:\n")
		for _, s := range d.OpenShards {
			p("  %-22s %6.2f%%  %s .. %s\n", s.ID, s.KeySpacePercent, s.StartingHashKey, s.EndingHashKey)
		}
	}
	return err
}
