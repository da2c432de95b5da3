// Package shadow is an HTTP proxy in front of the monolith: every request goes to the
// legacy service and its response goes back unchanged; a sampled share of requests (safe
// methods by default) is mirrored afterwards, off the request path, to the candidate
// service, and the two answers are compared (status, chosen headers, JSON bodies with
// ignore paths and numeric tolerance). Like Diffy, it learns noise: each mirrored request
// is also sent to the legacy side a second time (or to a second legacy instance), and the
// fields that differ between the two legacy answers are not reported.
//
// The legacy path pays only for buffering the bodies it already carries (up to MaxBody);
// the proxy never fails or slows a request because of the candidate.
package shadow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strangler/strangler/compare/tally"
)

// Config configures a proxy.
type Config struct {
	Legacy          *url.URL // the monolith: every request goes there
	Candidate       *url.URL // the new service: sampled requests are mirrored to it
	LegacySecondary *url.URL // a second legacy instance for noise; nil: the legacy is called twice
	NoNoise         bool     // do not learn noise (no second legacy call)
	Sample          float64  // percent of eligible requests mirrored (default 100)
	Methods         []string // methods mirrored (default GET, HEAD, OPTIONS)
	Rules           Rules
	Timeout         time.Duration // candidate (and noise call) timeout, default 5 s
	MaxBody         int64         // bodies above this are passed through but not mirrored (default 1 MiB)
	Queue           int           // mirrors waiting; beyond it they are dropped (default 256)
	Workers         int           // mirrors compared at once (default 8)
	Tally           *tally.Tally
	Metrics         *Metrics // nil: none
	Logger          *slog.Logger
	Transport       http.RoundTripper // nil: a default transport
}

// Proxy is the shadowing reverse proxy.
type Proxy struct {
	cfg     Config
	rp      *httputil.ReverseProxy
	client  *http.Client
	jobs    chan *job
	wg      sync.WaitGroup
	closeMu sync.RWMutex
	closed  bool
}

type job struct {
	endpoint string
	method   string
	uri      string // path and query
	header   http.Header
	body     []byte
	legacy   Answer
}

