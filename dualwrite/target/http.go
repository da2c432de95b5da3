package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/strangler/strangler/dualwrite/event"
)

// HTTPOptions configure an HTTP target: the new service's endpoint.
type HTTPOptions struct {
	// URL receives each event: POST, body the event's JSON (docs/dual-writes.md),
	// header Idempotency-Key the event id. 2xx or 409 (already applied) is success.
	URL string
	// UndoURL receives each compensation: POST, body the compensating event's JSON
	// (its "compensates" field names the event), Idempotency-Key the compensation's id.
	// Empty: DELETE URL/<event id> with the same header. 2xx, 404, 409 and 410 are
	// success: undoing what was never applied succeeds.
	UndoURL string
	// Client sends the requests; default: 10 s timeout.
	Client *http.Client
	// Header is added to every request (Authorization...).
	Header http.Header
}

// HTTP sends events to the new service over HTTP, one request per event in order.
type HTTP struct {
	opts HTTPOptions
}

// NewHTTP returns an HTTP target.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	for _, u := range []struct{ name, v string }{{"URL", opts.URL}, {"UndoURL", opts.UndoURL}} {
		if u.v == "" && u.name == "UndoURL" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("http target: %s %q: give an http:// or https:// URL", u.name, u.v)
		}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &HTTP{opts: opts}, nil
}

// Name identifies the target in the mirror journal and the shadow failures.
func (h *HTTP) Name() string { return "http:" + h.opts.URL }

// Apply posts each event in order. A refusal before the first event was applied (a
// connection refused, a 4xx answer) is a NotAppliedError.
func (h *HTTP) Apply(ctx context.Context, evs []event.Event) error {
	for i := range evs {
		e := &evs[i]
		body, err := event.Marshal(e, &event.Source{Via: event.ViaDirect})
		if err != nil {
			return err
		}
		status, err := h.send(ctx, http.MethodPost, h.opts.URL, e.ID, body)
		switch {
		case err != nil:
			err = fmt.Errorf("http target: POST %s (event %s): %w", h.opts.URL, e.ID, err)
			if i == 0 && refused(err) {
				return &NotAppliedError{Err: err}
			}
			return err
		case status/100 == 2 || status == http.StatusConflict:
		default:
			err := fmt.Errorf("http target: POST %s (event %s): status %d", h.opts.URL, e.ID, status)
			if i == 0 && status/100 == 4 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
				return &NotAppliedError{Err: err}
			}
			return err
		}
	}
	return nil
}

// Compensate undoes evs, latest first.
func (h *HTTP) Compensate(ctx context.Context, evs []event.Event) error {
	now := time.Now()
	for _, e := range reverse(evs) {
		c := e.Compensation(now)
		method, target := http.MethodPost, h.opts.UndoURL
		var body []byte
		if target == "" {
			method, target = http.MethodDelete, strings.TrimSuffix(h.opts.URL, "/")+"/"+url.PathEscape(e.ID)
		} else {
			var err error
			if body, err = event.Marshal(&c, &event.Source{Via: event.ViaDirect}); err != nil {
				return err
			}
		}
		status, err := h.send(ctx, method, target, c.ID, body)
		if err != nil {
			return fmt.Errorf("http target: %s %s (compensating %s): %w", method, target, e.ID, err)
		}
		switch {
		case status/100 == 2, status == http.StatusNotFound, status == http.StatusConflict, status == http.StatusGone:
		default:
			return fmt.Errorf("http target: %s %s (compensating %s): status %d", method, target, e.ID, status)
		}
	}
	return nil
}

func (h *HTTP) send(ctx context.Context, method, target, key string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	for k, vs := range h.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Idempotency-Key", key)
	resp, err := h.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// refused reports a connection that was never made: the request was not sent.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
