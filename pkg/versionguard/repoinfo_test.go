package versionguard

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepoInfo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want RepoInfo
	}{
		{
			name: "the contract's example",
			in: `release:
  cloudweav: v1.3.0
  cloudweavChart: 1.3.0
  os: Cloudweav OS v1.3.0
  kubernetes: v1.30.4+rke2r1
  minUpgradableVersion: v1.2.1
`,
			want: RepoInfo{Release: Release{Cloudweav: "v1.3.0", CloudweavChart: "1.3.0", OS: "Cloudweav OS v1.3.0",
				Kubernetes: "v1.30.4+rke2r1", MinUpgradableVersion: "v1.2.1"}},
		},
		{name: "empty", in: "", want: RepoInfo{}},
		{name: "no minimum", in: "release:\n  cloudweav: v1.3.0\n", want: RepoInfo{Release: Release{Cloudweav: "v1.3.0"}}},
		{name: "unknown fields ignored", in: "release:\n  cloudweav: v1.3.0\n  harvesterChart: x\nother: 1\n",
			want: RepoInfo{Release: Release{Cloudweav: "v1.3.0"}}},
		{name: "quoted values", in: "release: {cloudweav: \"v1.3.0\", minUpgradableVersion: 'v1.2.0'}",
			want: RepoInfo{Release: Release{Cloudweav: "v1.3.0", MinUpgradableVersion: "v1.2.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRepoInfo(tt.in)
			if err != nil {
				t.Fatalf("ParseRepoInfo error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRepoInfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRepoInfoErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not YAML":           "release: [cloudweav: v1.3.0",
		"bad indentation":    "release:\n  cloudweav: v1.3.0\n minUpgradableVersion: v1.2.0\n",
		"release not a map":  "release: v1.3.0\n",
		"version not scalar": "release:\n  cloudweav: [v1.3.0]\n",
		"tab indentation":    "release:\n\tcloudweav: v1.3.0\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseRepoInfo(in); err == nil {
				t.Errorf("ParseRepoInfo(%q) = %+v, want an error", in, got)
			}
		})
	}
}
