package binlog

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a transaction boundary in the source's binlog: every transaction before it
// has been read, none after it. File and Pos are coordinates on the server being read;
// GTID, when the source has GTIDs, is the set of transactions before the boundary
// (MySQL's executed set, or MariaDB's per-domain position) and survives a failover to
// another server, which file coordinates do not.
type Position struct {
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
	GTID string `json:"gtid,omitempty"`
}

func (p Position) String() string {
	s := p.File + ":" + strconv.FormatUint(uint64(p.Pos), 10)
	if p.GTID != "" {
		s += " gtid " + p.GTID
	}
	return s
}

// IsZero reports whether p names no position at all.
func (p Position) IsZero() bool { return p.File == "" && p.GTID == "" }

// Resume is where to pick up a stream: the start of a transaction, and how many row
// changes of that transaction were already delivered and must not be sent again. A large
// transaction interrupted half-way is resumed without resending its acknowledged half.
type Resume struct {
	Position
	Skip int64 `json:"skip,omitempty"`
}

func (r Resume) String() string {
	if r.Skip == 0 {
		return r.Position.String()
	}
	return fmt.Sprintf("%s (skipping %d changes)", r.Position, r.Skip)
}

// Compare orders two positions on the same server by file coordinates: -1, 0 or 1.
// Binlog file names end with a number that only grows.
func Compare(a, b Position) int {
	if a.File != b.File {
		an, bn := fileSeq(a.File), fileSeq(b.File)
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return strings.Compare(a.File, b.File)
	}
	switch {
	case a.Pos < b.Pos:
		return -1
	case a.Pos > b.Pos:
		return 1
	}
	return 0
}

func fileSeq(name string) int64 {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// ParseStart parses the --start forms that name a position: gtid:SET and file:NAME:POS.
func ParseStart(s string) (Position, error) {
	switch {
	case strings.HasPrefix(s, "gtid:"):
		set := strings.TrimPrefix(s, "gtid:")
		if set == "" {
			return Position{}, fmt.Errorf("--start gtid: needs a GTID set, e.g. gtid:0-1-100 (MariaDB) or gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5 (MySQL)")
		}
		return Position{GTID: set}, nil
	case strings.HasPrefix(s, "file:"):
		rest := strings.TrimPrefix(s, "file:")
		i := strings.LastIndexByte(rest, ':')
		if i <= 0 {
			return Position{}, fmt.Errorf("--start %q: write file:NAME:POS, e.g. file:binlog.000003:4", s)
		}
		pos, err := strconv.ParseUint(rest[i+1:], 10, 32)
		if err != nil {
			return Position{}, fmt.Errorf("--start %q: position %q is not a number: write file:NAME:POS", s, rest[i+1:])
		}
		if pos < 4 {
			pos = 4 // a binlog file's first event starts after its 4-byte magic
		}
		return Position{File: rest[:i], Pos: uint32(pos)}, nil
	}
	return Position{}, fmt.Errorf("--start %q: use earliest, latest, gtid:SET or file:NAME:POS", s)
}
