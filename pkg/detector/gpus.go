package detector

import (
	"fmt"
	"strings"

	kubevirtv1 "kubevirt.io/api/core/v1"
)

// checkGPUs decides ReasonGPUs: a VMI with vGPU devices (spec.domain.devices.gpus) is bound
// to the GPUs of its node. The message lists the devices in the VMI's order as
// "name (deviceName)".
func checkGPUs(vmi *kubevirtv1.VirtualMachineInstance) (Reason, bool) {
	gpus := vmi.Spec.Domain.Devices.GPUs
	if len(gpus) == 0 {
		return Reason{}, false
	}
	names := make([]string, len(gpus))
	for i, g := range gpus {
		names[i] = deviceLabel(g.Name, g.DeviceName)
	}
	return Reason{
		Code:    ReasonGPUs,
		Message: fmt.Sprintf("has GPUs: %s", strings.Join(names, ", ")),
	}, true
}
