package detector

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Capacity: ReasonInsufficientResources.
//
// The VMs that could leave (no other reason holds and they have at least one target node)
// leave together, as the drain moves them all at once, so they are placed together:
//
//   - The free room of a target node is its allocatable CPU and memory minus the requests of
//     the pods bound to it that have not finished (phase neither Succeeded nor Failed). It may
//     be negative on an overcommitted node.
//   - A VM needs what its virt-launcher pod requests (k8s.io/component-helpers/resource
//     PodRequests with the default options, so pod overhead included).
//   - The VMs are placed one at a time, the largest first: by memory request descending, then
//     CPU request descending, then namespace/name ascending.
//   - A VM fits on a target when, for CPU and for memory, it requests nothing or no more than
//     is free (as the scheduler's resource fit does). Of the targets it fits on it goes to the
//     one with the most free memory (the most left after placing it), then the most free CPU,
//     then the smallest name. Its requests are then taken from that node's free room and
//     VMVerdict.Placement names the node.
//   - A VM that fits on none of its targets gets ReasonInsufficientResources.
//
// The check never guesses. It is skipped, with a warning in the report, when the cluster
// state has no pods (ClusterState.PodsKnown is false), when the virt-launcher pod of any VM
// that could leave is unknown, or when any of their target nodes reports no allocatable CPU
// or memory; then no VM gets a Placement.

// room is CPU in millicores and memory in bytes.
type room struct {
	cpu, memory int64
}

// requestsOf returns what pod requests.
func requestsOf(pod *corev1.Pod) room {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	return room{cpu: req.Cpu().MilliValue(), memory: req.Memory().Value()}
}

// fits reports whether need fits into free.
func (free room) fits(need room) bool {
	return (need.cpu == 0 || need.cpu <= free.cpu) && (need.memory == 0 || need.memory <= free.memory)
}

// placeTogether runs the capacity check over cases, which are sorted by namespace/name;
// open are the nodes their targetSets index. It returns the warnings of a skipped check.
func placeTogether(cases []*vmCase, open []*corev1.Node, idx *clusterIndex, podsKnown bool) []string {
	var movers []*vmCase
	for _, c := range cases {
		if len(c.verdict.Reasons) == 0 && len(c.targets.nodes) > 0 {
			movers = append(movers, c)
		}
	}
	if len(movers) == 0 {
		return nil
	}
	if !podsKnown {
		return []string{"capacity check skipped: the cluster state has no pods, so the room on the target nodes and what the VMs need are unknown"}
	}

	var warnings, noLauncher []string
	isTarget := make([]bool, len(open))
	seen := map[*targetSet]bool{}
	for _, c := range movers {
		if c.launcher == nil {
			noLauncher = append(noLauncher, c.verdict.Key())
		}
		if !seen[c.targets] {
			seen[c.targets] = true
			for _, i := range c.targets.nodes {
				isTarget[i] = true
			}
		}
	}
	if len(noLauncher) > 0 {
		warnings = append(warnings, fmt.Sprintf("capacity check skipped: the virt-launcher pod of %s is unknown, so what it needs is unknown", listNames(noLauncher)))
	}
	// free is indexed like open; open is sorted by name, so noAllocatable is too.
	free := make([]room, len(open))
	var noAllocatable []string
	for i, node := range open {
		if !isTarget[i] {
			continue
		}
		cpu, hasCPU := node.Status.Allocatable[corev1.ResourceCPU]
		memory, hasMemory := node.Status.Allocatable[corev1.ResourceMemory]
		if !hasCPU || !hasMemory || cpu.IsZero() || memory.IsZero() {
			noAllocatable = append(noAllocatable, node.Name)
			continue
		}
		r := room{cpu: cpu.MilliValue(), memory: memory.Value()}
		for _, pod := range idx.podsByNode[node.Name] {
			used := requestsOf(pod)
			r.cpu -= used.cpu
			r.memory -= used.memory
		}
		free[i] = r
	}
	if len(noAllocatable) > 0 {
		warnings = append(warnings, fmt.Sprintf("capacity check skipped: target node(s) %s report no allocatable cpu or memory", listNames(noAllocatable)))
	}
	if len(warnings) > 0 {
		return warnings
	}

	needs := make(map[*vmCase]room, len(movers))
	for _, c := range movers {
		needs[c] = requestsOf(c.launcher)
	}
	sort.SliceStable(movers, func(i, j int) bool {
		a, b := needs[movers[i]], needs[movers[j]]
		if a.memory != b.memory {
			return a.memory > b.memory
		}
		return a.cpu > b.cpu
	})
	for _, c := range movers {
		need := needs[c]
		best := -1
		// The targets are in name order: a strict comparison keeps the smallest name on ties.
		for _, i := range c.targets.nodes {
			r := free[i]
			if !r.fits(need) {
				continue
			}
			if best < 0 || r.memory > free[best].memory || (r.memory == free[best].memory && r.cpu > free[best].cpu) {
				best = i
			}
		}
		if best < 0 {
			c.verdict.Reasons = append(c.verdict.Reasons, Reason{
				Code:    ReasonInsufficientResources,
				Message: insufficientMessage(need, c.targets.nodes, open, free),
			})
			continue
		}
		free[best].cpu -= need.cpu
		free[best].memory -= need.memory
		c.verdict.Placement = open[best].Name
	}
	return nil
}

// insufficientMessage says what the VM needs and the most free memory left among its targets.
func insufficientMessage(need room, targets []int, open []*corev1.Node, free []room) string {
	most := targets[0]
	for _, i := range targets[1:] {
		if free[i].memory > free[most].memory {
			most = i
		}
	}
	return fmt.Sprintf("no room once the VMs that can leave are placed together: it needs cpu %s and memory %s, and none of its %d target node(s) has that free (most free memory: %s with cpu %s, memory %s)",
		formatCPU(need.cpu), formatMemory(need.memory), len(targets), open[most].Name, formatCPU(free[most].cpu), formatMemory(free[most].memory))
}
