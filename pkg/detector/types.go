package detector

import (
	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// ClusterState is what the analysis of one node needs to know about the cluster.
type ClusterState struct {
	// Nodes are all the nodes of the cluster: the source node and every candidate target.
	Nodes []corev1.Node
	// VMs are the VirtualMachines that own the VMIs (may be incomplete; used for reporting).
	VMs []kubevirtv1.VirtualMachine
	// VMIs are the VirtualMachineInstances; those not running on the analysed node are ignored.
	VMIs []kubevirtv1.VirtualMachineInstance
	// Pods are the virt-launcher pods of the VMIs and the pods running on candidate nodes.
	Pods []corev1.Pod
	// PodsKnown is false when the source had no pods at all (a file snapshot may lack them);
	// then scheduling uses the VMIs' own constraints and the capacity check is skipped.
	PodsKnown bool
}

// ReasonCode names one reason a VM cannot live-migrate off its node.
type ReasonCode string

// The reasons a VM cannot leave its node. Each is documented in the file that decides it.
const (
	// ReasonNodeSelector: the VMI has a node selector (the seed's rule, whatever its keys).
	ReasonNodeSelector ReasonCode = "NodeSelector"
	// ReasonHostDevices: the VMI has PCI or USB host devices passed through.
	ReasonHostDevices ReasonCode = "HostDevices"
	// ReasonGPUs: the VMI has vGPU devices.
	ReasonGPUs ReasonCode = "GPUs"
	// ReasonNotLiveMigratable: KubeVirt's LiveMigratable condition on the VMI is False.
	ReasonNotLiveMigratable ReasonCode = "NotLiveMigratable"
	// ReasonNoTargetNode: no other node may take the VM.
	ReasonNoTargetNode ReasonCode = "NoTargetNode"
	// ReasonInsufficientResources: the VM could go elsewhere, but when all the VMs that can
	// leave are placed together there is no room left for it.
	ReasonInsufficientResources ReasonCode = "InsufficientResources"
)

// Reason is one reason a VM cannot leave, with a message for a person.
type Reason struct {
	Code    ReasonCode `json:"code"`
	Message string     `json:"message"`
	// KubeVirtReason is the reason KubeVirt gave on the VMI's LiveMigratable condition, for
	// ReasonNotLiveMigratable (for example DisksNotLiveMigratable).
	KubeVirtReason string `json:"kubevirtReason,omitempty"`
}

// VMVerdict is the verdict on one VM running on the analysed node.
type VMVerdict struct {
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	Migratable bool     `json:"migratable"`
	Reasons    []Reason `json:"reasons,omitempty"`
	// Targets are the nodes the VM could be moved to, sorted (before the capacity check).
	Targets []string `json:"targets,omitempty"`
	// Placement is the node the capacity check placed the VM on, when it ran.
	Placement string `json:"placement,omitempty"`
	// Owned is false when no VirtualMachine owns the VMI (it cannot be stopped and restored).
	Owned bool `json:"owned"`
	// UpgradeOwned is true when the VM carries the contract's cloudweavhci.io/upgrade label.
	UpgradeOwned bool `json:"upgradeOwned,omitempty"`
	// Paused is true when the VMI is paused.
	Paused bool `json:"paused,omitempty"`
}

// Key is "namespace/name".
func (v VMVerdict) Key() string { return v.Namespace + "/" + v.Name }

// SkippedVM is a VMI on the node that was not judged because it is not Running.
type SkippedVM struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Phase is the VMI's phase, "Unset" when it has none.
	Phase string `json:"phase"`
}

// Report is the outcome of analysing one node.
type Report struct {
	Node string `json:"node"`
	// NonMigratable is the sorted list of namespace/name of the VMs that cannot leave.
	NonMigratable []string `json:"nonMigratable"`
	// VMs has one verdict per judged VM, sorted by namespace/name.
	VMs []VMVerdict `json:"vms"`
	// Skipped are the VMIs on the node that are not Running.
	Skipped []SkippedVM `json:"skipped"`
	// Warnings are checks that could not run and anything else a person should know.
	Warnings []string `json:"warnings"`
}
