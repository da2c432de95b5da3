package kinesis

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/strangler/strangler/cdc/sink"
)

// DeadLetter is one line of the dead-letter file: a record set aside with its reason.
type DeadLetter struct {
	Time         time.Time       `json:"time"`
	Stream       string          `json:"stream"`
	DB           string          `json:"db"`
	Table        string          `json:"table"`
	Op           string          `json:"op"`
	Key          json.RawMessage `json:"key"` // the row's key as JSON (a JSON string when it is not JSON)
	PartitionKey string          `json:"partition_key"`
	ID           string          `json:"id"`
	Seq          uint64          `json:"seq"`
	Size         int             `json:"size"`
	Limit        int             `json:"limit"`
	Reason       string          `json:"reason"`
	// Event is the record's data when it is JSON (CDC events are); EventBase64 otherwise.
	Event       json.RawMessage `json:"event,omitempty"`
	EventBase64 []byte          `json:"event_base64,omitempty"`
}

// deadLetterFile appends dead letters, opened on first use and synced after each line so
// that a record is acknowledged only once it is on disk.
type deadLetterFile struct {
	path string
	f    *os.File
}

func (d *deadLetterFile) write(stream string, r *sink.Record, limit int) error {
	if d.f == nil {
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("open dead-letter file: %w (fix the path or its directory's permissions)", err)
		}
		d.f = f
	}
	dl := DeadLetter{
		Time: time.Now().UTC(), Stream: stream, DB: r.DB, Table: r.Table, Op: r.Op, PartitionKey: r.PartitionKey,
		ID: r.ID, Seq: r.Seq, Size: r.Size(), Limit: limit,
		Reason: fmt.Sprintf("record is %d bytes (data plus partition key), over the %d-byte Kinesis record limit", r.Size(), limit),
	}
	if json.Valid([]byte(r.Key)) {
		dl.Key = json.RawMessage(r.Key)
	} else {
		dl.Key, _ = json.Marshal(r.Key)
	}
	if json.Valid(r.Data) {
		dl.Event = json.RawMessage(r.Data)
	} else {
		dl.EventBase64 = r.Data
	}
	line, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	if _, err := d.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write dead-letter file %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync dead-letter file %s: %w", d.path, err)
	}
	return nil
}

func (d *deadLetterFile) close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
