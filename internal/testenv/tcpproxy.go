package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// TCPProxy forwards connections to an upstream address and can cut them, to test what
// happens when a database connection drops or a server goes away.
type TCPProxy struct {
	ln       net.Listener
	upstream string

	// relay forwards one accepted connection and its upstream one: both ways as they
	// are, unless a proxy built on this one (MySQLCommitProxy) reads what passes.
	relay func(client, up net.Conn)

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	refuse  bool
	accepts int
}

// NewTCPProxy starts a proxy to upstream (host:port) on a free loopback port, closed
// when the test ends.
func NewTCPProxy(t testing.TB, upstream string) *TCPProxy {
	t.Helper()
	p := listen(t, upstream)
	p.relay = func(c, up net.Conn) {
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
	go p.accept()
	return p
}

// listen opens the proxy's port (the caller sets relay, then starts accept).
func listen(t testing.TB, upstream string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &TCPProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Accepts counts the connections accepted so far.
func (p *TCPProxy) Accepts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}

// Cut resets every open connection (RST, so data in flight is lost as in a real network
// failure); new ones are accepted unless Refuse(true).
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
}

// reset closes c with an RST, dropping what was not yet delivered.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// drop resets a connection pair and forgets it.
func (p *TCPProxy) drop(a, b net.Conn) {
	reset(a)
	reset(b)
	p.mu.Lock()
	delete(p.conns, a)
	delete(p.conns, b)
	p.mu.Unlock()
}

// Refuse makes the proxy close new connections at once (the server is "down").
func (p *TCPProxy) Refuse(v bool) {
	p.mu.Lock()
	p.refuse = v
	p.mu.Unlock()
}

// Close stops the proxy and cuts every connection.
func (p *TCPProxy) Close() {
	_ = p.ln.Close()
	p.Cut()
}

func (p *TCPProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		refuse := p.refuse
		if !refuse {
			p.accepts++
		}
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.relay(c, up)
	}
}

func (p *TCPProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
