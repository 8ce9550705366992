package kube

import (
	"net/http"
	"time"
)

// Tracef is a printf-like logger for request tracing.
type Tracef func(format string, args ...any)

// WrapTrace returns a function for rest.Config.WrapTransport that logs every request's method,
// URL, status and duration through tracef. Headers and bodies are never logged: they carry the
// credentials.
func WrapTrace(tracef Tracef) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			start := time.Now()
			resp, err := next.RoundTrip(req)
			elapsed := time.Since(start).Round(time.Millisecond)
			if err != nil {
				tracef("%s %s: %v (%s)", req.Method, req.URL.Redacted(), err, elapsed)
				return resp, err
			}
			tracef("%s %s %d (%s)", req.Method, req.URL.Redacted(), resp.StatusCode, elapsed)
			return resp, err
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
