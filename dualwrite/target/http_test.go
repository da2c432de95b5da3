package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite/event"
)

func TestHTTPTargetOutcomes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	status := map[string]int{}
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		key := r.Header.Get("Idempotency-Key")
		calls = append(calls, r.Method+" "+r.URL.Path+" "+key+" "+r.Header.Get("Authorization"))
		if s, ok := status[key]; ok {
			w.WriteHeader(s)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	h, err := NewHTTP(HTTPOptions{URL: srv.URL + "/events", Header: http.Header{"Authorization": {"Bearer x"}}})
	require.NoError(t, err)
	ev := func(id string) event.Event {
		return event.Event{ID: id, Type: "T", AggregateType: "a", AggregateID: "1", Payload: []byte(`{}`)}
	}
	ctx := context.Background()
	status["dup"] = http.StatusConflict
	status["refused"] = http.StatusUnprocessableEntity
	status["busy"] = http.StatusTooManyRequests
	status["broken"] = http.StatusInternalServerError
	status[event.CompensationID("gone")] = http.StatusNotFound
	status[event.CompensationID("stuck")] = http.StatusBadGateway

	require.NoError(t, h.Apply(ctx, []event.Event{ev("ok"), ev("dup")}), "409 means already applied")
	for _, tc := range []struct {
		evs        []event.Event
		notApplied bool
	}{
		{[]event.Event{ev("refused")}, true},
		{[]event.Event{ev("busy")}, false},
		{[]event.Event{ev("broken")}, false},
		{[]event.Event{ev("ok"), ev("refused")}, false}, // the first one was applied
	} {
		err := h.Apply(ctx, tc.evs)
		require.Error(t, err)
		require.Equal(t, tc.notApplied, NotApplied(err), "%v", err)
	}
	require.NoError(t, h.Compensate(ctx, []event.Event{ev("a"), ev("gone")}), "undoing what was never applied succeeds")
	require.Error(t, h.Compensate(ctx, []event.Event{ev("stuck")}))
	mu.Lock()
	require.Contains(t, calls, "DELETE /events/gone "+event.CompensationID("gone")+" Bearer x")
	require.Equal(t, "DELETE /events/gone "+event.CompensationID("gone")+" Bearer x", calls[len(calls)-3], "latest first")
	mu.Unlock()

	down, err := NewHTTP(HTTPOptions{URL: "http://127.0.0.1:1/events"})
	require.NoError(t, err)
	err = down.Apply(ctx, []event.Event{ev("x")})
	require.True(t, NotApplied(err), "a refused connection sent nothing: %v", err)

	for _, bad := range []HTTPOptions{{URL: "ftp://x"}, {URL: ""}, {URL: "http://x", UndoURL: "nope"}} {
		_, err := NewHTTP(bad)
		require.ErrorContains(t, err, "http:// or https:// URL")
	}
}
