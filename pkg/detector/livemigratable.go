package detector

import (
	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// checkLiveMigratable decides ReasonNotLiveMigratable: KubeVirt itself says the VMI cannot
// live-migrate, through its LiveMigratable condition being False (disks that are not shared,
// interfaces that cannot migrate, and so on). KubeVirt's reason is carried in
// Reason.KubeVirtReason and its message in Reason.Message. A missing or Unknown condition is
// not a reason: KubeVirt has not said no.
func checkLiveMigratable(vmi *kubevirtv1.VirtualMachineInstance) (Reason, bool) {
	for _, c := range vmi.Status.Conditions {
		if c.Type != kubevirtv1.VirtualMachineInstanceIsMigratable || c.Status != corev1.ConditionFalse {
			continue
		}
		msg := "KubeVirt reports it cannot live-migrate"
		switch {
		case c.Reason != "" && c.Message != "":
			msg += ": " + c.Reason + ": " + c.Message
		case c.Message != "":
			msg += ": " + c.Message
		case c.Reason != "":
			msg += ": " + c.Reason
		}
		return Reason{Code: ReasonNotLiveMigratable, Message: msg, KubeVirtReason: c.Reason}, true
	}
	return Reason{}, false
}
