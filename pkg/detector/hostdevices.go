package detector

import (
	"fmt"
	"strings"

	kubevirtv1 "kubevirt.io/api/core/v1"
)

// checkHostDevices decides ReasonHostDevices: a VMI with PCI or USB host devices passed
// through (spec.domain.devices.hostDevices) is bound to the hardware of its node. The message
// lists the devices in the VMI's order as "name (deviceName)".
func checkHostDevices(vmi *kubevirtv1.VirtualMachineInstance) (Reason, bool) {
	devices := vmi.Spec.Domain.Devices.HostDevices
	if len(devices) == 0 {
		return Reason{}, false
	}
	names := make([]string, len(devices))
	for i, d := range devices {
		names[i] = deviceLabel(d.Name, d.DeviceName)
	}
	return Reason{
		Code:    ReasonHostDevices,
		Message: fmt.Sprintf("has host devices: %s", strings.Join(names, ", ")),
	}, true
}

// deviceLabel is "name (deviceName)", or just the name when the device name is empty.
func deviceLabel(name, deviceName string) string {
	if deviceName == "" {
		return name
	}
	return name + " (" + deviceName + ")"
}
