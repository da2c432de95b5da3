package kinesis

import (
	"container/heap"
	"time"

	"github.com/strangler/strangler/cdc/sink"
)

// entry is a record held by the sink until it is acknowledged.
type entry struct {
	rec       *sink.Record
	ord       uint64 // arrival order
	size      int
	putAt     time.Time
	oversize  bool // over MaxRecordBytes under OversizeSkip: goes to the dead-letter file
	attempts  int  // failed sends so far
	firstFail time.Time
	lastErr   error
	lastCode  string
}

// keyQueue holds the unacknowledged records of one partition key. Its head q[0] is the
// only one that may be in flight; the others wait for it to be acknowledged.
type keyQueue struct {
	key       string
	q         []*entry
	inFlight  bool      // the head is in a request
	waitUntil time.Time // the head failed and is backing off until then
	readyIdx  int       // index in readyHeap, -1 when not there
	waitIdx   int       // index in waitHeap, -1 when not there
}

func (k *keyQueue) head() *entry { return k.q[0] }

// readyHeap holds the keys whose head may be sent now, oldest head first.
type readyHeap []*keyQueue

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return h[i].q[0].ord < h[j].q[0].ord }
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].readyIdx, h[j].readyIdx = i, j
}
func (h *readyHeap) Push(x any) { k := x.(*keyQueue); k.readyIdx = len(*h); *h = append(*h, k) }
func (h *readyHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	k.readyIdx = -1
	return k
}

// waitHeap holds the keys whose head is backing off, earliest end first.
type waitHeap []*keyQueue

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].waitUntil.Before(h[j].waitUntil) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].waitIdx, h[j].waitIdx = i, j
}
func (h *waitHeap) Push(x any) { k := x.(*keyQueue); k.waitIdx = len(*h); *h = append(*h, k) }
func (h *waitHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	k.waitIdx = -1
	return k
}

// pending is the sink's record store: per-key queues, the ready and backing-off keys,
// and the totals that back-pressure and batching look at. It is guarded by Sink.mu.
type pending struct {
	keys       map[string]*keyQueue
	ready      readyHeap
	readyBytes int // sum of the sizes of the ready heads
	waiting    waitHeap
	count      int   // records held (pending, in flight, backing off)
	bytes      int64 // their sizes
	nextOrd    uint64
}

func newPending() *pending { return &pending{keys: map[string]*keyQueue{}} }

// add appends e to its key's queue; the key becomes ready if e is its only record.
func (p *pending) add(e *entry) {
	e.ord = p.nextOrd
	p.nextOrd++
	k := p.keys[e.rec.PartitionKey]
	if k == nil {
		k = &keyQueue{key: e.rec.PartitionKey, readyIdx: -1, waitIdx: -1}
		p.keys[k.key] = k
	}
	k.q = append(k.q, e)
	p.count++
	p.bytes += int64(e.size)
	if len(k.q) == 1 {
		p.pushReady(k)
	}
}

func (p *pending) pushReady(k *keyQueue) {
	heap.Push(&p.ready, k)
	p.readyBytes += k.head().size
}

func (p *pending) popReady() *keyQueue {
	k := heap.Pop(&p.ready).(*keyQueue)
	p.readyBytes -= k.head().size
	return k
}

// oldestReady is the head that has waited longest among the ready keys.
func (p *pending) oldestReady() *entry { return p.ready[0].head() }

// done removes the acknowledged head of k; the key's next record becomes ready.
func (p *pending) done(k *keyQueue) *entry {
	e := k.q[0]
	k.q[0] = nil
	k.q = k.q[1:]
	k.inFlight = false
	p.count--
	p.bytes -= int64(e.size)
	if len(k.q) == 0 {
		delete(p.keys, k.key)
	} else {
		p.pushReady(k)
	}
	return e
}

// backOff parks k's head until until; later records of the key keep waiting behind it.
func (p *pending) backOff(k *keyQueue, until time.Time) {
	k.inFlight = false
	k.waitUntil = until
	heap.Push(&p.waiting, k)
}

// wake moves the keys whose backoff ended to the ready heap and returns when the next
// backoff ends (zero if none).
func (p *pending) wake(now time.Time) time.Time {
	for len(p.waiting) > 0 {
		k := p.waiting[0]
		if k.waitUntil.After(now) {
			return k.waitUntil
		}
		heap.Pop(&p.waiting)
		k.waitUntil = time.Time{}
		p.pushReady(k)
	}
	return time.Time{}
}
