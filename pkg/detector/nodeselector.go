package detector

import (
	"fmt"
	"sort"
	"strings"

	kubevirtv1 "kubevirt.io/api/core/v1"
)

// checkNodeSelector decides ReasonNodeSelector, the seed's rule: a VMI with a node selector,
// whatever its keys, is pinned to the nodes it selects and is treated as unable to leave.
// The message lists the selector's key=value pairs sorted by key.
func checkNodeSelector(vmi *kubevirtv1.VirtualMachineInstance) (Reason, bool) {
	if len(vmi.Spec.NodeSelector) == 0 {
		return Reason{}, false
	}
	keys := make([]string, 0, len(vmi.Spec.NodeSelector))
	for k := range vmi.Spec.NodeSelector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + vmi.Spec.NodeSelector[k]
	}
	return Reason{
		Code:    ReasonNodeSelector,
		Message: fmt.Sprintf("has a node selector: %s", strings.Join(pairs, ", ")),
	}, true
}
