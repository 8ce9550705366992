package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/versionguard"
)

// TestVersionGuardLive runs the live form against Upgrades in a real API server.
func TestVersionGuardLive(t *testing.T) {
	ctx := context.Background()
	withSpec := func(up *cloudweavv1beta1.Upgrade, version string) *cloudweavv1beta1.Upgrade {
		up.Spec.Version = version
		return up
	}
	withRepoInfo := func(up *cloudweavv1beta1.Upgrade, repoInfo string) *cloudweavv1beta1.Upgrade {
		up.Status.RepoInfo = repoInfo
		return up
	}
	upgrades := []*cloudweavv1beta1.Upgrade{
		// repoInfo present; its release.cloudweav wins over a free-text spec.version.
		withSpec(testenv.NewUpgrade("vg-repoinfo", "v1.2.1", "v1.3.0", "v1.2.0"), "cloudweav-1-3-0"),
		// repoInfo absent: the target is spec.version and there is no minimum.
		withRepoInfo(testenv.NewUpgrade("vg-no-repoinfo", "v1.1.1", "v1.3.0", ""), ""),
		// repoInfo without release.cloudweav: the target is spec.version, the minimum still counts.
		withRepoInfo(testenv.NewUpgrade("vg-repoinfo-no-target", "v1.1.1", "v1.3.0", ""), "release:\n  minUpgradableVersion: v1.2.0\n"),
		// repoInfo that is not YAML.
		withRepoInfo(testenv.NewUpgrade("vg-bad-repoinfo", "v1.2.1", "v1.3.0", ""), "release:\n  cloudweav: [v1.3.0\n"),
		// Below repoInfo's minimum.
		testenv.NewUpgrade("vg-below-minimum", "v1.1.1", "v1.3.0", "v1.2.0"),
		// No status.previousVersion yet.
		testenv.NewUpgrade("vg-no-previous", "", "v1.3.0", ""),
		// A previous version that is no version.
		testenv.NewUpgrade("vg-bad-previous", "v1.2 1", "v1.3.0", ""),
		// A minimum in repoInfo that is no semantic version.
		testenv.NewUpgrade("vg-bad-minimum", "v1.2.1", "v1.3.0", "v1.2"),
		// From a dev build.
		testenv.NewUpgrade("vg-dev", "v1.2-head", "v1.3.0", ""),
	}
	for _, up := range upgrades {
		if _, err := testEnv.CreateUpgrade(ctx, up); err != nil {
			t.Fatal(err)
		}
	}

	kubeconfig := []string{"--kubeconfig", testEnv.KubeconfigPath}
	tests := []struct {
		name     string
		args     []string
		want     *versionguard.Decision // with -o json
		wantOut  string                 // text output, when want is nil
		wantCode int
		wantErr  []string // parts of the error message
	}{
		{
			name: "repoInfo present",
			args: []string{"vg-repoinfo", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.2.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true, Allowed: true,
				Rule: versionguard.RuleAllowed, Message: "upgrading from release v1.2.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.2.0)"},
		},
		{
			name:    "repoInfo present, text",
			args:    []string{"vg-repoinfo"},
			wantOut: "allowed: upgrading from release v1.2.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.2.0) [Allowed]\n",
		},
		{
			name: "repoInfo absent: spec.version, no minimum",
			args: []string{"vg-no-repoinfo", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.1.1", Target: "v1.3.0", Strict: true, Allowed: true,
				Rule: versionguard.RuleAllowed, Message: "upgrading from release v1.1.1 to release v1.3.0 is allowed"},
		},
		{
			name: "repoInfo without release.cloudweav: spec.version, repoInfo's minimum",
			args: []string{"vg-repoinfo-no-target", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.1.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true,
				Rule: versionguard.RuleBelowMinimum, Message: "v1.1.1 is below the minimum v1.2.0 required to reach v1.3.0: upgrade to v1.2.0 or later first"},
			wantCode: exitstatus.No,
		},
		{
			name:     "repoInfo malformed",
			args:     []string{"vg-bad-repoinfo"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{"upgrade cloudweav-system/vg-bad-repoinfo", "status.repoInfo is not valid"},
		},
		{
			name:     "rejected: below repoInfo's minimum",
			args:     []string{"vg-below-minimum"},
			wantOut:  "rejected: v1.1.1 is below the minimum v1.2.0 required to reach v1.3.0: upgrade to v1.2.0 or later first [BelowMinimum]\n",
			wantCode: exitstatus.No,
			wantErr:  []string{"the upgrade from v1.1.1 to v1.3.0 is rejected (BelowMinimum)"},
		},
		{
			name: "flag minimum overrides repoInfo's (lower)",
			args: []string{"vg-below-minimum", "--min-upgradable-version", "v1.1.0", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.1.1", Target: "v1.3.0", Minimum: "v1.1.0", Strict: true, Allowed: true,
				Rule: versionguard.RuleAllowed, Message: "upgrading from release v1.1.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.1.0)"},
		},
		{
			name: "flag minimum overrides repoInfo's (higher)",
			args: []string{"vg-repoinfo", "--min-upgradable-version", "v1.2.2", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.2.1", Target: "v1.3.0", Minimum: "v1.2.2", Strict: true,
				Rule: versionguard.RuleBelowMinimum, Message: "v1.2.1 is below the minimum v1.2.2 required to reach v1.3.0: upgrade to v1.2.2 or later first"},
			wantCode: exitstatus.No,
		},
		{
			name: "empty flag minimum means none",
			args: []string{"vg-below-minimum", "--min-upgradable-version=", "-o", "json"},
			want: &versionguard.Decision{Current: "v1.1.1", Target: "v1.3.0", Strict: true, Allowed: true,
				Rule: versionguard.RuleAllowed, Message: "upgrading from release v1.1.1 to release v1.3.0 is allowed"},
		},
		{
			name:    "flag minimum replaces a bad one in repoInfo",
			args:    []string{"vg-bad-minimum", "--min-upgradable-version", "v1.2.0"},
			wantOut: "allowed: upgrading from release v1.2.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.2.0) [Allowed]\n",
		},
		{
			name:     "bad minimum in repoInfo",
			args:     []string{"vg-bad-minimum"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{`release.minUpgradableVersion in status.repoInfo of upgrade cloudweav-system/vg-bad-minimum: invalid minimum version "v1.2"`},
		},
		{
			name:     "dev current, strict",
			args:     []string{"vg-dev"},
			wantOut:  "rejected: the current version v1.2-head is a dev version, and strict mode does not allow upgrading from a dev version to release v1.3.0 [CurrentDev]\n",
			wantCode: exitstatus.No,
		},
		{
			name:    "dev current, strict off",
			args:    []string{"vg-dev", "--strict=false"},
			wantOut: "allowed: the current version v1.2-head is a dev version; upgrading from it to v1.3.0 is allowed because strict mode is off [CurrentDev]\n",
		},
		{
			name:     "no status.previousVersion",
			args:     []string{"vg-no-previous"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{"upgrade cloudweav-system/vg-no-previous has no status.previousVersion"},
		},
		{
			name:     "unparsable status.previousVersion",
			args:     []string{"vg-bad-previous"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{`status.previousVersion of upgrade cloudweav-system/vg-bad-previous: invalid current version "v1.2 1"`},
		},
		{
			name:     "missing Upgrade",
			args:     []string{"vg-missing"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{`upgrade "vg-missing" not found in namespace cloudweav-system`},
		},
		{
			name:     "wrong namespace",
			args:     []string{"vg-repoinfo", "--namespace", "default"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{`upgrade "vg-repoinfo" not found in namespace default`},
		},
		{
			name:     "unknown kubeconfig context",
			args:     []string{"vg-repoinfo", "--context", "nowhere"},
			wantCode: exitstatus.Usage,
			wantErr:  []string{"load the kubeconfig", "nowhere"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"version-guard"}, tt.args...), kubeconfig...)
			stdout, _, err := runRoot(t, args...)
			if code := exitstatus.Code(err); code != tt.wantCode {
				t.Errorf("exit status = %d (error %v), want %d", code, err, tt.wantCode)
			}
			for _, part := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Errorf("error = %v, want one containing %q", err, part)
				}
			}
			if tt.want == nil {
				if diff := cmp.Diff(tt.wantOut, stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
				return
			}
			var got versionguard.Decision
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not a JSON decision: %v\n%s", err, stdout)
			}
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVersionGuardLiveDebugSaysWhereTheTargetCameFrom checks the debug log names the source.
func TestVersionGuardLiveDebugSaysWhereTheTargetCameFrom(t *testing.T) {
	ctx := context.Background()
	up := testenv.NewUpgrade("vg-debug", "v1.2.1", "v1.3.0", "")
	up.Spec.Version = "cloudweav-1-3-0"
	if _, err := testEnv.CreateUpgrade(ctx, up); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runRoot(t, "version-guard", "vg-debug", "--debug", "--kubeconfig", testEnv.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	want := `target v1.3.0 from release.cloudweav in status.repoInfo (spec.version is "cloudweav-1-3-0")`
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr)
	}
}

// TestVersionGuardKubeconfigErrors checks that a kubeconfig that cannot be used is bad input
// and a server that does not answer is a cluster that could not be asked.
func TestVersionGuardKubeconfigErrors(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "malformed")
	if err := os.WriteFile(malformed, []byte("apiVersion: v1\nclusters: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable := filepath.Join(dir, "unreachable")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: not-a-secret
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"malformed kubeconfig", []string{"--kubeconfig", malformed}, exitstatus.Usage, "check --kubeconfig"},
		{"missing kubeconfig", []string{"--kubeconfig", filepath.Join(dir, "none")}, exitstatus.Usage, "check --kubeconfig"},
		{"unreachable server", []string{"--kubeconfig", unreachable, "--request-timeout", "5s"}, exitstatus.Cluster, "get upgrade cloudweav-system/vg-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runRoot(t, append([]string{"version-guard", "vg-x"}, tt.args...)...)
			if code := exitstatus.Code(err); code != tt.wantCode {
				t.Errorf("exit status = %d (error %v), want %d", code, err, tt.wantCode)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if err != nil && strings.Contains(err.Error(), "not-a-secret") {
				t.Errorf("error prints the token: %v", err)
			}
		})
	}
}
