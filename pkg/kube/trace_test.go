package kube

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrapTraceLogsNoCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	var lines []string
	rt := WrapTrace(func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })(http.DefaultTransport)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/nodes?limit=500", nil)
	req.Header.Set("Authorization", "Bearer s3cr3t-token")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(lines) != 1 || !strings.Contains(lines[0], "GET "+srv.URL+"/api/v1/nodes?limit=500 418") {
		t.Errorf("trace = %q, want the method, URL and status", lines)
	}
	if strings.Contains(strings.Join(lines, "\n"), "s3cr3t") {
		t.Errorf("trace printed the token: %q", lines)
	}
}
