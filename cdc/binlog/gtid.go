package binlog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// gtidState is the set of transactions read so far, in the source's own GTID form.
type gtidState interface {
	// Add records one transaction's GTID.
	Add(gtid string) error
	String() string
}

func newGTIDState(flavor, set string) (gtidState, error) {
	if flavor == FlavorMariaDB {
		return parseMariaDBPosition(set)
	}
	s, err := gomysql.ParseMysqlGTIDSet(set)
	if err != nil {
		return nil, fmt.Errorf("%q is not a MySQL GTID set: %w", set, err)
	}
	return &mysqlSet{s.(*gomysql.MysqlGTIDSet)}, nil
}

// mysqlSet is MySQL's executed GTID set.
type mysqlSet struct{ s *gomysql.MysqlGTIDSet }

func (m *mysqlSet) Add(gtid string) error { return m.s.Update(gtid) }
func (m *mysqlSet) String() string        { return m.s.String() }

// mariadbPosition is MariaDB's GTID position: the last GTID of each replication domain.
// go-mysql's MariadbGTIDSet keeps one entry per domain and server, which MariaDB refuses
// as a connect state after a failover changes the server id within a domain.
type mariadbPosition map[uint32]gomysql.MariadbGTID

func parseMariaDBPosition(s string) (mariadbPosition, error) {
	p := mariadbPosition{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if err := p.Add(part); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p mariadbPosition) Add(gtid string) error {
	g, err := gomysql.ParseMariadbGTID(gtid)
	if err != nil {
		return fmt.Errorf("%q is not a MariaDB GTID (domain-server-sequence): %w", gtid, err)
	}
	p[g.DomainID] = *g
	return nil
}

func (p mariadbPosition) String() string {
	domains := make([]uint32, 0, len(p))
	for d := range p {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i] < domains[j] })
	parts := make([]string, len(domains))
	for i, d := range domains {
		g := p[d]
		parts[i] = strconv.FormatUint(uint64(g.DomainID), 10) + "-" + strconv.FormatUint(uint64(g.ServerID), 10) + "-" + strconv.FormatUint(g.SequenceNumber, 10)
	}
	return strings.Join(parts, ",")
}

// fromGTIDList turns a MariaDB GTID_LIST event (the position at a file's head, one entry
// per domain and server) into a position: per domain, the highest sequence number.
func fromGTIDList(list []gomysql.MariadbGTID) mariadbPosition {
	p := mariadbPosition{}
	for _, g := range list {
		if b, ok := p[g.DomainID]; !ok || g.SequenceNumber > b.SequenceNumber {
			p[g.DomainID] = g
		}
	}
	return p
}
