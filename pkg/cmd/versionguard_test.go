package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/versionguard"
)

func TestVersionGuardOffline(t *testing.T) {
	// The offline form needs no kubeconfig: point every way of finding one at nothing.
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantCode int
		wantErr  string // part of the error message
	}{
		{
			name:    "allowed",
			args:    []string{"--current", "v1.2.1", "--target", "v1.3.0"},
			wantOut: "allowed: upgrading from release v1.2.1 to release v1.3.0 is allowed [Allowed]\n",
		},
		{
			name:     "below the minimum",
			args:     []string{"--current", "v1.1.1", "--target", "v1.3.0", "--min-upgradable-version", "v1.2.0"},
			wantOut:  "rejected: v1.1.1 is below the minimum v1.2.0 required to reach v1.3.0: upgrade to v1.2.0 or later first [BelowMinimum]\n",
			wantCode: exitstatus.No,
			wantErr:  "the upgrade from v1.1.1 to v1.3.0 is rejected (BelowMinimum)",
		},
		{
			name:     "downgrade",
			args:     []string{"--current", "v1.3.0", "--target", "v1.2.1"},
			wantOut:  "rejected: the target v1.2.1 is lower than the current version v1.3.0, and downgrades are not allowed [Downgrade]\n",
			wantCode: exitstatus.No,
		},
		{
			name:     "dev current, strict by default",
			args:     []string{"--current", "v1.2-head", "--target", "v1.3.0"},
			wantOut:  "rejected: the current version v1.2-head is a dev version, and strict mode does not allow upgrading from a dev version to release v1.3.0 [CurrentDev]\n",
			wantCode: exitstatus.No,
		},
		{
			name:    "dev current, strict off",
			args:    []string{"--current", "v1.2-head", "--target", "v1.3.0", "--strict=false"},
			wantOut: "allowed: the current version v1.2-head is a dev version; upgrading from it to v1.3.0 is allowed because strict mode is off [CurrentDev]\n",
		},
		{
			name:    "dev target",
			args:    []string{"--current", "v1.3.0", "--target", "f024f49a"},
			wantOut: "allowed: the target f024f49a is a dev version, and upgrading to a dev version is always allowed [TargetDev]\n",
		},
		{
			name:    "same version with build metadata",
			args:    []string{"--current", "1.2.1+build", "--target", "v1.2.1"},
			wantOut: "allowed: the current version 1.2.1+build and the target v1.2.1 are the same version [SameVersion]\n",
		},
		{
			name:     "prerelease across releases",
			args:     []string{"--current", "v1.2.1-rc1", "--target", "v1.2.2"},
			wantOut:  "rejected: the prerelease v1.2.1-rc1 can only be upgraded within release 1.2.1 (to a later 1.2.1 prerelease or to 1.2.1 itself), and v1.2.2 belongs to release 1.2.2 [PrereleaseCrossRelease]\n",
			wantCode: exitstatus.No,
		},
		{
			name:    "an unreadable kubeconfig does not matter offline",
			args:    []string{"--current", "v1.2.1", "--target", "v1.2.1", "--kubeconfig", "/nonexistent", "--context", "nowhere"},
			wantOut: "allowed: the current version v1.2.1 is already the target version [SameVersion]\n",
		},
		{
			name:     "only --current",
			args:     []string{"--current", "v1.2.1"},
			wantCode: exitstatus.Usage,
			wantErr:  "--current needs --target",
		},
		{
			name:     "only --target",
			args:     []string{"--target", "v1.3.0"},
			wantCode: exitstatus.Usage,
			wantErr:  "--target needs --current",
		},
		{
			name:     "UPGRADENAME with --current and --target",
			args:     []string{"hvst-upgrade-1", "--current", "v1.2.1", "--target", "v1.3.0"},
			wantCode: exitstatus.Usage,
			wantErr:  "give either UPGRADENAME or --current and --target, not both",
		},
		{
			name:     "UPGRADENAME with --target only",
			args:     []string{"hvst-upgrade-1", "--target", "v1.3.0"},
			wantCode: exitstatus.Usage,
			wantErr:  "not both",
		},
		{
			name:     "nothing to check",
			args:     nil,
			wantCode: exitstatus.Usage,
			wantErr:  "needs the name of an Upgrade",
		},
		{
			name:     "two names",
			args:     []string{"a", "b"},
			wantCode: exitstatus.Usage,
			wantErr:  "at most one UPGRADENAME",
		},
		{
			name:     "empty --current",
			args:     []string{"--current", "", "--target", "v1.3.0"},
			wantCode: exitstatus.Usage,
			wantErr:  `--current: invalid current version "": empty`,
		},
		{
			name:     "unparsable --target",
			args:     []string{"--current", "v1.2.1", "--target", "v1.3 .0"},
			wantCode: exitstatus.Usage,
			wantErr:  `--target: invalid target version "v1.3 .0": contains white space or control characters`,
		},
		{
			name:     "dev minimum",
			args:     []string{"--current", "v1.2.1", "--target", "v1.3.0", "--min-upgradable-version", "v1.2"},
			wantCode: exitstatus.Usage,
			wantErr:  `--min-upgradable-version: invalid minimum version "v1.2": not a semantic version`,
		},
		{
			name:     "unknown output format",
			args:     []string{"--current", "v1.2.1", "--target", "v1.3.0", "-o", "wide"},
			wantCode: exitstatus.Usage,
			wantErr:  `unknown output format "wide"`,
		},
		{
			name:     "unknown flag",
			args:     []string{"--current", "v1.2.1", "--target", "v1.3.0", "--minimum", "v1.2.0"},
			wantCode: exitstatus.Usage,
			wantErr:  "unknown flag: --minimum",
		},
		{
			name:     "invalid upgrade name",
			args:     []string{"Not_A_Name"},
			wantCode: exitstatus.Usage,
			wantErr:  `"Not_A_Name" is not a valid Upgrade name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runRoot(t, append([]string{"version-guard"}, tt.args...)...)
			if code := exitstatus.Code(err); code != tt.wantCode {
				t.Errorf("exit status = %d (error %v), want %d", code, err, tt.wantCode)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantOut, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionGuardOfflineStructured(t *testing.T) {
	want := versionguard.Decision{
		Current: "v1.1.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true, Allowed: false,
		Rule:    versionguard.RuleBelowMinimum,
		Message: "v1.1.1 is below the minimum v1.2.0 required to reach v1.3.0: upgrade to v1.2.0 or later first",
	}
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			stdout, _, err := runRoot(t, "version-guard", "--current", "v1.1.1", "--target", "v1.3.0",
				"--min-upgradable-version", "v1.2.0", "-o", format)
			if code := exitstatus.Code(err); code != exitstatus.No {
				t.Errorf("exit status = %d (error %v), want %d", code, err, exitstatus.No)
			}
			var got versionguard.Decision
			if err := yaml.UnmarshalStrict([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not a decision: %v\n%s", err, stdout)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}

	// The JSON has exactly the documented keys, the minimum as "" when there is none, and is
	// indented two spaces.
	stdout, _, err := runRoot(t, "version-guard", "--current", "v1.2.1", "--target", "v1.3.0", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{
  "current": "v1.2.1",
  "target": "v1.3.0",
  "minimum": "",
  "strict": true,
  "allowed": true,
  "rule": "Allowed",
  "message": "upgrading from release v1.2.1 to release v1.3.0 is allowed"
}
`
	if diff := cmp.Diff(wantJSON, stdout); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(stdout), &keys); err != nil || len(keys) != 7 {
		t.Errorf("json keys = %v (%v), want 7", keys, err)
	}
}

func TestOutputFormatValidate(t *testing.T) {
	for _, f := range []OutputFormat{OutputText, OutputJSON, OutputYAML} {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []OutputFormat{"", "JSON", "wide", "table"} {
		if code := exitstatus.Code(f.Validate()); code != exitstatus.Usage {
			t.Errorf("Validate(%q) exit status = %d, want %d", f, code, exitstatus.Usage)
		}
	}
}
