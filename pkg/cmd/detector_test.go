package cmd

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files from the current output")

// checkGolden compares got with testdata/golden/name, or rewrites it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./pkg/cmd -run %s -update to create it): %v", t.Name(), err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestDetectorGoldenExampleCluster(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "cluster.yaml")
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"text node-1", []string{"node-1"}, "detector-node-1.txt"},
		{"json node-1", []string{"node-1", "-o", "json"}, "detector-node-1.json"},
		{"yaml node-2", []string{"node-2", "-o", "yaml"}, "detector-node-2.yaml"},
		{"text witness", []string{"witness-1"}, "detector-witness-1.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"vm-live-migrate-detector", "--from-file", example}, tt.args...)
			stdout, stderr, err := runRoot(t, args...)
			if err != nil {
				t.Fatalf("exit %d: %v\nstderr:\n%s", exitstatus.Code(err), err, stderr)
			}
			checkGolden(t, tt.golden, stdout)
			for _, line := range []string{"Starting VM Live Migrate Detector", "Checking vms on node " + tt.args[0] + "..."} {
				if !strings.Contains(stderr, line) {
					t.Errorf("stderr lacks the seed's line %q:\n%s", line, stderr)
				}
			}
		})
	}
}

func TestDetectorJSONShape(t *testing.T) {
	stdout, _, err := runRoot(t, "vm-live-migrate-detector", "node-1", "-o", "json", "--from-file", filepath.Join("..", "..", "examples", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Node          string   `json:"node"`
		NonMigratable []string `json:"nonMigratable"`
		VMs           []struct {
			Namespace, Name string
			Migratable      bool
			Reasons         []struct{ Code, Message string }
		} `json:"vms"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	want := []string{"default/legacy-app", "prod/bigmem-cache", "prod/erp-db", "prod/ml-passthrough", "prod/oracle-licensed", "prod/render-vgpu"}
	if diff := cmp.Diff(want, got.NonMigratable); diff != "" {
		t.Errorf("nonMigratable (-want +got):\n%s", diff)
	}
	codes := map[string][]string{}
	for _, vm := range got.VMs {
		for _, r := range vm.Reasons {
			codes[vm.Namespace+"/"+vm.Name] = append(codes[vm.Namespace+"/"+vm.Name], r.Code)
		}
	}
	wantCodes := map[string][]string{
		"default/legacy-app":   {"NotLiveMigratable"},
		"prod/bigmem-cache":    {"InsufficientResources"},
		"prod/erp-db":          {"NodeSelector"},
		"prod/ml-passthrough":  {"HostDevices", "NotLiveMigratable"},
		"prod/oracle-licensed": {"NoTargetNode"},
		"prod/render-vgpu":     {"GPUs", "NotLiveMigratable"},
	}
	if diff := cmp.Diff(wantCodes, codes); diff != "" {
		t.Errorf("reason codes (-want +got):\n%s", diff)
	}
}

func TestDetectorBadUsage(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "cluster.yaml")
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{"no node", []string{"vm-live-migrate-detector", "--from-file", example}, "expects exactly one node name"},
		{"two nodes", []string{"vm-live-migrate-detector", "a", "b", "--from-file", example}, "expects exactly one node name"},
		{"unknown node", []string{"vm-live-migrate-detector", "node-9", "--from-file", example}, "node-9"},
		{"invalid node name", []string{"vm-live-migrate-detector", "Node_1", "--from-file", example}, "not a valid node name"},
		{"unknown flag", []string{"vm-live-migrate-detector", "node-1", "--bogus"}, "unknown flag"},
		{"bad output", []string{"vm-live-migrate-detector", "node-1", "-o", "xml", "--from-file", example}, "xml"},
		{"shutdown from a file", []string{"vm-live-migrate-detector", "node-1", "--shutdown", "--from-file", example}, "cannot be used with --from-file"},
		{"upgrade without shutdown", []string{"vm-live-migrate-detector", "node-1", "--upgrade", "u"}, "--upgrade only works together with --shutdown"},
		{"zero concurrency", []string{"vm-live-migrate-detector", "node-1", "--shutdown", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{"negative timeout", []string{"vm-live-migrate-detector", "node-1", "--shutdown", "--timeout", "-1s"}, "--timeout must be positive"},
		{"missing file", []string{"vm-live-migrate-detector", "node-1", "--from-file", "does-not-exist.yaml"}, "does-not-exist.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runRoot(t, tt.args...)
			if got := exitstatus.Code(err); got != exitstatus.Usage {
				t.Errorf("exit status = %d (%v), want 2", got, err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestRootUnknownCommandIsUsage(t *testing.T) {
	_, _, err := runRoot(t, "nosuch")
	if got := exitstatus.Code(err); got != exitstatus.Usage {
		t.Errorf("exit status = %d (%v), want 2", got, err)
	}
	stdout, _, err := runRoot(t)
	if err != nil || !strings.Contains(stdout, "Available Commands") {
		t.Errorf("no arguments: err %v, stdout:\n%s", err, stdout)
	}
}
