package kube

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flakyServer answers the first failures requests with the given behaviour, then 200 "ok".
func flakyServer(t *testing.T, failures int32, fail func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if n <= failures {
			fail(w)
			return
		}
		_, _ = io.WriteString(w, "ok "+string(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRetryTransport(t *testing.T) {
	status := func(code int, retryAfter string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(code)
		}
	}
	drop := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	slow := func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) }
	tests := []struct {
		name       string
		method     string
		failures   int32
		fail       func(http.ResponseWriter)
		perAttempt time.Duration
		wantStatus int
		wantCalls  int32
		wantWaits  []time.Duration
		wantErr    bool
	}{
		{name: "500 twice then ok", method: http.MethodGet, failures: 2, fail: status(500, ""), wantStatus: 200, wantCalls: 3,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{name: "429 honours Retry-After, bounded by Max", method: http.MethodGet, failures: 1, fail: status(429, "1"), wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{time.Second}},
		{name: "dropped connection", method: http.MethodGet, failures: 1, fail: drop, wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{10 * time.Millisecond}},
		{name: "a try slower than the per-attempt timeout", method: http.MethodGet, failures: 1, fail: slow, perAttempt: 100 * time.Millisecond,
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}},
		{name: "PUT is retried with its body", method: http.MethodPut, failures: 1, fail: status(503, ""), wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{10 * time.Millisecond}},
		{name: "POST is never repeated", method: http.MethodPost, failures: 1, fail: status(500, ""), wantStatus: 500, wantCalls: 1},
		{name: "permanent errors are not retried", method: http.MethodGet, failures: 1, fail: status(403, ""), wantStatus: 403, wantCalls: 1},
		{name: "gives up after the attempts", method: http.MethodGet, failures: 10, fail: status(500, ""), wantStatus: 500, wantCalls: 4,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := flakyServer(t, tt.failures, tt.fail)
			var waits []time.Duration
			rt := &RetryTransport{
				Next:   http.DefaultTransport,
				Policy: RetryPolicy{Attempts: 4, Initial: 10 * time.Millisecond, Max: time.Second, PerAttempt: tt.perAttempt},
				Sleep: func(_ context.Context, d time.Duration) error {
					// Jitter adds up to a fifth; record the base wait.
					waits = append(waits, d.Truncate(10*time.Millisecond))
					return nil
				},
			}
			req, err := http.NewRequest(tt.method, srv.URL, strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RoundTrip error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if resp.StatusCode == 200 && string(body) != "ok body" {
					t.Errorf("body = %q, want the request body echoed", body)
				}
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantWaits, waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryTransportStopsWhenTheCallerGivesUp(t *testing.T) {
	srv, calls := flakyServer(t, 100, func(w http.ResponseWriter) { w.WriteHeader(500) })
	ctx, cancel := context.WithCancel(context.Background())
	rt := &RetryTransport{Next: http.DefaultTransport, Policy: RetryPolicy{Attempts: 10, Initial: time.Millisecond, Max: time.Millisecond},
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("RoundTrip succeeded, want the caller's cancellation")
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestRetryTransportWithoutRetry(t *testing.T) {
	srv, calls := flakyServer(t, 100, func(w http.ResponseWriter) { w.WriteHeader(500) })
	rt := &RetryTransport{Next: http.DefaultTransport, Policy: RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: time.Millisecond}}
	req, _ := http.NewRequestWithContext(WithoutRetry(context.Background()), http.MethodGet, srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

// TestRetryTransportBodyCutShort: a GET whose body is cut in the middle (a LIST dropped
// midway) is tried again, and the caller reads the whole body of the try that succeeded.
func TestRetryTransportBodyCutShort(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "complete")
	}))
	t.Cleanup(srv.Close)
	rt := &RetryTransport{Next: http.DefaultTransport, Policy: RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "complete" {
		t.Errorf("body = %q, %v; want \"complete\"", body, err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("calls = %d, want 2", got)
	}
}
