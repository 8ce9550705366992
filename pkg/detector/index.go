package detector

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// The labels and names the analysis reads, from KubeVirt and from the contract.
const (
	// WitnessLabel marks a witness node (any value): never a migration target.
	WitnessLabel = "node-role.cloudweavhci.io/witness"
	// UpgradeLabel (non-empty) marks a VM created by the upgrade itself.
	UpgradeLabel = "cloudweavhci.io/upgrade"
	// launcherLabelValue is the value of label kubevirt.io on a virt-launcher pod.
	launcherLabelValue = "virt-launcher"
	// vmiKind is the kind a virt-launcher pod's ownerReference names.
	vmiKind = "VirtualMachineInstance"
	// vmKind is the kind of the ownerReference of a VMI owned by a VirtualMachine.
	vmKind = "VirtualMachine"
)

// clusterIndex holds the look-ups the analysis needs, built once from a ClusterState so that
// judging a VM never rescans the whole state.
type clusterIndex struct {
	nodes map[string]*corev1.Node
	// podsByNode are the pods bound to each node that have not finished (phase neither
	// Succeeded nor Failed): what takes room on the node.
	podsByNode map[string][]*corev1.Pod
	// launchers are the virt-launcher pods by the UID of the VMI they run.
	launchers map[types.UID][]*corev1.Pod
	// vms are the VirtualMachines by namespace/name.
	vms map[string]*kubevirtv1.VirtualMachine
}

func newClusterIndex(state *ClusterState) *clusterIndex {
	idx := &clusterIndex{
		nodes:      make(map[string]*corev1.Node, len(state.Nodes)),
		podsByNode: make(map[string][]*corev1.Pod, len(state.Nodes)),
		launchers:  make(map[types.UID][]*corev1.Pod),
		vms:        make(map[string]*kubevirtv1.VirtualMachine, len(state.VMs)),
	}
	for i := range state.Nodes {
		idx.nodes[state.Nodes[i].Name] = &state.Nodes[i]
	}
	for i := range state.VMs {
		vm := &state.VMs[i]
		idx.vms[vm.Namespace+"/"+vm.Name] = vm
	}
	for i := range state.Pods {
		pod := &state.Pods[i]
		if pod.Spec.NodeName != "" && !podFinished(pod) {
			idx.podsByNode[pod.Spec.NodeName] = append(idx.podsByNode[pod.Spec.NodeName], pod)
		}
		for _, uid := range launcherOf(pod) {
			idx.launchers[uid] = append(idx.launchers[uid], pod)
		}
	}
	return idx
}

// launcherOf returns the UIDs of the VMIs pod is the virt-launcher of: the one named by its
// kubevirt.io/created-by label when it is labelled kubevirt.io=virt-launcher, and those its
// ownerReferences of kind VirtualMachineInstance name (normally the same one).
func launcherOf(pod *corev1.Pod) []types.UID {
	var uids []types.UID
	if pod.Labels[kubevirtv1.AppLabel] == launcherLabelValue {
		if uid := types.UID(pod.Labels[kubevirtv1.CreatedByLabel]); uid != "" {
			uids = append(uids, uid)
		}
	}
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == vmiKind && ref.UID != "" && (len(uids) == 0 || uids[0] != ref.UID) {
			uids = append(uids, ref.UID)
		}
	}
	return uids
}

// launcherFor returns the virt-launcher pod of vmi, or nil when none is known. Finished pods
// (left over from an earlier run or migration) are never used. Of the others, the first in
// this order wins: Running on the source node, then on the source node in another phase,
// then anywhere else; ties go to the smallest pod name.
func (idx *clusterIndex) launcherFor(vmi *kubevirtv1.VirtualMachineInstance, source string) *corev1.Pod {
	if vmi.UID == "" {
		return nil
	}
	var best *corev1.Pod
	bestRank := 0
	for _, pod := range idx.launchers[vmi.UID] {
		if pod.Namespace != vmi.Namespace || podFinished(pod) {
			continue
		}
		rank := 2
		if pod.Spec.NodeName == source {
			rank = 1
			if pod.Status.Phase == corev1.PodRunning {
				rank = 0
			}
		}
		if best == nil || rank < bestRank || (rank == bestRank && pod.Name < best.Name) {
			best, bestRank = pod, rank
		}
	}
	return best
}

// podFinished reports whether pod has ended and no longer holds room on its node.
func podFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// vmiNodeName is the node a VMI runs on: status.nodeName, or its kubevirt.io/nodeName label
// when the status does not say.
func vmiNodeName(vmi *kubevirtv1.VirtualMachineInstance) string {
	if vmi.Status.NodeName != "" {
		return vmi.Status.NodeName
	}
	return vmi.Labels[kubevirtv1.NodeNameLabel]
}
