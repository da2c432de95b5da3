package binlog

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStart(t *testing.T) {
	tests := []struct {
		in      string
		want    Position
		wantErr string
	}{
		{"gtid:0-1-100", Position{GTID: "0-1-100"}, ""},
		{"gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", Position{GTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"}, ""},
		{"file:binlog.000003:1234", Position{File: "binlog.000003", Pos: 1234}, ""},
		{"file:binlog.000003:0", Position{File: "binlog.000003", Pos: 4}, ""},
		{"gtid:", Position{}, "needs a GTID set"},
		{"file:binlog.000003", Position{}, "file:NAME:POS"},
		{"file:binlog.000003:x", Position{}, "not a number"},
		{"now", Position{}, "earliest, latest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStart(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCompareAndBytesBetween(t *testing.T) {
	a := Position{File: "binlog.000009", Pos: 100}
	b := Position{File: "binlog.000010", Pos: 50}
	require.Equal(t, -1, Compare(a, b))
	require.Equal(t, 1, Compare(b, a))
	require.Equal(t, 0, Compare(a, a))

	files := []LogFile{{"binlog.000009", 1000}, {"binlog.000010", 500}, {"binlog.000011", 300}}
	require.Equal(t, int64(900+50), BytesBetween(files, a, b))
	require.Equal(t, int64(900+500+20), BytesBetween(files, a, Position{File: "binlog.000011", Pos: 20}))
	require.Equal(t, int64(30), BytesBetween(files, Position{File: "binlog.000010", Pos: 20}, b))
	require.Equal(t, int64(0), BytesBetween(files, b, a), "at or past the head: no lag")
	require.Equal(t, int64(-1), BytesBetween(files[1:], a, b), "purged file: unknown")
}

func TestPreflightCheck(t *testing.T) {
	good := func() *SourceInfo {
		return &SourceInfo{Flavor: FlavorMariaDB, ServerID: 1, LogBin: true, BinlogFormat: "ROW", BinlogRowImage: "FULL",
			BinlogRowMetadata: "FULL", Grants: []string{"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`"}}
	}
	tests := []struct {
		name   string
		mutate func(*SourceInfo)
		id     uint32
		want   []string
	}{
		{"fit", func(*SourceInfo) {}, 42, nil},
		{"all privileges", func(s *SourceInfo) { s.Grants = []string{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"} }, 42, nil},
		{"role grants cannot be judged here", func(s *SourceInfo) { s.Grants = []string{"GRANT `cdc_role` TO `cdc`@`%`"} }, 42, nil},
		{"binlog off", func(s *SourceInfo) { s.LogBin = false }, 42, []string{"log_bin is OFF"}},
		{"statement", func(s *SourceInfo) { s.BinlogFormat = "STATEMENT" }, 42, []string{"binlog_format is STATEMENT", "binlog_format=ROW"}},
		{"minimal image", func(s *SourceInfo) { s.BinlogRowImage = "MINIMAL" }, 42, []string{"binlog_row_image is MINIMAL", "binlog_row_image=FULL"}},
		{"partial json", func(s *SourceInfo) { s.Flavor = FlavorMySQL; s.BinlogRowValueOpts = "PARTIAL_JSON" }, 42, []string{"binlog_row_value_options", "SET PERSIST"}},
		{"server id zero", func(*SourceInfo) {}, 0, []string{"--server-id is 0"}},
		{"server id of the source", func(*SourceInfo) {}, 1, []string{"source's own server_id"}},
		{"no replication slave", func(s *SourceInfo) { s.Grants = []string{"GRANT SELECT, BINLOG MONITOR ON *.* TO `cdc`@`%`"} }, 42, []string{"REPLICATION SLAVE is missing"}},
		{"no replication client", func(s *SourceInfo) {
			s.Grants = []string{"GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`"}
			s.HeadErr = errors.New("Error 1227")
		}, 42, []string{"REPLICATION CLIENT is missing (Error 1227)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.mutate(s)
			err := s.Check(tt.id)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			var pe *PreflightError
			require.ErrorAs(t, err, &pe)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			require.True(t, strings.HasPrefix(err.Error(), "the source is not set up for change data capture"))
		})
	}
}

func TestMariaDBPositionKeepsOneGTIDPerDomain(t *testing.T) {
	p, err := parseMariaDBPosition("0-1-10,1-1-5")
	require.NoError(t, err)
	require.NoError(t, p.Add("0-2-11")) // failover: a new server id continues domain 0
	require.NoError(t, p.Add("2-2-1"))
	require.Equal(t, "0-2-11,1-1-5,2-2-1", p.String())
	_, err = parseMariaDBPosition("0-1")
	require.Error(t, err)
}
