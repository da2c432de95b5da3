package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/streamadmin"
	"github.com/strangler/strangler/internal/testenv"
)

// runStream executes `strangler stream ARGS...` and returns its output.
func runStream(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newStreamCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestStreamSizeCommand(t *testing.T) {
	out, err := runStream(t, "size", "--records-per-sec", "3000", "--avg-record-bytes", "2048")
	require.NoError(t, err)
	require.Contains(t, out, "Shards needed: 8")
	require.Contains(t, out, "Binding limit: bytes")

	out, err = runStream(t, "size", "--records-per-sec", "5000", "--avg-record-bytes", "200", "--headroom", "0", "--output", "json")
	require.NoError(t, err)
	var r streamadmin.SizeResult
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, 5, r.Shards)
	require.Equal(t, streamadmin.BindRecords, r.Binding)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"size", "--records-per-sec", "100"}, "--avg-record-bytes B"},
		{[]string{"size", "--records-per-sec", "0", "--avg-record-bytes", "10"}, "a number above 0"},
		{[]string{"size", "--records-per-sec", "10", "--avg-record-bytes", "10", "--output", "yaml"}, "use text or json"},
	} {
		_, err := runStream(t, tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

func TestStreamCommandsAgainstKinesis(t *testing.T) {
	ep := testenv.KinesisEndpoint(t)
	c := testenv.KinesisClient(t, ep)
	name := testenv.UniqueName("cmd")
	sized := testenv.UniqueName("cmd")
	t.Cleanup(func() {
		for _, s := range []string{name, sized} {
			_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(s)})
		}
	})
	common := []string{"--kinesis-endpoint", ep, "--region", "us-east-1"}
	run := func(args ...string) (string, error) { return runStream(t, append(args, common...)...) }

	out, err := run("create", name, "--shards", "2")
	require.NoError(t, err)
	require.Contains(t, out, "Created "+name+"; it is ACTIVE.")
	require.Contains(t, out, "Open shards:  2")

	out, err = run("describe", name, "--output", "json")
	require.NoError(t, err)
	var d streamadmin.Description
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, "ACTIVE", d.Status)
	require.Equal(t, 2, d.OpenShardCount)
	require.Len(t, d.OpenShards, 2)

	out, err = run("describe", name)
	require.NoError(t, err)
	require.Contains(t, out, "Status:       ACTIVE")
	require.Contains(t, out, "shardId-000000000001")

	// Sized by load: 2,500 records/s of 100 bytes with 25% headroom need 4 shards.
	out, err = run("create", sized, "--records-per-sec", "2500", "--avg-record-bytes", "100")
	require.NoError(t, err)
	require.Contains(t, out, "4 shard(s), records limit binding")
	require.Contains(t, out, "Open shards:  4")

	for i := range 3 {
		_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String(fmt.Sprintf("k%d", i)),
			Data: []byte(fmt.Sprintf(`{"after":{"id":%d}}`, i))})
		require.NoError(t, err)
	}
	out, err = run("tail", name, "--poll-interval", "20ms")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	ids := map[string]int{}
	for _, l := range lines {
		var r struct {
			Shard, Sequence, PartitionKey string `json:"-"`
			Data                          struct{ After struct{ ID int } }
			Key                           string    `json:"partition_key"`
			Arrival                       time.Time `json:"arrival"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		require.Contains(t, l, `"shard":"shardId-00000000000`)
		require.Contains(t, l, `"sequence":"`)
		ids[r.Key] = r.Data.After.ID
		require.False(t, r.Arrival.IsZero())
	}
	require.Equal(t, map[string]int{"k0": 0, "k1": 1, "k2": 2}, ids)

	out, err = run("tail", name, "--limit", "1", "--poll-interval", "20ms")
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(out, "\n"))

	// Errors name the fix.
	missing := testenv.UniqueName("missing")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", name, "--shards", "1"}, "already exists: use it (strangler stream describe " + name + ")"},
		{[]string{"describe", missing}, "strangler stream create " + missing + " --shards N"},
		{[]string{"tail", missing}, "strangler stream create " + missing},
		{[]string{"create", "x", "--shards", "2", "--on-demand"}, "choose on-demand"},
		{[]string{"create", "x", "--shards", "2", "--records-per-sec", "10", "--avg-record-bytes", "10"}, "not several"},
		{[]string{"create", "x", "--records-per-sec", "10"}, "needs both --records-per-sec and --avg-record-bytes"},
		{[]string{"create", "x"}, "--shards N, --on-demand, or --records-per-sec"},
		{[]string{"create", "--shards", "2"}, "needs the stream's name"},
		{[]string{"describe", "a", "b"}, "takes one stream name"},
		{[]string{"describe", "bad/name"}, "contains '/'"},
		{[]string{"tail", name, "--from", "start"}, "use trim-horizon or latest"},
	} {
		_, err := run(tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}
