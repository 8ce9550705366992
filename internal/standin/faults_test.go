package standin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/internal/standin"
)

func rawClient(t *testing.T) *http.Client {
	t.Helper()
	c, err := rest.HTTPClientFor(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// freshClient is an HTTP client for the stand-in that opens a new connection per request:
// Go's transport silently resends an idempotent request whose reused connection dropped.
func freshClient(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAData()) {
		t.Fatal("bad stand-in CA")
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
}

// rawGet GETs path from the stand-in and reads the whole body.
func rawGet(ctx context.Context, c *http.Client, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaultStatusNTimesThenSuccess(t *testing.T) {
	fresh(t)
	c := rawClient(t)
	id := srv.InjectFault(standin.Fault{Verb: "list", Resource: "nodes", Status: http.StatusInternalServerError, Times: 2})
	var codes []int
	var first metav1.Status
	for i := 0; i < 3; i++ {
		resp, body, err := rawGet(context.Background(), c, "/api/v1/nodes")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
		if i == 0 {
			if err := json.Unmarshal(body, &first); err != nil {
				t.Fatalf("fault body is not a Status: %v: %s", err, body)
			}
		}
	}
	if diff := cmp.Diff([]int{500, 500, 200}, codes); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
	if first.Kind != "Status" || first.Code != 500 || first.Reason != metav1.StatusReasonInternalError {
		t.Errorf("fault Status = %+v, want a 500 InternalError Status", first)
	}
	if got := srv.FaultHits(id); got != 2 {
		t.Errorf("fault hits = %d, want 2", got)
	}
	if diff := cmp.Diff(map[string]int{"list nodes 500": 2, "list nodes 200": 1}, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// client-go honours Retry-After on a 429 by itself: one injected 429 costs one extra request.
func TestFault429WithRetryAfter(t *testing.T) {
	fresh(t)
	srv.InjectFault(standin.Fault{Verb: "get", Resource: "nodes", Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 1})
	resp, body, err := rawGet(context.Background(), rawClient(t), "/api/v1/nodes/"+firstFitNode)
	if err != nil {
		t.Fatal(err)
	}
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || st.Reason != metav1.StatusReasonTooManyRequests ||
		st.Details == nil || st.Details.RetryAfterSeconds != 1 {
		t.Errorf("429 fault = %d, Retry-After %q, Status %+v", resp.StatusCode, resp.Header.Get("Retry-After"), st)
	}

	srv.ResetLog()
	srv.InjectFault(standin.Fault{Verb: "get", Resource: "nodes", Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 1})
	if _, err := clientset(t).CoreV1().Nodes().Get(context.Background(), firstFitNode, metav1.GetOptions{}); err != nil {
		t.Fatalf("client-go get after one 429: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"get nodes 429": 1, "get nodes 200": 1}, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestFaultDelay(t *testing.T) {
	fresh(t)
	cs := clientset(t)
	// A delay longer than the client waits: the client times out.
	srv.InjectFault(standin.Fault{Resource: "configmaps", Namespace: "default", Delay: time.Hour, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("list behind an hour's delay = %v, want the client's deadline", err)
	}
	// A short delay: the request goes through.
	id := srv.InjectFault(standin.Fault{Resource: "configmaps", Namespace: "default", Delay: 10 * time.Millisecond, Times: 1})
	if _, err := cs.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("list behind a short delay: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[1].Fault != id || reqs[1].Code != 200 {
		t.Errorf("requests = %+v, want the second delayed by fault %d and answered 200", reqs, id)
	}
}

func TestFaultDropConnection(t *testing.T) {
	fresh(t)
	id := srv.InjectFault(standin.Fault{Verb: "list", Resource: "nodes", Drop: true})
	if _, _, err := rawGet(context.Background(), freshClient(t), "/api/v1/nodes"); err == nil {
		t.Errorf("list with a dropped connection succeeded")
	}
	srv.RemoveFault(id)
	if diff := cmp.Diff(map[string]int{"list nodes dropped": 1}, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}

	// client-go retries a GET whose connection dropped (after a second) by itself.
	srv.ResetLog()
	srv.InjectFault(standin.Fault{Verb: "list", Resource: "nodes", Drop: true, Times: 1})
	if _, err := clientset(t).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("client-go list after one dropped connection: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"list nodes dropped": 1, "list nodes 200": 1}, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestFaultDropMidList(t *testing.T) {
	fresh(t)
	ns := testNS("faults-drop")
	ctx := context.Background()
	if err := env.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%02d", i)},
			Data: map[string]string{"payload": strings.Repeat("x", 1024)}}
		if _, err := env.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv.InjectFault(standin.Fault{Verb: "list", Resource: "configmaps", Namespace: ns, Drop: true, DropAfterBytes: 2000})
	resp, body, err := rawGet(ctx, rawClient(t), "/api/v1/namespaces/"+ns+"/configmaps")
	if err == nil || resp == nil || resp.StatusCode != 200 || len(body) != 2000 {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Errorf("cut list: status %d, %d body bytes, error %v; want 200, 2000 bytes and a read error", code, len(body), err)
	}
	if _, err := clientset(t).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Errorf("client-go list cut in the middle succeeded")
	}
	for _, r := range srv.Requests() {
		if !r.Dropped || r.Code != 200 {
			t.Errorf("request %s %s: dropped %v code %d, want a dropped 200", r.Method, r.Path, r.Dropped, r.Code)
		}
	}
}

// Faults apply to the subresources the stand-in serves too.
func TestFaultOnStop(t *testing.T) {
	fresh(t)
	ns := testNS("faults-stop")
	ctx := context.Background()
	kv := kubevirtClient(t)
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyAlways, firstFitNode)
	srv.InjectFault(standin.Fault{Subresource: "stop", Name: "vm", Status: http.StatusServiceUnavailable, Times: 1,
		Message: "virt-api is not reachable"})
	err := kv.Stop(ctx, ns, "vm")
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "virt-api is not reachable") {
		t.Fatalf("stop = %v, want the injected 503", err)
	}
	if diff := cmp.Diff(runningOn(kubevirtv1.RunStrategyAlways, firstFitNode), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after the failed stop (-want +got):\n%s", diff)
	}
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Fatalf("stop after the fault: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"update virtualmachines/stop 503": 1, "update virtualmachines/stop 202": 1}, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
