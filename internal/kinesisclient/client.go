// Package kinesisclient builds the one Kinesis client configuration the toolkit uses:
// credentials and region from the standard AWS chain, an endpoint from a flag or from
// the SDK's AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL variables.
package kinesisclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Options select where the client talks to.
type Options struct {
	// Region overrides the region of the AWS chain (AWS_REGION, profile).
	Region string
	// Endpoint overrides the endpoint (a Kinesis-compatible server such as kinesalite).
	// Empty means the SDK's own resolution, which honours AWS_ENDPOINT_URL_KINESIS and AWS_ENDPOINT_URL.
	Endpoint string
	// MaxAttempts of the SDK's own retryer; 0 keeps the SDK default. Callers that retry
	// themselves (the CDC sink) set 1 so that every retry is theirs to count and pace.
	MaxAttempts int
	// HTTPTimeout bounds one HTTP request; 0 means 30 s.
	HTTPTimeout time.Duration
}

// New returns a Kinesis client for opts.
func New(ctx context.Context, opts Options) (*kinesis.Client, error) {
	loadOpts := []func(*config.LoadOptions) error{}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	timeout := opts.HTTPTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	// A buildable client, not a plain *http.Client: the SDK adds a custom CA bundle
	// (AWS_CA_BUNDLE) to its transport, which it cannot do to a plain client.
	loadOpts = append(loadOpts, config.WithHTTPClient(awshttp.NewBuildableClient().
		WithTimeout(timeout).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
			t.IdleConnTimeout = 90 * time.Second
		})))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set --region, AWS_REGION or a profile region")
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if opts.MaxAttempts > 0 {
			o.RetryMaxAttempts = opts.MaxAttempts
		}
	}), nil
}
