package decoder

import "github.com/go-mysql-org/go-mysql/replication"

// SkipUnstreamed returns a rows-event decoder for go-mysql's parser that leaves the rows
// of tables the filter excludes undecoded: they are not streamed, so decoding them only
// costs time, and a value go-mysql cannot decode in a table nobody asked for must not
// stop the stream.
func SkipUnstreamed(f Filter) func(*replication.RowsEvent, []byte) error {
	return func(re *replication.RowsEvent, data []byte) error {
		pos, err := re.DecodeHeader(data)
		if err != nil {
			return err
		}
		if f != nil && re.Table != nil && !f.Match(string(re.Table.Schema), string(re.Table.Table)) {
			return nil
		}
		return re.DecodeData(pos, data)
	}
}
