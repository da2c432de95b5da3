// Package streamadmin creates, describes, sizes and reads Kinesis data streams for the
// `strangler stream` commands. Errors say what to do: a stream that exists, a stream that
// is missing, flags that do not add up.
package streamadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
)

// API is the part of the Kinesis client the stream commands use; *kinesis.Client has it.
type API interface {
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// ErrNotFound is wrapped by errors about a stream that does not exist.
var ErrNotFound = errors.New("stream not found")

// ErrExists is wrapped by errors about creating a stream that already exists.
var ErrExists = errors.New("stream already exists")

// streamRef splits what the user typed into the name and ARN parameters: an ARN is
// sent as both, which AWS accepts and which servers without ARN support (kinesalite) need.
func streamRef(stream string) (name, arn *string) {
	if strings.HasPrefix(stream, "arn:") {
		if i := strings.LastIndex(stream, "/"); i >= 0 && i < len(stream)-1 {
			return aws.String(stream[i+1:]), aws.String(stream)
		}
		return nil, aws.String(stream)
	}
	return aws.String(stream), nil
}

// ValidateName checks a stream name against Kinesis's rules, so that a typo fails before
// any request is made.
func ValidateName(stream string) error {
	if strings.HasPrefix(stream, "arn:") {
		return nil
	}
	if stream == "" {
		return errors.New("stream name is empty: give the stream's name or ARN")
	}
	if len(stream) > 128 {
		return fmt.Errorf("stream name %q is %d characters long: Kinesis allows at most 128", stream, len(stream))
	}
	for _, r := range stream {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("stream name %q contains %q: Kinesis allows only letters, digits, '_', '.' and '-'", stream, r)
		}
	}
	return nil
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wrapErr names the operation and stream, and for a missing stream or refused
// credentials says what to do.
func wrapErr(op, stream string, err error) error {
	switch errorCode(err) {
	case "ResourceNotFoundException":
		return fmt.Errorf("%s %s: %w (check the name, --region and --kinesis-endpoint, or create it: strangler stream create %s --shards N): %w",
			op, stream, ErrNotFound, stream, err)
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException":
		return fmt.Errorf("%s %s: access denied: check the AWS credentials and that they allow kinesis:%s on the stream: %w", op, stream, opAction(op), err)
	}
	return fmt.Errorf("%s %s: %w", op, stream, err)
}

func opAction(op string) string {
	switch op {
	case "create stream":
		return "CreateStream"
	case "read stream":
		return "GetRecords"
	}
	return "DescribeStreamSummary and kinesis:ListShards"
}
