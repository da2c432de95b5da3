package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// KinesisFaults is what a KinesisFaultProxy does to the PutRecord and PutRecords requests
// passing through it; other operations pass untouched. Shares are probabilities in [0, 1]
// drawn per request (per entry for FailEntryShare) from the proxy's seeded generator.
// The zero value forwards everything.
type KinesisFaults struct {
	// ThrottleShare of requests is answered 400 with ThrottleCode (default
	// ProvisionedThroughputExceededException; KMSThrottlingException and
	// LimitExceededException are the other throttling answers), without forwarding.
	ThrottleShare float64
	ThrottleCode  string
	// InternalErrorShare of requests is answered 500 InternalFailure without forwarding.
	InternalErrorShare float64
	// DropShare of requests has its connection closed without an answer: before
	// forwarding, or with DropAfterForward after the upstream stored the records, so
	// that the client cannot know they landed.
	DropShare        float64
	DropAfterForward bool
	// FailEntryShare of PutRecords entries fails: only the others are forwarded, and the
	// answer (200) carries FailEntryCode (default ProvisionedThroughputExceededException;
	// or InternalFailure) in the failed entries' places, with FailedRecordCount.
	FailEntryShare float64
	FailEntryCode  string
	// Latency is added before each PutRecord(s) request is handled.
	Latency time.Duration
	// FailAllCode, when set, answers every PutRecord(s) with this error code: 500 for
	// InternalFailure and ServiceUnavailable, 400 otherwise (ResourceNotFoundException,
	// AccessDeniedException, ProvisionedThroughputExceededException...).
	FailAllCode string
}

// KinesisProxyStats counts what a KinesisFaultProxy saw and did.
type KinesisProxyStats struct {
	Requests           map[string]int // every request, by operation (PutRecords, GetRecords...)
	PutRecordsRequests int
	PutRecordRequests  int
	Entries            int // PutRecords entries received, retries included
	EntriesForwarded   int // entries the upstream answered (successfully or not)
	EntriesFailed      int // entries failed by the proxy
	Throttled          int // requests answered with ThrottleCode
	InternalErrors     int // requests answered 500
	Dropped            int // connections closed without an answer
	FailedAll          int // requests answered with FailAllCode
	UpstreamErrors     int // requests the upstream answered with an error status
	// Limits as seen on the wire (a record's size is its data plus its partition key).
	MaxEntriesPerRequest int
	MaxRequestBytes      int
	MaxRecordBytes       int
	// RequestsWithDuplicateKeys counts PutRecords requests holding two entries of one
	// partition key; KeyOverlaps counts entries whose partition key was also in another
	// PutRecord(s) request the proxy was still handling. A sink that keeps at most one
	// record per key in flight has both at 0.
	RequestsWithDuplicateKeys int
	KeyOverlaps               int
}

// KinesisFaultProxy is an HTTP proxy in front of a Kinesis API server (kinesalite) that
// injects throttling, failed entries, server errors, dropped connections and latency,
// as its KinesisFaults say; tests may change them while it runs. Point a client (or the
// strangler binary's --kinesis-endpoint) at URL().
type KinesisFaultProxy struct {
	srv      *httptest.Server
	upstream string
	client   *http.Client

	mu       sync.Mutex
	faults   KinesisFaults
	rng      *rand.Rand
	stats    KinesisProxyStats
	inFlight map[string]int // partition keys of requests being handled
}

// NewKinesisFaultProxy starts a proxy to upstream (e.g. KinesisEndpoint(t)), closed when
// the test ends. Its random draws come from seed 1 unless Seed says otherwise.
func NewKinesisFaultProxy(t testing.TB, upstream string) *KinesisFaultProxy {
	t.Helper()
	p := &KinesisFaultProxy{
		upstream: strings.TrimRight(upstream, "/"),
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
		rng:      rand.New(rand.NewPCG(1, 1)),
		inFlight: map[string]int{},
		stats:    KinesisProxyStats{Requests: map[string]int{}},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.client.CloseIdleConnections()
	})
	return p
}

// URL is the proxy's endpoint.
func (p *KinesisFaultProxy) URL() string { return p.srv.URL }

// SetFaults replaces the faults; requests already being handled keep the old ones.
func (p *KinesisFaultProxy) SetFaults(f KinesisFaults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// Faults returns the current faults.
func (p *KinesisFaultProxy) Faults() KinesisFaults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Seed restarts the random draws from seed.
func (p *KinesisFaultProxy) Seed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng = rand.New(rand.NewPCG(seed, seed))
}

