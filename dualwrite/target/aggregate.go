package target

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Aggregated records pack many events into one Kinesis record, in the Kinesis Producer
// Library's format: a magic number, a protobuf AggregatedRecord (a table of partition
// keys, a table of explicit hash keys, and the records, each naming its keys by index),
// and the MD5 of the protobuf. The Kinesis Client Library and AWS's kinesis-aggregation
// libraries take them apart transparently; Deaggregate does it for Go consumers.
//
// Why: Kinesis counts and limits records per shard (1,000 a second), and a Kinesis
// server's work is mostly per record; packing a batch's events costs one record.

// aggregateMagic starts every aggregated record.
var aggregateMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// Field numbers of the KPL's messages.proto.
const (
	aggPartitionKeyTable    protowire.Number = 1 // AggregatedRecord.partition_key_table
	aggExplicitHashKeyTable protowire.Number = 2 // AggregatedRecord.explicit_hash_key_table
	aggRecords              protowire.Number = 3 // AggregatedRecord.records
	recPartitionKeyIndex    protowire.Number = 1 // Record.partition_key_index
	recExplicitHashKeyIndex protowire.Number = 2 // Record.explicit_hash_key_index
	recData                 protowire.Number = 3 // Record.data
)

// UserRecord is one record inside an aggregated Kinesis record (or a plain record).
type UserRecord struct {
	PartitionKey string
	// ExplicitHashKey, when set, is the hash (a decimal 128-bit number) that placed the
	// record on its shard instead of the MD5 of its partition key.
	ExplicitHashKey string
	Data            []byte
}

// aggregateOverhead bounds what the format adds to a record's data and keys: a few
// varints and tags per record, the magic and the checksum once.
const (
	aggregateOverheadPerRecord = 16
	aggregateOverheadFixed     = len("\xF3\x89\x9A\xC2") + md5.Size + 16
)

// encodeAggregate packs recs into one aggregated record's data.
func encodeAggregate(recs []UserRecord) []byte {
	pkIndex, ehkIndex := map[string]uint64{}, map[string]uint64{}
	var pks, ehks []string
	index := func(s string, idx map[string]uint64, table *[]string) uint64 {
		i, ok := idx[s]
		if !ok {
			i = uint64(len(*table))
			idx[s] = i
			*table = append(*table, s)
		}
		return i
	}
	var body []byte
	for _, r := range recs {
		var rec []byte
		rec = protowire.AppendTag(rec, recPartitionKeyIndex, protowire.VarintType)
		rec = protowire.AppendVarint(rec, index(r.PartitionKey, pkIndex, &pks))
		if r.ExplicitHashKey != "" {
			rec = protowire.AppendTag(rec, recExplicitHashKeyIndex, protowire.VarintType)
			rec = protowire.AppendVarint(rec, index(r.ExplicitHashKey, ehkIndex, &ehks))
		}
		rec = protowire.AppendTag(rec, recData, protowire.BytesType)
		rec = protowire.AppendBytes(rec, r.Data)
		body = protowire.AppendTag(body, aggRecords, protowire.BytesType)
		body = protowire.AppendBytes(body, rec)
	}
	var msg []byte
	for _, pk := range pks {
		msg = protowire.AppendTag(msg, aggPartitionKeyTable, protowire.BytesType)
		msg = protowire.AppendString(msg, pk)
	}
	for _, ehk := range ehks {
		msg = protowire.AppendTag(msg, aggExplicitHashKeyTable, protowire.BytesType)
		msg = protowire.AppendString(msg, ehk)
	}
	msg = append(msg, body...)
	sum := md5.Sum(msg)
	out := make([]byte, 0, len(aggregateMagic)+len(msg)+md5.Size)
	out = append(append(append(out, aggregateMagic...), msg...), sum[:]...)
	return out
}

// Deaggregate returns the user records of a Kinesis record's data: those packed in it
// when it is an aggregated record, else the record itself (with partitionKey). A record
// that starts with the magic number but whose checksum does not match is not aggregated
// (the KPL's rule); one whose checksum matches but whose content is malformed is an error.
func Deaggregate(partitionKey string, data []byte) ([]UserRecord, error) {
	if len(data) < len(aggregateMagic)+md5.Size || !bytes.HasPrefix(data, aggregateMagic) {
		return []UserRecord{{PartitionKey: partitionKey, Data: data}}, nil
	}
	msg := data[len(aggregateMagic) : len(data)-md5.Size]
	if sum := md5.Sum(msg); !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return []UserRecord{{PartitionKey: partitionKey, Data: data}}, nil
	}
	var pks, ehks []string
	type rec struct {
		pk, ehk uint64
		hasEHK  bool
		data    []byte
	}
	var recs []rec
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, fmt.Errorf("aggregated record: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		if typ != protowire.BytesType || num < aggPartitionKeyTable || num > aggRecords {
			n = protowire.ConsumeFieldValue(num, typ, msg) // unknown field: skip it
			if n < 0 {
				return nil, fmt.Errorf("aggregated record: %w", protowire.ParseError(n))
			}
			msg = msg[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(msg)
		if n < 0 {
			return nil, fmt.Errorf("aggregated record: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		switch num {
		case aggPartitionKeyTable:
			pks = append(pks, string(v))
		case aggExplicitHashKeyTable:
			ehks = append(ehks, string(v))
		case aggRecords:
			var r rec
			for len(v) > 0 {
				rnum, rtyp, n := protowire.ConsumeTag(v)
				if n < 0 {
					return nil, fmt.Errorf("aggregated record: record: %w", protowire.ParseError(n))
				}
				v = v[n:]
				switch {
				case rnum == recPartitionKeyIndex && rtyp == protowire.VarintType:
					r.pk, n = protowire.ConsumeVarint(v)
				case rnum == recExplicitHashKeyIndex && rtyp == protowire.VarintType:
					r.ehk, n = protowire.ConsumeVarint(v)
					r.hasEHK = true
				case rnum == recData && rtyp == protowire.BytesType:
					r.data, n = protowire.ConsumeBytes(v)
				default:
					n = protowire.ConsumeFieldValue(rnum, rtyp, v) // tags, unknown fields
				}
				if n < 0 {
					return nil, fmt.Errorf("aggregated record: record: %w", protowire.ParseError(n))
				}
				v = v[n:]
			}
			recs = append(recs, r)
		}
	}
	out := make([]UserRecord, len(recs))
	for i, r := range recs {
		if r.pk >= uint64(len(pks)) || (r.hasEHK && r.ehk >= uint64(len(ehks))) {
			return nil, errors.New("aggregated record: a record names a key its tables do not hold")
		}
		out[i] = UserRecord{PartitionKey: pks[r.pk], Data: r.data}
		if r.hasEHK {
			out[i].ExplicitHashKey = ehks[r.ehk]
		}
	}
	return out, nil
}
