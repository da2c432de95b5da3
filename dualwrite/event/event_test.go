package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestNormalizeFillsAndChecks(t *testing.T) {
	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	e := Event{Type: "OrderPlaced", AggregateType: "order", AggregateID: "42", Payload: json.RawMessage(`{"a":1}`)}
	require.NoError(t, e.Normalize(now))
	id, err := uuid.Parse(e.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())
	require.Equal(t, now.UTC(), e.OccurredAt)
	require.Equal(t, time.UTC, e.OccurredAt.Location())

	kept := Event{ID: "mine", Type: "T", AggregateType: "a", AggregateID: "1", OccurredAt: now}
	require.NoError(t, kept.Normalize(time.Now()))
	require.Equal(t, "mine", kept.ID, "a given id is kept: it is the stable id")

	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{AggregateType: "a", AggregateID: "1"}, "Type is empty"},
		{Event{Type: "T", AggregateID: "1"}, "AggregateType is empty"},
		{Event{Type: "T", AggregateType: "a"}, "AggregateID is empty"},
		{Event{ID: strings.Repeat("x", 65), Type: "T", AggregateType: "a", AggregateID: "1"}, "over the limit of 64"},
		{Event{Type: strings.Repeat("é", 192), AggregateType: "a", AggregateID: "1"}, "over the limit of 191"},
		{Event{Type: "T", AggregateType: "a", AggregateID: "1", Payload: json.RawMessage(`{`)}, "Payload is not valid JSON"},
		{Event{Type: "T", AggregateType: "a", AggregateID: "1", Headers: map[string]string{"": "x"}}, "empty key"},
		{Event{Type: "T", AggregateType: "a", AggregateID: "\xff"}, "not valid UTF-8"},
	} {
		require.ErrorContains(t, tc.e.Normalize(now), tc.want)
	}
}

func TestPartitionKey(t *testing.T) {
	require.Equal(t, "order:42", PartitionKey("order", "42"))
	long := PartitionKey("order", strings.Repeat("9", 300))
	require.True(t, strings.HasPrefix(long, "sha256:"))
	require.Len(t, long, len("sha256:")+64)
	require.Equal(t, long, PartitionKey("order", strings.Repeat("9", 300)), "stable")
}

func TestWireRoundTripAndCompensation(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
	e := Event{ID: "e1", Type: "OrderPlaced", AggregateType: "order", AggregateID: "42", Payload: json.RawMessage(`{"total":"1.50"}`),
		Headers: map[string]string{"trace": "t"}, OccurredAt: at, Sequence: 7}
	data, err := Marshal(&e, &Source{Via: ViaRelay, DB: "shop", Table: "strangler_outbox", OutboxSeq: 3})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"e1","type":"OrderPlaced","aggregate":{"type":"order","id":"42","sequence":7},"payload":{"total":"1.50"},
		"headers":{"trace":"t"},"occurred_at":"2025-01-02T03:04:05.123456Z","source":{"via":"relay","db":"shop","table":"strangler_outbox","outbox_seq":3}}`, string(data))
	back, src, err := Unmarshal(data)
	require.NoError(t, err)
	require.Equal(t, e, back)
	require.Equal(t, uint64(3), src.OutboxSeq)

	bare, err := Marshal(&Event{ID: "e2", Type: "T", AggregateType: "a", AggregateID: "1", OccurredAt: at}, nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"e2","type":"T","aggregate":{"type":"a","id":"1"},"payload":null,"headers":{},"occurred_at":"2025-01-02T03:04:05.123456Z"}`, string(bare))

	c := e.Compensation(at.Add(time.Second))
	require.Equal(t, CompensationID("e1"), c.ID)
	require.NotEqual(t, "e1", c.ID)
	require.Equal(t, CompensationType, c.Type)
	require.Equal(t, "e1", c.Compensates)
	require.Equal(t, e.PartitionKey(), c.PartitionKey(), "a compensation follows its event on the shard")
	require.Equal(t, "OrderPlaced", c.Headers["compensated-type"])
	require.Empty(t, e.Headers["compensated-type"], "the original's headers are not touched")

	list, err := MarshalList([]Event{e, c})
	require.NoError(t, err)
	evs, err := UnmarshalList(list)
	require.NoError(t, err)
	require.Equal(t, []Event{e, c}, evs)

	_, _, err = Unmarshal([]byte(`{"op":"c"}`))
	require.ErrorContains(t, err, "not a dualwrite event")
}