// Stats returns a copy of the counters.
func (p *KinesisFaultProxy) Stats() KinesisProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Requests = maps.Clone(p.stats.Requests)
	return s
}

// ResetStats zeroes the counters.
func (p *KinesisFaultProxy) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = KinesisProxyStats{Requests: map[string]int{}}
}

// putEntry is the part of a PutRecords entry the proxy looks at.
type putEntry struct {
	Data         []byte
	PartitionKey string
}

func (p *KinesisFaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if op != "PutRecords" && op != "PutRecord" {
		p.count(func(s *KinesisProxyStats) { s.Requests[op]++ })
		p.forwardAndCopy(w, r, body)
		return
	}

	var raw map[string]json.RawMessage
	var rawEntries []json.RawMessage
	var entries []putEntry
	if err := json.Unmarshal(body, &raw); err != nil {
		p.forwardAndCopy(w, r, body) // let the upstream say what is wrong
		return
	}
	if op == "PutRecords" {
		_ = json.Unmarshal(raw["Records"], &rawEntries)
		entries = make([]putEntry, len(rawEntries))
		for i, e := range rawEntries {
			_ = json.Unmarshal(e, &entries[i])
		}
	} else {
		var e putEntry
		_ = json.Unmarshal(body, &e)
		entries = []putEntry{e}
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.PartitionKey
	}

	// Draw every decision at arrival, under the lock, so a seed replays the same faults
	// for the same sequence of requests.
	p.mu.Lock()
	f := p.faults
	s := &p.stats
	s.Requests[op]++
	reqBytes := 0
	seen := map[string]bool{}
	dup := false
	for _, e := range entries {
		size := len(e.Data) + len(e.PartitionKey)
		reqBytes += size
		s.MaxRecordBytes = max(s.MaxRecordBytes, size)
		if seen[e.PartitionKey] {
			dup = true
		}
		seen[e.PartitionKey] = true
	}
	for k := range seen {
		if p.inFlight[k] > 0 {
			s.KeyOverlaps++
		}
		p.inFlight[k]++
	}
	if op == "PutRecords" {
		s.PutRecordsRequests++
		s.Entries += len(entries)
		s.MaxEntriesPerRequest = max(s.MaxEntriesPerRequest, len(entries))
		s.MaxRequestBytes = max(s.MaxRequestBytes, reqBytes)
		if dup {
			s.RequestsWithDuplicateKeys++
		}
	} else {
		s.PutRecordRequests++
	}
	action := ""
	switch draw := p.rng.Float64(); {
	case f.FailAllCode != "":
		action = "failall"
		s.FailedAll++
	case draw < f.ThrottleShare:
		action = "throttle"
		s.Throttled++
	case draw < f.ThrottleShare+f.InternalErrorShare:
		action = "internal"
		s.InternalErrors++
	case draw < f.ThrottleShare+f.InternalErrorShare+f.DropShare:
		action = "drop"
		s.Dropped++
	}
	var failed []bool
	if action == "" && op == "PutRecords" && f.FailEntryShare > 0 {
		failed = make([]bool, len(entries))
		for i := range failed {
			failed[i] = p.rng.Float64() < f.FailEntryShare
		}
	}
	p.mu.Unlock()

	// The keys leave the in-flight set before the client can see an answer, so that a
	// client's next request for a key never counts as an overlap with this one.
	release := func() {
		p.mu.Lock()
		for k := range seen {
			if p.inFlight[k]--; p.inFlight[k] == 0 {
				delete(p.inFlight, k)
			}
		}
		p.mu.Unlock()
	}

	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			release()
			return
		}
	}
	switch action {
	case "failall":
		release()
		status := http.StatusBadRequest
		if f.FailAllCode == "InternalFailure" || f.FailAllCode == "ServiceUnavailable" {
			status = http.StatusInternalServerError
		}
		writeKinesisError(w, status, f.FailAllCode, "injected by the test proxy: every put fails")
		return
	case "throttle":
		release()
		writeKinesisError(w, http.StatusBadRequest, orDefault(f.ThrottleCode, "ProvisionedThroughputExceededException"),
			"Rate exceeded for shard shardId-000000000000 in stream under account 000000000000 (injected by the test proxy).")
		return
	case "internal":
		release()
		writeKinesisError(w, http.StatusInternalServerError, "InternalFailure", "injected by the test proxy")
		return
	case "drop":
		if f.DropAfterForward {
			if resp, _, err := p.forward(r, body); err == nil && resp.StatusCode < 300 && op == "PutRecords" {
				p.count(func(s *KinesisProxyStats) { s.EntriesForwarded += len(entries) })
			}
		}
		release()
		p.drop(w)
		return
	}

	if failed == nil {
		resp, respBody, err := p.forward(r, body)
		release()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.count(func(s *KinesisProxyStats) {
			if resp.StatusCode >= 300 {
				s.UpstreamErrors++
			} else if op == "PutRecords" {
				s.EntriesForwarded += len(entries)
			}
		})
		copyResponse(w, resp, respBody)
		return
	}
	p.putRecordsWithFailures(w, r, raw, rawEntries, failed, f, release)
}

