package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Via values: how an event reached the stream.
const (
	ViaCDC    = "cdc"    // the CDC daemon's outbox router read it from the binlog
	ViaRelay  = "relay"  // `strangler outbox relay` read it from the outbox table
	ViaDirect = "direct" // a mirror or shadow target sent it during the legacy write
)

// Source says where a delivered event comes from. Fields that do not apply are omitted.
type Source struct {
	Via string `json:"via"`
	// The outbox row (CDC and relay).
	DB        string `json:"db,omitempty"`
	Table     string `json:"table,omitempty"`
	OutboxSeq uint64 `json:"outbox_seq,omitempty"`
	// The binlog position of the outbox row's insert (CDC).
	ServerID uint32 `json:"server_id,omitempty"`
	GTID     string `json:"gtid,omitempty"`
	File     string `json:"file,omitempty"`
	Pos      uint32 `json:"pos,omitempty"`
	Row      int    `json:"row,omitempty"`
	// TsMs is when the legacy transaction committed (CDC), in Unix milliseconds.
	TsMs int64 `json:"ts_ms,omitempty"`
}

// Aggregate is the "aggregate" object of the JSON form.
type Aggregate struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	Sequence uint64 `json:"sequence,omitempty"`
}

// Wire is an event's JSON form on the stream:
//
//	{"id":"0190...","type":"OrderPlaced","aggregate":{"type":"order","id":"42","sequence":7},
//	 "payload":{...},"headers":{"trace-id":"..."},"occurred_at":"2025-01-02T03:04:05.123456Z",
//	 "compensates":"...","source":{"via":"relay","db":"shop","table":"strangler_outbox","outbox_seq":12}}
type Wire struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Aggregate   Aggregate         `json:"aggregate"`
	Payload     json.RawMessage   `json:"payload"`
	Headers     map[string]string `json:"headers"`
	OccurredAt  time.Time         `json:"occurred_at"`
	Compensates string            `json:"compensates,omitempty"`
	Source      *Source           `json:"source,omitempty"`
}

// Marshal returns e's JSON form with src (nil for none).
func Marshal(e *Event, src *Source) ([]byte, error) {
	w := Wire{
		ID: e.ID, Type: e.Type,
		Aggregate:   Aggregate{Type: e.AggregateType, ID: e.AggregateID, Sequence: e.Sequence},
		Payload:     e.Payload,
		Headers:     e.Headers,
		OccurredAt:  e.OccurredAt.UTC(),
		Compensates: e.Compensates,
		Source:      src,
	}
	if len(w.Payload) == 0 {
		w.Payload = json.RawMessage("null")
	}
	if w.Headers == nil {
		w.Headers = map[string]string{}
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// Unmarshal reads an event's JSON form back, for consumers and tests.
func Unmarshal(data []byte) (Event, *Source, error) {
	var w Wire
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, nil, fmt.Errorf("decode event: %w", err)
	}
	if w.ID == "" || w.Type == "" {
		return Event{}, nil, fmt.Errorf("decode event: %.80q is not a dualwrite event (no id or type)", data)
	}
	return w.Event(), w.Source, nil
}

// Event returns the event a Wire carries.
func (w *Wire) Event() Event {
	return Event{
		ID: w.ID, Type: w.Type, AggregateType: w.Aggregate.Type, AggregateID: w.Aggregate.ID,
		Payload: w.Payload, Headers: w.Headers, OccurredAt: w.OccurredAt, Sequence: w.Aggregate.Sequence,
		Compensates: w.Compensates,
	}
}

// HeadersJSON encodes headers for the outbox's headers column (NULL when empty).
func HeadersJSON(h map[string]string) (any, error) {
	if len(h) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	return string(b), nil
}

// ParseHeaders decodes the outbox's headers column.
func ParseHeaders(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		return nil, fmt.Errorf("headers %.60q: %w", s, err)
	}
	return h, nil
}

// MarshalList encodes events for the mirror journal.
func MarshalList(evs []Event) ([]byte, error) {
	ws := make([]Wire, len(evs))
	for i := range evs {
		e := &evs[i]
		ws[i] = Wire{ID: e.ID, Type: e.Type, Aggregate: Aggregate{Type: e.AggregateType, ID: e.AggregateID, Sequence: e.Sequence},
			Payload: e.Payload, Headers: e.Headers, OccurredAt: e.OccurredAt.UTC(), Compensates: e.Compensates}
		if len(ws[i].Payload) == 0 {
			ws[i].Payload = json.RawMessage("null")
		}
	}
	b, err := json.Marshal(ws)
	if err != nil {
		return nil, fmt.Errorf("encode events: %w", err)
	}
	return b, nil
}

// UnmarshalList decodes events written by MarshalList.
func UnmarshalList(data []byte) ([]Event, error) {
	var ws []Wire
	if err := json.Unmarshal(data, &ws); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	out := make([]Event, len(ws))
	for i := range ws {
		out[i] = ws[i].Event()
	}
	return out, nil
}
