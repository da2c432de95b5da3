package shadow_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/compare/shadow"
	"github.com/strangler/strangler/compare/tally"
)

// service answers GET /orders/{id} with an order; candidate=true plants differences.
func service(t *testing.T, candidate bool, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	var seq atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id := strings.TrimPrefix(r.URL.Path, "/orders/")
		switch {
		case r.URL.Path == "/slow" && candidate:
			time.Sleep(time.Second)
		case r.URL.Path == "/boom" && candidate:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"created":true}`)
			return
		}
		total := 10.0
		items := []map[string]any{{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}}
		if candidate {
			switch id {
			case "7":
				total = 10.5 // a real difference
			case "8":
				total = 10.0000001 // within tolerance
			case "9":
				items[1]["qty"] = 3 // nested in an array
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "total": total, "items": items,
			"generated_at": time.Now().Format(time.RFC3339Nano), // noise: differs on every call
			"request_id":   fmt.Sprintf("req-%d-%v", seq.Add(1), candidate),
			"meta":         map[string]any{"version": map[bool]string{false: "legacy-1.0", true: "svc-2.3"}[candidate]},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestShadowProxy(t *testing.T) {
	t.Parallel()
	var legacyCalls, candCalls atomic.Int64
	legacy := service(t, false, &legacyCalls)
	cand := service(t, true, &candCalls)
	lu, _ := url.Parse(legacy.URL)
	cu, _ := url.Parse(cand.URL)
	reg := prometheus.NewRegistry()
	tl := tally.New(10)
	p, err := shadow.New(shadow.Config{Legacy: lu, Candidate: cu, Tally: tl, Metrics: shadow.NewMetrics(reg), Timeout: 300 * time.Millisecond,
		Rules: shadow.Rules{Headers: []string{"Content-Type"}, Ignore: []string{"$.meta.version"}, ToleranceAbs: 0.001}})
	require.NoError(t, err)
	front := httptest.NewServer(p)
	defer front.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(front.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 3; i++ {
		for _, id := range []string{"1", "2", "7", "8", "9"} {
			code, body := get("/orders/" + id)
			require.Equal(t, 200, code)
			require.Contains(t, body, `"meta":{"version":"legacy-1.0"}`, "the client always gets the legacy answer")
		}
	}
	code, _ := get("/slow")
	require.Equal(t, 200, code, "a slow candidate does not slow or fail the request")
	code, _ = get("/boom")
	require.Equal(t, 200, code, "a failing candidate does not fail the request")
	resp, err := http.Post(front.URL+"/orders", "application/json", strings.NewReader(`{"x":1}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp.Body.Close()
	p.Close() // waits for the queued comparisons

	eps := map[string]report.Endpoint{}
	for _, e := range tl.Snapshot() {
		eps[e.Endpoint] = e
	}
	o := eps["GET /orders/{id}"]
	require.Equal(t, int64(15), o.Requests)
	require.Equal(t, int64(15), o.Compared)
	require.Equal(t, int64(6), o.Mismatches, "ids 7 and 9, three times each")
	require.Equal(t, int64(9), o.Matches, "noise, ignored paths and tolerance do not count")
	require.Equal(t, []report.FieldCount{{Field: "$.items[*].qty", Count: 3}, {Field: "$.total", Count: 3}}, o.Fields)
	require.Contains(t, o.Noise, "$.generated_at", "learnt from two legacy answers")
	require.Contains(t, o.Noise, "$.request_id")
	require.NotEmpty(t, o.Samples)
	var sawTotal bool
	for _, s := range o.Samples {
		if v, ok := s.Fields["$.total"]; ok {
			sawTotal = true
			b, _ := json.Marshal(v)
			require.JSONEq(t, `{"source":10,"target":10.5}`, string(b))
			require.Equal(t, "/orders/7", s.URL)
		}
	}
	require.True(t, sawTotal)
	require.Equal(t, int64(1), eps["GET /slow"].CandidateErrors, "timed out")
	require.Equal(t, int64(1), eps["GET /boom"].Mismatches, "a 500 from the candidate is a status mismatch")
	var boom []string
	for _, f := range eps["GET /boom"].Fields {
		boom = append(boom, f.Field)
	}
	require.Contains(t, boom, "status")
	require.Equal(t, int64(0), eps["POST /orders"].Mirrored, "unsafe methods are not mirrored by default")
	require.Equal(t, int64(1), eps["POST /orders"].Requests)
	require.Equal(t, float64(6), testutil.ToFloat64(p.Metrics().Compared.WithLabelValues("GET /orders/{id}", "mismatch")))
	require.Equal(t, int64(17), candCalls.Load(), "every GET mirrored once")
}

// The legacy path gets a bounded extra latency only: a candidate that takes a second does
// not show in the client's response time.
func TestShadowDoesNotWaitForCandidate(t *testing.T) {
	t.Parallel()
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer legacy.Close()
	cand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer cand.Close()
	lu, _ := url.Parse(legacy.URL)
	cu, _ := url.Parse(cand.URL)
	p, err := shadow.New(shadow.Config{Legacy: lu, Candidate: cu, Queue: 2, Workers: 1, NoNoise: true, Timeout: 3 * time.Second})
	require.NoError(t, err)
	front := httptest.NewServer(p)
	defer front.Close()
	start := time.Now()
	for i := 0; i < 5; i++ {
		resp, err := http.Get(front.URL + "/x")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Five requests against a 1 s candidate: far less than one candidate call in total.
	require.Less(t, time.Since(start), 900*time.Millisecond)
	p.Close()
}

func TestEndpointAndDiffRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/orders/123", "GET /orders/{id}"},
		{"GET", "/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items", "GET /orders/{id}/items"},
		{"PUT", "/users/me", "PUT /users/me"},
		{"GET", "/", "GET /"},
	} {
		require.Equal(t, tc.want, shadow.Endpoint(tc.method, tc.path))
	}
	a := shadow.Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1,"b":{"c":[1,2]},"t":"x","e":[]}`)}
	b := shadow.Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(`{"a":1.0,"b":{"c":[1,3]},"t":"y","e":[],"new":true}`)}
	d := shadow.Diff(a, b, shadow.Rules{Headers: []string{"Content-Type"}})
	require.Equal(t, []string{"$.b.c[*]", "$.new", "$.t"}, shadow.Fields(d))
	d = shadow.Diff(a, b, shadow.Rules{Ignore: []string{"$..c", "t", "$.new"}})
	require.Empty(t, d)
	d = shadow.Diff(shadow.Answer{Status: 200, Body: []byte("hello")}, shadow.Answer{Status: 404, Body: []byte("hello ")}, shadow.Rules{})
	require.Equal(t, []string{"status"}, shadow.Fields(d))
}