// New checks the configuration and starts the mirror workers.
func New(cfg Config) (*Proxy, error) {
	if cfg.Legacy == nil || cfg.Legacy.Host == "" {
		return nil, errors.New("shadow: --legacy URL is required (the monolith, e.g. http://legacy:8080)")
	}
	if cfg.Candidate == nil || cfg.Candidate.Host == "" {
		return nil, errors.New("shadow: --candidate URL is required (the new service, e.g. http://orders:8080)")
	}
	if cfg.Sample == 0 {
		cfg.Sample = 100
	}
	if cfg.Sample < 0 || cfg.Sample > 100 {
		return nil, fmt.Errorf("shadow: --sample %v: use a percent from 0 to 100", cfg.Sample)
	}
	if len(cfg.Methods) == 0 {
		cfg.Methods = []string{http.MethodGet, http.MethodHead, http.MethodOptions}
	}
	for i, m := range cfg.Methods {
		cfg.Methods[i] = strings.ToUpper(m)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Tally == nil {
		cfg.Tally = tally.New(100)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		cfg.Transport = t
	}
	p := &Proxy{cfg: cfg, jobs: make(chan *job, cfg.Queue), client: &http.Client{Transport: cfg.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.Legacy)
			pr.Out.Host = pr.In.Host // the monolith sees the host the client asked for
			pr.SetXForwarded()
		},
		Transport:      cfg.Transport,
		FlushInterval:  -1,
		ModifyResponse: p.capture,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Logger.Warn("legacy request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	for range cfg.Workers {
		p.wg.Add(1)
		go p.worker()
	}
	return p, nil
}

type ctxKey struct{}

type pending struct {
	endpoint string
	mirror   bool
	reqBody  []byte
	r        *http.Request
}

// ServeHTTP proxies to the legacy service and schedules the mirror.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ep := Endpoint(r.Method, r.URL.Path)
	p.cfg.Tally.Request(ep)
	pd := &pending{endpoint: ep, r: r}
	pd.mirror = slices.Contains(p.cfg.Methods, r.Method) && (p.cfg.Sample >= 100 || rand.Float64()*100 < p.cfg.Sample)
	if pd.mirror && r.Body != nil && r.Body != http.NoBody {
		// Keep the request body for the candidate; a body too large is streamed as is.
		buf, err := io.ReadAll(io.LimitReader(r.Body, p.cfg.MaxBody+1))
		if err != nil {
			http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if int64(len(buf)) > p.cfg.MaxBody {
			pd.mirror = false
			r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		} else {
			pd.reqBody = buf
			r.Body = io.NopCloser(bytes.NewReader(buf))
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, pd))
	p.rp.ServeHTTP(w, r)
	if m := p.cfg.Metrics; m != nil {
		m.Requests.WithLabelValues(r.Method).Inc()
		m.LegacySeconds.Observe(time.Since(start).Seconds())
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// capture wraps the legacy response body: as the client receives it, a copy (up to
// MaxBody) is kept, and the mirror is queued once the body has been sent in full.
func (p *Proxy) capture(resp *http.Response) error {
	pd, _ := resp.Request.Context().Value(ctxKey{}).(*pending)
	if pd == nil || !pd.mirror {
		return nil
	}
	if resp.ContentLength > p.cfg.MaxBody {
		return nil
	}
	header := resp.Header.Clone()
	status := resp.StatusCode
	resp.Body = &teeBody{rc: resp.Body, limit: p.cfg.MaxBody, done: func(body []byte) {
		p.enqueue(&job{endpoint: pd.endpoint, method: pd.r.Method, uri: pd.r.URL.RequestURI(), header: pd.r.Header.Clone(),
			body: pd.reqBody, legacy: Answer{Status: status, Header: header, Body: body}})
	}}
	return nil
}

type teeBody struct {
	rc       io.ReadCloser
	buf      bytes.Buffer
	limit    int64
	over     bool
	eof      bool
	done     func([]byte)
	finished bool
}

func (t *teeBody) Read(b []byte) (int, error) {
	n, err := t.rc.Read(b)
	if n > 0 && !t.over {
		if int64(t.buf.Len()+n) > t.limit {
			t.over = true
			t.buf.Reset()
		} else {
			t.buf.Write(b[:n])
		}
	}
	if errors.Is(err, io.EOF) {
		t.eof = true
	}
	return n, err
}

func (t *teeBody) Close() error {
	err := t.rc.Close()
	if !t.finished && t.eof && !t.over {
		t.finished = true
		t.done(t.buf.Bytes())
	}
	return err
}

func (p *Proxy) enqueue(j *job) {
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed {
		return
	}
	select {
	case p.jobs <- j:
		p.cfg.Tally.Mirrored(j.endpoint)
		if m := p.cfg.Metrics; m != nil {
			m.Mirrored.Inc()
		}
	default:
		p.cfg.Tally.Dropped(j.endpoint)
		if m := p.cfg.Metrics; m != nil {
			m.Dropped.Inc()
		}
	}
}

// Close stops taking mirrors and waits for those queued to be compared.
func (p *Proxy) Close() {
	p.closeMu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.closeMu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) worker() {
	defer p.wg.Done()
	for j := range p.jobs {
		p.compare(j)
	}
}

func (p *Proxy) compare(j *job) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
	defer cancel()
	var cand, noise *Answer
	var candErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t0 := time.Now()
		cand, candErr = p.call(ctx, p.cfg.Candidate, j)
		if m := p.cfg.Metrics; m != nil {
			m.CandidateSeconds.Observe(time.Since(t0).Seconds())
		}
	}()
	if !p.cfg.NoNoise {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := p.cfg.LegacySecondary
			if target == nil {
				target = p.cfg.Legacy
			}
			a, err := p.call(ctx, target, j)
			if err == nil {
				noise = a
			}
		}()
	}
	wg.Wait()
	o := tally.Outcome{Method: j.method, URL: j.uri, LegacyStatus: j.legacy.Status}
	if candErr != nil {
		o.CandidateErr = candErr
		p.cfg.Tally.Record(j.endpoint, o)
		p.cfg.Logger.Debug("candidate failed", "endpoint", j.endpoint, "err", candErr)
		if m := p.cfg.Metrics; m != nil {
			m.Compared.WithLabelValues(j.endpoint, "candidate_error").Inc()
		}
		return
	}
	o.CandidateStatus = cand.Status
	if noise != nil {
		var learnt []string
		for f := range Diff(j.legacy, *noise, p.cfg.Rules) {
			learnt = append(learnt, f)
		}
		p.cfg.Tally.LearnNoise(j.endpoint, learnt)
	}
	diff := Diff(j.legacy, *cand, p.cfg.Rules)
	for f := range diff {
		if p.cfg.Tally.IsNoise(j.endpoint, f) {
			delete(diff, f)
		}
	}
	o.Fields = diff
	p.cfg.Tally.Record(j.endpoint, o)
	result := "match"
	if len(diff) > 0 {
		result = "mismatch"
		p.cfg.Logger.Info("shadow mismatch", "endpoint", j.endpoint, "uri", j.uri, "fields", Fields(diff))
	}
	if m := p.cfg.Metrics; m != nil {
		m.Compared.WithLabelValues(j.endpoint, result).Inc()
	}
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// call replays a request against base and reads the answer.
func (p *Proxy) call(ctx context.Context, base *url.URL, j *job) (*Answer, error) {
	u := *base
	ref, err := url.Parse(j.uri)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(base.Path, "/") + ref.Path
	u.RawQuery = ref.RawQuery
	var body io.Reader
	if j.body != nil {
		body = bytes.NewReader(j.body)
	}
	req, err := http.NewRequestWithContext(ctx, j.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header = j.header.Clone()
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.Header.Set("X-Strangler-Shadow", "1")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", j.method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", j.method, u.Redacted(), err)
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Metrics returns the proxy's metrics (nil when none were given).
func (p *Proxy) Metrics() *Metrics { return p.cfg.Metrics }
