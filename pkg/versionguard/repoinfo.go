package versionguard

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// RepoInfo is the release metadata the upgrade repository writes in an Upgrade's status.repoInfo.
type RepoInfo struct {
	Release Release `json:"release"`
}

// Release describes the release an upgrade installs.
type Release struct {
	// Cloudweav is the version that will be installed, such as v1.3.0.
	Cloudweav            string `json:"cloudweav,omitempty"`
	CloudweavChart       string `json:"cloudweavChart,omitempty"`
	OS                   string `json:"os,omitempty"`
	Kubernetes           string `json:"kubernetes,omitempty"`
	MinUpgradableVersion string `json:"minUpgradableVersion,omitempty"`
}

// ParseRepoInfo parses status.repoInfo. An empty string is an empty RepoInfo; YAML that does
// not parse, or whose fields have the wrong shape, is an error. Unknown fields are ignored.
func ParseRepoInfo(s string) (RepoInfo, error) {
	var info RepoInfo
	if err := yaml.Unmarshal([]byte(s), &info); err != nil {
		return RepoInfo{}, fmt.Errorf("parse repoInfo: %w", err)
	}
	return info, nil
}
