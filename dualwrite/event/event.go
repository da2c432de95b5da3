// Package event is the event dualwrite mirrors for each legacy write, and its JSON form on
// the stream (docs/dual-writes.md, "The event"). It is shared by the writer, the outbox
// relay, the CDC outbox router and the targets, and depends on nothing else.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of the outbox and journal columns the fields are stored in.
const (
	MaxIDLen           = 64
	MaxNameLen         = 191 // type, aggregate type, aggregate id
	MaxPartitionKeyLen = 256 // Kinesis's limit, in Unicode characters
)

// Event is one fact the monolith's write produced, as the new world sees it.
type Event struct {
	// ID is stable: the same event keeps it across retries, relays and recoveries, so
	// consumers deduplicate on it. Left empty, the writer sets a UUIDv7.
	ID string
	// Type names what happened, e.g. "OrderPlaced".
	Type string
	// AggregateType and AggregateID name the entity the event is about ("order", "42").
	// Together they are the partition key: the events of one aggregate keep their order.
	AggregateType string
	AggregateID   string
	// Payload is the event's body, JSON. Empty means null.
	Payload json.RawMessage
	// Headers travel with the event (trace ids, schema versions...).
	Headers map[string]string
	// OccurredAt is when the legacy write ran; the writer sets it when zero.
	OccurredAt time.Time
	// Sequence numbers the aggregate's events 1, 2, 3... in commit order, without gaps,
	// when the writer locks aggregates (Config.LockAggregates); 0 otherwise.
	Sequence uint64
	// Compensates is set on a compensating event: the ID of the event it undoes.
	Compensates string
}

// Normalize fills the ID and the time when empty and checks the event, naming the field
// at fault.
func (e *Event) Normalize(now time.Time) error {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("event id: %w", err)
		}
		e.ID = id.String()
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	e.OccurredAt = e.OccurredAt.UTC()
	return e.Validate()
}

// Validate checks the event fits the outbox and the stream.
func (e *Event) Validate() error {
	var errs []error
	check := func(field, v string, limit int) {
		switch {
		case v == "":
			errs = append(errs, fmt.Errorf("%s is empty: every event needs one", field))
		case utf8.RuneCountInString(v) > limit:
			errs = append(errs, fmt.Errorf("%s %.40q... is %d characters, over the limit of %d", field, v, utf8.RuneCountInString(v), limit))
		case !utf8.ValidString(v):
			errs = append(errs, fmt.Errorf("%s %q is not valid UTF-8", field, v))
		}
	}
	check("ID", e.ID, MaxIDLen)
	check("Type", e.Type, MaxNameLen)
	check("AggregateType", e.AggregateType, MaxNameLen)
	check("AggregateID", e.AggregateID, MaxNameLen)
	if len(e.Payload) > 0 && !json.Valid(e.Payload) {
		errs = append(errs, fmt.Errorf("Payload is not valid JSON: give json.RawMessage of a marshalled value (%.60q)", e.Payload))
	}
	for k := range e.Headers {
		if k == "" {
			errs = append(errs, errors.New("Headers has an empty key"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("event %q (%s of %s %s): %w", e.ID, e.Type, e.AggregateType, e.AggregateID, errors.Join(errs...))
	}
	return nil
}

// PartitionKey is the stream's partition key: aggregate type and id, so one aggregate's
// events land on one shard in order. A key over Kinesis's 256 characters is replaced by
// its SHA-256, as the CDC daemon does.
func (e *Event) PartitionKey() string {
	return PartitionKey(e.AggregateType, e.AggregateID)
}

// PartitionKey returns the partition key of an aggregate.
func PartitionKey(aggregateType, aggregateID string) string {
	k := aggregateType + ":" + aggregateID
	if utf8.RuneCountInString(k) > MaxPartitionKeyLen {
		sum := sha256.Sum256([]byte(k))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// CompensationType is the type of compensating events.
const CompensationType = "strangler.compensation"

// compensationNS derives compensation ids from event ids (UUIDv5), so that every attempt
// at compensating one event carries the same id.
var compensationNS = uuid.MustParse("6f0d1c2e-8b1a-4c47-9d35-1f3c5b7a9e20")

// CompensationID is the stable id of the event that compensates the event id.
func CompensationID(id string) string {
	return uuid.NewSHA1(compensationNS, []byte(id)).String()
}

// Compensation returns the event that undoes e: same aggregate (so it follows e on its
// shard), type CompensationType, Compensates = e.ID, e's payload, and e's headers plus
// "compensated-type". Its id is derived from e's, so retries do not multiply it.
func (e *Event) Compensation(now time.Time) Event {
	h := make(map[string]string, len(e.Headers)+1)
	for k, v := range e.Headers {
		h[k] = v
	}
	h["compensated-type"] = e.Type
	return Event{
		ID:            CompensationID(e.ID),
		Type:          CompensationType,
		AggregateType: e.AggregateType,
		AggregateID:   e.AggregateID,
		Payload:       e.Payload,
		Headers:       h,
		OccurredAt:    now.UTC(),
		Compensates:   e.ID,
	}
}
