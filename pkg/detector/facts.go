package detector

import (
	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// newVerdict starts the verdict on vmi with the facts the stop-and-restore step needs:
//   - Owned: the VMI has an ownerReference of kind VirtualMachine, or a VirtualMachine of the
//     same namespace and name is known;
//   - UpgradeOwned: the VM or the VMI carries label cloudweavhci.io/upgrade with a non-empty
//     value (a VM created by the upgrade itself);
//   - Paused: the VMI's Paused condition is True.
//
// It starts as migratable; the rules add the reasons.
func newVerdict(vmi *kubevirtv1.VirtualMachineInstance, idx *clusterIndex) VMVerdict {
	v := VMVerdict{Namespace: vmi.Namespace, Name: vmi.Name, Migratable: true}
	vm := idx.vms[vmi.Namespace+"/"+vmi.Name]
	v.Owned = vm != nil
	for _, ref := range vmi.OwnerReferences {
		if ref.Kind == vmKind {
			v.Owned = true
		}
	}
	v.UpgradeOwned = vmi.Labels[UpgradeLabel] != "" || (vm != nil && vm.Labels[UpgradeLabel] != "")
	for _, c := range vmi.Status.Conditions {
		if c.Type == kubevirtv1.VirtualMachineInstancePaused && c.Status == corev1.ConditionTrue {
			v.Paused = true
		}
	}
	return v
}
