package exitstatus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestForAPIError(t *testing.T) {
	nodes := schema.GroupResource{Resource: "nodes"}
	upgrades := schema.GroupResource{Group: "cloudweavhci.io", Resource: "upgrades"}
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantHint string
		notAsked bool
	}{
		{"named object not found", apierrors.NewNotFound(upgrades, "u1"), Usage, "", false},
		{"list of a resource not served", apierrors.NewGenericServerResponse(404, "GET", nodes, "", "", 0, false), Cluster, "does not serve this resource", false},
		{"forbidden", apierrors.NewForbidden(nodes, "", errors.New("no")), Cluster, "check the RBAC role", true},
		{"unauthorized", apierrors.NewUnauthorized("who"), Cluster, "check the kubeconfig's credentials", true},
		{"bad request", apierrors.NewBadRequest("odd"), Cluster, "rejected the request", false},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "c", field.ErrorList{field.Required(field.NewPath("data"), "")}), Cluster, "rejected the request", false},
		{"server error after the retries", apierrors.NewInternalError(errors.New("boom")), Cluster, "reachable and healthy", false},
		{"timed out", fmt.Errorf("get: %w", context.DeadlineExceeded), Cluster, "reachable and healthy", true},
		{"conflict", apierrors.NewConflict(upgrades, "u1", errors.New("changed")), No, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ForAPIError(tt.err, "get thing")
			got := struct {
				Code     int
				Hinted   bool
				NotAsked bool
			}{Code(err), strings.Contains(err.Error(), tt.wantHint), NotAsked(tt.err)}
			want := got
			want.Code, want.Hinted, want.NotAsked = tt.wantCode, true, tt.notAsked
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", err, diff)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("%v does not wrap the API error", err)
			}
		})
	}
}

func TestForFailedActions(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "subresources.kubevirt.io", Resource: "virtualmachines/stop"}, "a", errors.New("no"))
	refused := apierrors.NewConflict(schema.GroupResource{Resource: "virtualmachines"}, "b", errors.New("migrating"))
	tests := []struct {
		name     string
		failures map[string]error
		wantCode int
		wantMsg  string
	}{
		{"none", nil, OK, ""},
		{"every failure forbidden: the cluster was not asked", map[string]error{"ns/b": forbidden, "ns/a": forbidden}, Cluster, "2 VM(s) could not be stopped: [ns/a ns/b]"},
		{"one answered refusal makes it a VM failure", map[string]error{"ns/a": forbidden, "ns/b": refused}, No, "2 VM(s) could not be stopped"},
		{"a failure without a cause", map[string]error{"ns/a": nil}, No, "1 VM(s) could not be stopped: [ns/a]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ForFailedActions("stopped", "stop", tt.failures)
			if got := Code(err); got != tt.wantCode {
				t.Errorf("Code = %d (%v), want %d", got, err, tt.wantCode)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}
