package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy bounds the retries of transient failures.
type RetryPolicy struct {
	// Attempts is the most tries of one request, the first included (at least 1).
	Attempts int
	// Initial is the wait before the first retry; it doubles with each retry up to Max.
	Initial time.Duration
	Max     time.Duration
	// PerAttempt bounds each try (the --request-timeout); 0 means no bound of its own.
	PerAttempt time.Duration
}

// DefaultRetryPolicy retries up to 5 times over about 10 seconds.
var DefaultRetryPolicy = RetryPolicy{Attempts: 6, Initial: 250 * time.Millisecond, Max: 4 * time.Second}

// RetryTransport retries requests that are safe to repeat when they fail transiently: HTTP 5xx,
// 429 (after the server's Retry-After, bounded by Max), a dropped connection or a timed-out try.
//
// The body of a GET answer is read within the try (and its --request-timeout), so that a
// connection dropped in the middle of a body (a LIST cut short) is retried like one dropped
// before the answer; the caller gets the body from memory. Watches are not read ahead.
//
// Only GET and HEAD, which change nothing, and PUT, which the API server guards with the
// object's resourceVersion (a repeat of a PUT that did land fails with a conflict instead of
// writing twice; KubeVirt answers a repeated stop or start with "already stopped/running"), are
// retried. POST and DELETE are never repeated here: their callers decide.
type RetryTransport struct {
	Next   http.RoundTripper
	Policy RetryPolicy
	// Sleep waits between tries; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WrapRetry returns a function for rest.Config.WrapTransport that adds RetryTransport.
func WrapRetry(policy RetryPolicy) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return &RetryTransport{Next: next, Policy: policy}
	}
}

func retriableMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPut
}

type noRetryKey struct{}

// WithoutRetry marks ctx so that RetryTransport tries its requests once: for callers that poll
// with a backoff of their own and want to see each failure.
func WithoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := max(t.Policy.Attempts, 1)
	if !retriableMethod(req.Method) || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) ||
		req.Context().Value(noRetryKey{}) != nil {
		attempts = 1
	}
	backoff := t.Policy.Initial
	for attempt := 1; ; attempt++ {
		try := req
		cancel := context.CancelFunc(func() {})
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			try = req.Clone(req.Context())
			try.Body = body
		}
		if t.Policy.PerAttempt > 0 {
			var ctx context.Context
			ctx, cancel = context.WithTimeout(try.Context(), t.Policy.PerAttempt)
			try = try.WithContext(ctx)
		}
		resp, err := t.Next.RoundTrip(try)
		if err == nil && readAhead(req) {
			resp, err = readBody(req, resp)
		}
		wait, retry := t.shouldRetry(req, resp, err)
		if !retry || attempt >= attempts {
			if resp != nil && cancel != nil {
				resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			} else {
				cancel()
			}
			if err != nil {
				err = t.gaveUp(req, err, attempt)
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		if wait > 0 {
			// The server said when to come back: honour it, within the bound.
			wait = min(wait, t.Policy.Max)
		} else {
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)/5+1))
			backoff = min(backoff*2, t.Policy.Max)
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// gaveUp says in the error of the last try why no answer came: every try ran into the
// per-try timeout (--request-timeout), or how many tries failed. errors.Is still sees the cause.
func (t *RetryTransport) gaveUp(req *http.Request, err error, tries int) error {
	if req.Context().Err() != nil {
		return err // the caller gave up, not the server
	}
	if t.Policy.PerAttempt > 0 && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out: no answer within the request timeout of %s (--request-timeout), %d %s: %w",
			t.Policy.PerAttempt, tries, plural(tries, "try", "tries"), err)
	}
	if tries > 1 {
		return fmt.Errorf("gave up after %d tries: %w", tries, err)
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// readAhead is true for the requests whose answer RoundTrip reads in full before returning: a
// GET that is not a watch.
func readAhead(req *http.Request) bool {
	if req.Method != http.MethodGet {
		return false
	}
	watch := req.URL.Query().Get("watch")
	return watch != "true" && watch != "1"
}

// readBody reads resp's body into memory; a body cut short is an error of the try.
func readBody(req *http.Request, resp *http.Response) (*http.Response, error) {
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

// shouldRetry says whether a try's outcome is transient, and how long the server asked to wait.
func (t *RetryTransport) shouldRetry(req *http.Request, resp *http.Response, err error) (time.Duration, bool) {
	if err != nil {
		// The caller's own deadline or cancellation ends the request; a try that timed out
		// on its own, or a dropped connection, is worth another try.
		return 0, req.Context().Err() == nil && !errors.Is(err, context.Canceled)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return retryAfter(resp), true
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return retryAfter(resp), true
	}
	return 0, false
}

func retryAfter(resp *http.Response) time.Duration {
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// cancelOnClose releases a try's own timeout when the caller is done with the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
