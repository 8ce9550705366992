package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VersionSpec describes a release that a cluster can be upgraded to.
type VersionSpec struct {
	// ISOURL is where the release's ISO image is found.
	// +optional
	ISOURL string `json:"isoURL,omitempty"`
	// ISOChecksum is the checksum of the ISO image.
	// +optional
	ISOChecksum string `json:"isoChecksum,omitempty"`
	// ReleaseDate of the version.
	// +optional
	ReleaseDate string `json:"releaseDate,omitempty"`
	// MinUpgradableVersion is the lowest version that may upgrade straight to this one.
	// +optional
	MinUpgradableVersion string `json:"minUpgradableVersion,omitempty"`
	// Tags are free-form labels of the release.
	// +optional
	Tags []string `json:"tags,omitempty"`
}

// Version is a release of Cloudweav that is offered for upgrade.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="ISO-URL",type=string,JSONPath=`.spec.isoURL`
// +kubebuilder:printcolumn:name="Release-Date",type=string,JSONPath=`.spec.releaseDate`
// +kubebuilder:printcolumn:name="Min-Upgradable",type=string,JSONPath=`.spec.minUpgradableVersion`
type Version struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec VersionSpec `json:"spec,omitempty"`
}

// VersionList is a list of Versions.
//
// +kubebuilder:object:root=true
type VersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Version `json:"items"`
}