// putRecordsWithFailures forwards the entries that survive and answers with the failed
// ones in their places.
func (p *KinesisFaultProxy) putRecordsWithFailures(w http.ResponseWriter, r *http.Request, raw map[string]json.RawMessage,
	rawEntries []json.RawMessage, failed []bool, f KinesisFaults, release func()) {
	var survivors []json.RawMessage
	nFailed := 0
	for i, e := range rawEntries {
		if failed[i] {
			nFailed++
		} else {
			survivors = append(survivors, e)
		}
	}
	code := orDefault(f.FailEntryCode, "ProvisionedThroughputExceededException")
	msg := "injected by the test proxy"
	if code == "ProvisionedThroughputExceededException" {
		msg = "Rate exceeded for shard shardId-000000000000 in stream under account 000000000000 (injected by the test proxy)."
	}
	failedEntry, _ := json.Marshal(map[string]string{"ErrorCode": code, "ErrorMessage": msg})

	var upstream []json.RawMessage
	upstreamFailed := 0
	out := map[string]json.RawMessage{}
	if len(survivors) > 0 {
		sub := maps.Clone(raw)
		sub["Records"], _ = json.Marshal(survivors)
		subBody, _ := json.Marshal(sub)
		resp, respBody, err := p.forward(r, subBody)
		if err != nil {
			release()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if resp.StatusCode >= 300 {
			release()
			p.count(func(s *KinesisProxyStats) { s.UpstreamErrors++ })
			copyResponse(w, resp, respBody)
			return
		}
		if err := json.Unmarshal(respBody, &out); err != nil {
			release()
			http.Error(w, "proxy: upstream answer: "+err.Error(), http.StatusBadGateway)
			return
		}
		_ = json.Unmarshal(out["Records"], &upstream)
		_ = json.Unmarshal(out["FailedRecordCount"], &upstreamFailed)
		if len(upstream) != len(survivors) {
			release()
			http.Error(w, fmt.Sprintf("proxy: upstream answered %d entries for %d", len(upstream), len(survivors)), http.StatusBadGateway)
			return
		}
	}
	merged := make([]json.RawMessage, len(rawEntries))
	j := 0
	for i := range rawEntries {
		if failed[i] {
			merged[i] = failedEntry
		} else {
			merged[i] = upstream[j]
			j++
		}
	}
	out["Records"], _ = json.Marshal(merged)
	out["FailedRecordCount"], _ = json.Marshal(upstreamFailed + nFailed)
	respBody, _ := json.Marshal(out)
	p.count(func(s *KinesisProxyStats) {
		s.EntriesFailed += nFailed
		s.EntriesForwarded += len(survivors)
	})
	release()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("proxy-%d", time.Now().UnixNano()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(respBody)
}

func (p *KinesisFaultProxy) count(fn func(*KinesisProxyStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.stats)
}

// hopHeaders are not forwarded; Accept-Encoding is dropped so answers come uncompressed
// and can be rewritten.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Content-Length": true, "Accept-Encoding": true, "Host": true,
}

func (p *KinesisFaultProxy) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range r.Header {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			req.Header[k] = v
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: upstream %s: %w", p.upstream, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: read upstream answer: %w", err)
	}
	return resp, respBody, nil
}

func (p *KinesisFaultProxy) forwardAndCopy(w http.ResponseWriter, r *http.Request, body []byte) {
	resp, respBody, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	copyResponse(w, resp, respBody)
}

func copyResponse(w http.ResponseWriter, resp *http.Response, body []byte) {
	for k, v := range resp.Header {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func (p *KinesisFaultProxy) drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("kinesis fault proxy: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func writeKinesisError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("proxy-%d", time.Now().UnixNano()))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
