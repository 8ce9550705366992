package detector

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// unsetPhase is what a skipped VMI with an empty phase is reported as (KubeVirt calls the
// empty phase VmPhaseUnset).
const unsetPhase = "Unset"

// vmiRule decides, from the VMI alone, one reason it cannot leave its node.
type vmiRule func(vmi *kubevirtv1.VirtualMachineInstance) (Reason, bool)

// vmiRules are the reasons decided from the VMI alone, in the order they are reported.
// ReasonNoTargetNode (targets.go) and ReasonInsufficientResources (capacity.go) follow.
var vmiRules = []vmiRule{checkNodeSelector, checkHostDevices, checkGPUs, checkLiveMigratable}

// vmCase is one VM being judged.
type vmCase struct {
	vmi      *kubevirtv1.VirtualMachineInstance
	launcher *corev1.Pod
	// targets are the nodes that can take the VM (shared between VMs: never modified).
	targets *targetSet
	verdict VMVerdict
}

// Analyze judges every VM running on node nodeName of state and says whether it can
// live-migrate away, with every reason it cannot.
//
// Only the VMIs on that node (status.nodeName, or label kubevirt.io/nodeName when the status
// does not say) are looked at: those Running are judged, the others are listed in
// Report.Skipped with their phase. Everything in the report is sorted by namespace/name, and
// its lists are empty rather than nil. The error, with exit status 2, is for a nodeName that
// is not one of state.Nodes.
func Analyze(nodeName string, state ClusterState) (*Report, error) {
	idx := newClusterIndex(&state)
	if _, ok := idx.nodes[nodeName]; !ok {
		return nil, exitstatus.Usagef("node %q is not a node of the cluster", nodeName)
	}
	report := &Report{
		Node:          nodeName,
		NonMigratable: []string{},
		VMs:           []VMVerdict{},
		Skipped:       []SkippedVM{},
		Warnings:      []string{},
	}

	var cases []*vmCase
	for i := range state.VMIs {
		vmi := &state.VMIs[i]
		if vmiNodeName(vmi) != nodeName {
			continue
		}
		if vmi.Status.Phase != kubevirtv1.Running {
			phase := string(vmi.Status.Phase)
			if phase == "" {
				phase = unsetPhase
			}
			report.Skipped = append(report.Skipped, SkippedVM{Namespace: vmi.Namespace, Name: vmi.Name, Phase: phase})
			continue
		}
		cases = append(cases, &vmCase{vmi: vmi})
	}
	sort.SliceStable(cases, func(i, j int) bool {
		a, b := cases[i].vmi, cases[j].vmi
		if ka, kb := a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name; ka != kb {
			return ka < kb
		}
		return a.UID < b.UID
	})
	sort.SliceStable(report.Skipped, func(i, j int) bool {
		return report.Skipped[i].Namespace+"/"+report.Skipped[i].Name < report.Skipped[j].Namespace+"/"+report.Skipped[j].Name
	})

	finder := newTargetFinder(nodeName, state.Nodes)
	for _, c := range cases {
		c.verdict = newVerdict(c.vmi, idx)
		c.launcher = idx.launcherFor(c.vmi, nodeName)
		for _, rule := range vmiRules {
			if r, holds := rule(c.vmi); holds {
				c.verdict.Reasons = append(c.verdict.Reasons, r)
			}
		}
		set := finder.targetsFor(constraintsOf(c.vmi, c.launcher))
		c.targets = set
		if set.affinityErr != nil {
			report.Warnings = append(report.Warnings, fmt.Sprintf("vm %s: its required node affinity has errors, nodes matching no term are ruled out: %v", c.verdict.Key(), set.affinityErr))
		}
		if len(set.targets) == 0 {
			c.verdict.Reasons = append(c.verdict.Reasons, Reason{Code: ReasonNoTargetNode, Message: set.message})
		} else {
			c.verdict.Targets = append([]string(nil), set.targets...)
		}
	}
	report.Warnings = append(report.Warnings, placeTogether(cases, finder.open, idx, state.PodsKnown)...)

	for _, c := range cases {
		c.verdict.Migratable = len(c.verdict.Reasons) == 0
		if !c.verdict.Migratable {
			report.NonMigratable = append(report.NonMigratable, c.verdict.Key())
		}
		report.VMs = append(report.VMs, c.verdict)
	}
	return report, nil
}
