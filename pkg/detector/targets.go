package detector

import (
	"encoding/json"
	"sort"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// NodeReason names why a node cannot take a VM. The values are the words of the
// scheduler-style message of ReasonNoTargetNode.
type NodeReason string

// The reasons a node is not a migration target, in their fixed order: a node ruled out for
// several reasons counts once, under the first of them in this order. The node-only reasons
// come first (they hold whatever the VM), then the VM's own constraints, taints before
// affinity as the scheduler's message lists them.
const (
	// NodeSourceNode: the node the VM runs on now.
	NodeSourceNode NodeReason = "source node"
	// NodeWitness: a witness node (label node-role.cloudweavhci.io/witness, any value).
	NodeWitness NodeReason = "witness"
	// NodeUnschedulable: the node is cordoned (spec.unschedulable).
	NodeUnschedulable NodeReason = "cordoned"
	// NodeNotReady: the node's Ready condition is not True.
	NodeNotReady NodeReason = "not ready"
	// NodeUntoleratedTaint: the node has a NoSchedule or NoExecute taint the VM does not
	// tolerate (PreferNoSchedule never rules a node out). The message names the taint.
	NodeUntoleratedTaint NodeReason = "untolerated taint"
	// NodeAffinity: the VM's node selector or required node affinity does not match the node.
	NodeAffinity NodeReason = "node affinity"
)

// nodeReasonOrder is the fixed order of the NodeReasons, used to order the message.
var nodeReasonOrder = map[NodeReason]int{
	NodeSourceNode:       0,
	NodeWitness:          1,
	NodeUnschedulable:    2,
	NodeNotReady:         3,
	NodeUntoleratedTaint: 4,
	NodeAffinity:         5,
}

// ruledOut is why one node cannot take a VM: the first reason in the fixed order and, for
// NodeUntoleratedTaint, the taint as key=value:Effect.
type ruledOut struct {
	reason NodeReason
	detail string
}

// schedulingConstraints are what decides, beyond the node itself, whether a node can take a
// VM: the node selector, the required node affinity and the tolerations of the pod the
// scheduler would place.
type schedulingConstraints struct {
	NodeSelector map[string]string    `json:"nodeSelector,omitempty"`
	Required     *corev1.NodeSelector `json:"required,omitempty"`
	Tolerations  []corev1.Toleration  `json:"tolerations,omitempty"`
}

// constraintsOf returns the scheduling constraints of a VM. When its virt-launcher pod is
// known they are the pod's own, which are what the scheduler sees: its node selector carries
// KubeVirt's labels such as kubevirt.io/schedulable and the CPU model ones. Otherwise they are
// built from the VMI's affinity and tolerations only. The VMI's node selector is deliberately
// left out: a VMI with a node selector is non-migratable for ReasonNodeSelector already, and
// its targets then show where it could go were it not pinned by that rule.
func constraintsOf(vmi *kubevirtv1.VirtualMachineInstance, launcher *corev1.Pod) schedulingConstraints {
	if launcher != nil {
		return schedulingConstraints{
			NodeSelector: launcher.Spec.NodeSelector,
			Required:     requiredAffinity(launcher.Spec.Affinity),
			Tolerations:  launcher.Spec.Tolerations,
		}
	}
	return schedulingConstraints{
		Required:    requiredAffinity(vmi.Spec.Affinity),
		Tolerations: vmi.Spec.Tolerations,
	}
}

func requiredAffinity(a *corev1.Affinity) *corev1.NodeSelector {
	if a == nil || a.NodeAffinity == nil {
		return nil
	}
	return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// pod returns a pod carrying only c, for the component-helpers that judge pods.
func (c schedulingConstraints) pod() *corev1.Pod {
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: c.NodeSelector, Tolerations: c.Tolerations}}
	if c.Required != nil {
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: c.Required,
		}}
	}
	return pod
}

// targetSet is the outcome of judging every node for one set of scheduling constraints.
type targetSet struct {
	// targets are the nodes that can take the VM, sorted by name.
	targets []string
	// nodes are the same nodes as indexes into targetFinder.open (ascending, so also sorted
	// by name), for the capacity check.
	nodes []int
	// ruledOut counts the nodes that cannot, by reason (and taint).
	ruledOut map[ruledOut]int
	// affinityErr is set when the required node affinity could not be parsed.
	affinityErr error
	// message is the scheduler-style message of ReasonNoTargetNode, when there is no target.
	message string
}

// targetFinder decides which nodes can take a VM. What depends only on the node (source,
// witness, cordoned, not ready) is decided once for all VMs; what depends on the VM's
// scheduling constraints is decided once per distinct set of constraints, since most VMs
// share theirs.
type targetFinder struct {
	total int
	// open are the nodes that pass the node-only checks, sorted by name.
	open []*corev1.Node
	// closed counts the nodes ruled out by the node-only checks.
	closed map[ruledOut]int
	// cache holds the targetSets already computed, by the JSON of their constraints.
	cache map[string]*targetSet
}

func newTargetFinder(source string, nodes []corev1.Node) *targetFinder {
	f := &targetFinder{total: len(nodes), closed: map[ruledOut]int{}, cache: map[string]*targetSet{}}
	for i := range nodes {
		node := &nodes[i]
		if reason, out := nodeOnlyReason(source, node); out {
			f.closed[ruledOut{reason: reason}]++
			continue
		}
		f.open = append(f.open, node)
	}
	sort.Slice(f.open, func(i, j int) bool { return f.open[i].Name < f.open[j].Name })
	return f
}

// nodeOnlyReason returns the first reason, in the fixed order, that rules node out whatever
// the VM.
func nodeOnlyReason(source string, node *corev1.Node) (NodeReason, bool) {
	if node.Name == source {
		return NodeSourceNode, true
	}
	if _, ok := node.Labels[WitnessLabel]; ok {
		return NodeWitness, true
	}
	if node.Spec.Unschedulable {
		return NodeUnschedulable, true
	}
	if !nodeReady(node) {
		return NodeNotReady, true
	}
	return "", false
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// blockingTaint keeps the taints that rule a node out for a pod that does not tolerate them.
func blockingTaint(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// targetsFor judges every node for constraints c. The result is shared between the VMs with
// the same constraints and must not be modified.
func (f *targetFinder) targetsFor(c schedulingConstraints) *targetSet {
	key, err := json.Marshal(c)
	if err == nil {
		if set, ok := f.cache[string(key)]; ok {
			return set
		}
	}
	set := f.judge(c)
	if err == nil {
		f.cache[string(key)] = set
	}
	return set
}

func (f *targetFinder) judge(c schedulingConstraints) *targetSet {
	set := &targetSet{ruledOut: make(map[ruledOut]int, len(f.closed)+2)}
	for r, n := range f.closed {
		set.ruledOut[r] = n
	}
	affinity := nodeaffinity.GetRequiredNodeAffinity(c.pod())
	logger := klog.Background()
	for i, node := range f.open {
		if taint, out := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, c.Tolerations, blockingTaint, false); out {
			set.ruledOut[ruledOut{reason: NodeUntoleratedTaint, detail: taint.ToString()}]++
			continue
		}
		match, err := affinity.Match(node)
		if err != nil && set.affinityErr == nil {
			set.affinityErr = err
		}
		if !match {
			set.ruledOut[ruledOut{reason: NodeAffinity}]++
			continue
		}
		set.targets = append(set.targets, node.Name)
		set.nodes = append(set.nodes, i)
	}
	if len(set.targets) == 0 {
		set.message = noTargetMessage(f.total, set.ruledOut)
	}
	return set
}
