package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UpgradeSpec is what an operator asks for: the Version to move the cluster to.
type UpgradeSpec struct {
	// Version is the name of the Version object to upgrade to, normally the target version string.
	// +optional
	Version string `json:"version,omitempty"`
	// Image is the upgrade image to use instead of the one the Version names.
	// +optional
	Image string `json:"image,omitempty"`
	// LogEnabled turns on collecting the upgrade's logs.
	// +optional
	LogEnabled bool `json:"logEnabled,omitempty"`
}

// UpgradeCondition is one observed aspect of an Upgrade's progress.
type UpgradeCondition struct {
	// Type of the condition.
	Type string `json:"type"`
	// Status of the condition: True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Reason is a machine-readable word for the last transition.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable account of the last transition.
	// +optional
	Message string `json:"message,omitempty"`
	// LastUpdateTime is when the condition last changed.
	// +optional
	LastUpdateTime string `json:"lastUpdateTime,omitempty"`
}

// NodeUpgradeStatus is the progress of the upgrade on one node.
type NodeUpgradeStatus struct {
	// +optional
	State string `json:"state,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// UpgradeStatus is what the upgrade controller has observed.
type UpgradeStatus struct {
	// PreviousVersion is the version the cluster runs before the upgrade.
	// +optional
	PreviousVersion string `json:"previousVersion,omitempty"`
	// RepoInfo is YAML written by the upgrade repository describing the release to install.
	// +optional
	RepoInfo string `json:"repoInfo,omitempty"`
	// Conditions of the upgrade.
	// +optional
	Conditions []UpgradeCondition `json:"conditions,omitempty"`
	// NodeStatuses is the progress per node, keyed by node name.
	// +optional
	NodeStatuses map[string]NodeUpgradeStatus `json:"nodeStatuses,omitempty"`
}

// Upgrade is one run of a Cloudweav cluster upgrade.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=hvst-upgrade
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Previous",type=string,JSONPath=`.status.previousVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Upgrade struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec UpgradeSpec `json:"spec,omitempty"`
	// +optional
	Status UpgradeStatus `json:"status,omitempty"`
}

// UpgradeList is a list of Upgrades.
//
// +kubebuilder:object:root=true
type UpgradeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Upgrade `json:"items"`
}
