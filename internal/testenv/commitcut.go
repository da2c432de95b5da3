package testenv

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// MySQLCommitProxy forwards MySQL connections and, once armed, lets the next COMMIT
// reach the server but swallows the server's answer and resets the connection: the
// transaction commits while the client sees a broken connection, the case where a
// commit's outcome is unknown. (TCPProxy.Cut before COMMIT gives the other case: the
// server never sees it and rolls back.) It reads the plain protocol: no TLS, no
// compression, which is how the test DSNs connect.
type MySQLCommitProxy struct {
	*TCPProxy
	armed atomic.Bool
	cut   atomic.Int32
}

// NewMySQLCommitProxy starts a proxy to upstream (host:port), closed when the test ends.
func NewMySQLCommitProxy(t testing.TB, upstream string) *MySQLCommitProxy {
	t.Helper()
	p := &MySQLCommitProxy{TCPProxy: listen(t, upstream)}
	p.relay = func(c, up net.Conn) {
		var swallow atomic.Bool
		go p.clientToServer(c, up, &swallow)
		go p.serverToClient(up, c, &swallow)
	}
	go p.accept()
	return p
}

// ArmCommitCut makes the next COMMIT (on any connection) commit unseen.
func (p *MySQLCommitProxy) ArmCommitCut() { p.armed.Store(true) }

// CommitsCut counts the COMMITs whose answers were swallowed.
func (p *MySQLCommitProxy) CommitsCut() int { return int(p.cut.Load()) }

var comQueryCommit = []byte("\x03COMMIT")

// clientToServer forwards whole packets, watching for COM_QUERY "COMMIT".
func (p *MySQLCommitProxy) clientToServer(c, up net.Conn, swallow *atomic.Bool) {
	defer p.drop(c, up)
	hdr := make([]byte, 4)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		payload := make([]byte, n)
		if _, err := io.ReadFull(c, payload); err != nil {
			return
		}
		if bytes.EqualFold(payload, comQueryCommit) && p.armed.CompareAndSwap(true, false) {
			swallow.Store(true) // before the server can answer
			p.cut.Add(1)
		}
		if _, err := up.Write(append(hdr, payload...)); err != nil {
			return
		}
	}
}

// serverToClient copies the server's bytes, or drops the connection instead of passing
// the answer to a swallowed COMMIT.
func (p *MySQLCommitProxy) serverToClient(up, c net.Conn, swallow *atomic.Bool) {
	defer p.drop(c, up)
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if swallow.Load() {
				return // the COMMIT's answer: the client never sees it
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
