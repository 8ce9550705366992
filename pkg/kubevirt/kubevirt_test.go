package kubevirt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
)

var vmResource = schema.GroupResource{Group: "kubevirt.io", Resource: "virtualmachine"}

func TestErrorHelpers(t *testing.T) {
	tests := []struct {
		name                  string
		err                   error
		wantStopped, wantRuns bool
	}{
		{"nil", nil, false, false},
		{"not running", apierrors.NewConflict(vmResource, "vm", errors.New("VM is not running")), true, false},
		{"halted, being stopped", apierrors.NewConflict(vmResource, "vm",
			errors.New("Halted only supports manual stop requests with a shorter graceperiod")), true, false},
		{"already running", apierrors.NewConflict(vmResource, "vm", errors.New("VM is already running")), false, true},
		{"always cannot start", apierrors.NewConflict(vmResource, "vm", errors.New("Always does not support manual start requests")), false, false},
		{"object modified", apierrors.NewConflict(vmResource, "vm", errors.New("the object has been modified")), false, false},
		{"not found", apierrors.NewNotFound(vmResource, "vm"), false, false},
		{"message without a conflict", errors.New("VM is not running"), false, false},
		{"wrapped", fmt.Errorf("stop ns/vm: %w", apierrors.NewConflict(vmResource, "vm", errors.New("VM is not running"))), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kubevirt.IsAlreadyStopped(tt.err); got != tt.wantStopped {
				t.Errorf("IsAlreadyStopped = %v, want %v", got, tt.wantStopped)
			}
			if got := kubevirt.IsAlreadyRunning(tt.err); got != tt.wantRuns {
				t.Errorf("IsAlreadyRunning = %v, want %v", got, tt.wantRuns)
			}
		})
	}
}

// call is one request the fake virt-api saw.
type call struct {
	Method, Path, ContentType, Body string
}

func TestClientRequestsAndErrors(t *testing.T) {
	var calls []call
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls = append(calls, call{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body)})
		switch r.URL.Path {
		case "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/stopped/stop":
			st := apierrors.NewConflict(vmResource, "stopped", errors.New("VM is not running")).ErrStatus
			st.APIVersion, st.Kind = "v1", "Status"
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(st)
		case "/apis/subresources.kubevirt.io/v1/healthz":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"apiserver":{"connectivity":"failed"}}`))
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer fake.Close()
	c, err := kubevirt.New(&rest.Config{Host: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Stop(ctx, "ns", "vm"); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := c.Start(ctx, "ns", "vm"); err != nil {
		t.Errorf("start: %v", err)
	}
	err = c.Stop(ctx, "ns", "stopped")
	if !apierrors.IsConflict(err) || !kubevirt.IsAlreadyStopped(err) {
		t.Errorf("stop of a stopped VM = %v, want the Status kept (409, already stopped)", err)
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil || st.Status().Details.Name != "stopped" {
		t.Errorf("error %v does not carry the API Status", err)
	}
	if err := c.Healthz(ctx); !apierrors.IsInternalError(err) {
		t.Errorf("healthz of an unhealthy virt-api = %v, want an internal error", err)
	}
	want := []call{
		{"PUT", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/stop", "application/json", "{}"},
		{"PUT", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/start", "application/json", "{}"},
		{"PUT", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/stopped/stop", "application/json", "{}"},
		{"GET", "/apis/subresources.kubevirt.io/v1/healthz", "", ""},
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
