package kubevirt

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// KubeVirt's messages for a stop or start that has nothing to do (virt-api,
// pkg/virt-api/rest/lifecycle.go), inside a 409 Conflict.
const (
	msgNotRunning     = "VM is not running"
	msgHaltedStopping = "Halted only supports manual stop requests with a shorter graceperiod"
	msgAlreadyRunning = "VM is already running"
)

// IsAlreadyStopped reports whether err is KubeVirt's refusal to stop a VM that is not
// running, or one already being stopped (run strategy Halted while its VMI shuts down).
func IsAlreadyStopped(err error) bool {
	if !apierrors.IsConflict(err) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, msgNotRunning) || strings.Contains(msg, msgHaltedStopping)
}

// IsAlreadyRunning reports whether err is KubeVirt's refusal to start a VM whose VMI exists
// and is not final.
func IsAlreadyRunning(err error) bool {
	return apierrors.IsConflict(err) && strings.Contains(err.Error(), msgAlreadyRunning)
}
