package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

// loadExampleCluster resets the shared API server and loads examples/cluster.yaml into it.
func loadExampleCluster(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := testEnv.Reset(ctx); err != nil {
		t.Fatalf("reset the cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := testEnv.Reset(context.Background()); err != nil {
			t.Errorf("reset the cluster: %v", err)
		}
	})
	state, err := source.FromFiles([]string{filepath.Join("..", "..", "examples", "cluster.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := testEnv.LoadClusterState(ctx, state); err != nil {
		t.Fatalf("load the example cluster: %v", err)
	}
}

// TestDetectorLiveMatchesFiles runs the detector against the example cluster served by a real
// API server and checks that it says exactly what it says from the file.
func TestDetectorLiveMatchesFiles(t *testing.T) {
	loadExampleCluster(t)
	example := filepath.Join("..", "..", "examples", "cluster.yaml")
	for _, node := range []string{"node-1", "node-2", "node-3", "witness-1"} {
		for _, format := range []string{"json", "text"} {
			t.Run(node+" "+format, func(t *testing.T) {
				fromFile, _, err := runRoot(t, "vm-live-migrate-detector", node, "-o", format, "--from-file", example)
				if err != nil {
					t.Fatal(err)
				}
				live, stderr, err := runRoot(t, "vm-live-migrate-detector", node, "-o", format, "--kubeconfig", testEnv.KubeconfigPath)
				if err != nil {
					t.Fatalf("live run: exit %d: %v\n%s", exitstatus.Code(err), err, stderr)
				}
				if diff := cmp.Diff(fromFile, live); diff != "" {
					t.Errorf("live report differs from the file's (-file +live):\n%s", diff)
				}
			})
		}
	}
}

func TestDetectorLiveUnknownNode(t *testing.T) {
	loadExampleCluster(t)
	_, _, err := runRoot(t, "vm-live-migrate-detector", "node-9", "--kubeconfig", testEnv.KubeconfigPath)
	if got := exitstatus.Code(err); got != exitstatus.Usage {
		t.Fatalf("exit status = %d (%v), want 2", got, err)
	}
	if !strings.Contains(err.Error(), "node-9") {
		t.Errorf("error %q does not name the node", err)
	}
}

func TestDetectorLiveIgnoresOtherNodes(t *testing.T) {
	loadExampleCluster(t)
	stdout, _, err := runRoot(t, "vm-live-migrate-detector", "node-3", "--kubeconfig", testEnv.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range []string{"erp-db", "bigmem-cache", "web-1", "gitlab"} {
		if strings.Contains(stdout, vm) {
			t.Errorf("node-3's report names %s, a VM of another node:\n%s", vm, stdout)
		}
	}
}
