package detector

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// noTargetMessage is the scheduler-style message of ReasonNoTargetNode, for example
// "0/4 nodes can take it: 1 source node, 1 witness, 1 untolerated taint dedicated=gpu:NoSchedule,
// 1 node affinity". Each node is counted once; the groups follow the fixed order of the
// NodeReasons, and the taint groups are ordered by taint.
func noTargetMessage(total int, counts map[ruledOut]int) string {
	groups := make([]ruledOut, 0, len(counts))
	for r := range counts {
		groups = append(groups, r)
	}
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if nodeReasonOrder[a.reason] != nodeReasonOrder[b.reason] {
			return nodeReasonOrder[a.reason] < nodeReasonOrder[b.reason]
		}
		return a.detail < b.detail
	})
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%d %s", counts[g], g.reason)
		if g.detail != "" {
			parts[i] += " " + g.detail
		}
	}
	msg := fmt.Sprintf("0/%d nodes can take it", total)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return msg
}

// maxListed is how many names a warning lists before it says how many more there are.
const maxListed = 5

// listNames joins sorted names, listing at most maxListed of them.
func listNames(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// formatCPU formats millicores as a Kubernetes quantity ("1500m", "2").
func formatCPU(milli int64) string {
	return resource.NewMilliQuantity(milli, resource.DecimalSI).String()
}

// formatMemory formats bytes as a Kubernetes quantity ("4Gi").
func formatMemory(bytes int64) string {
	return resource.NewQuantity(bytes, resource.BinarySI).String()
}
