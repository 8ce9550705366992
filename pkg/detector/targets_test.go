package detector

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// judgeOne analyses node n1 of nodes carrying one VMI built from vmiOpts, with its
// virt-launcher pod built from podOpts, and returns the verdict.
func judgeOne(t *testing.T, nodes []corev1.Node, vmiOpts []vmiOpt, podOpts []podOpt) VMVerdict {
	t.Helper()
	vmi := newVMI("default", "vm", "n1", vmiOpts...)
	state := ClusterState{Nodes: nodes, VMIs: []kubevirtv1.VirtualMachineInstance{vmi}, Pods: []corev1.Pod{newLauncher(vmi, podOpts...)}, PodsKnown: true}
	report, err := Analyze("n1", state)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if len(report.VMs) != 1 {
		t.Fatalf("got %d verdicts, want 1", len(report.VMs))
	}
	return report.VMs[0]
}

// noTarget is the NoTargetNode reason with message msg, or none for an empty msg.
func noTarget(msg string) []Reason {
	if msg == "" {
		return nil
	}
	return []Reason{{Code: ReasonNoTargetNode, Message: msg}}
}

func TestTargetNodeReasons(t *testing.T) {
	const schedulable = "kubevirt.io/schedulable"
	tests := []struct {
		name        string
		others      []corev1.Node // besides the source node n1
		podOpts     []podOpt
		wantTargets []string
		wantMessage string
	}{
		{name: "single-node cluster", wantMessage: "0/1 nodes can take it: 1 source node"},
		{name: "ready node", others: []corev1.Node{newNode("n2")}, wantTargets: []string{"n2"}},
		{name: "witness", others: []corev1.Node{newNode("n2", witness())}, wantMessage: "0/2 nodes can take it: 1 source node, 1 witness"},
		{name: "witness with a value", others: []corev1.Node{newNode("n2", nodeLabel(WitnessLabel, "true"))}, wantMessage: "0/2 nodes can take it: 1 source node, 1 witness"},
		{name: "cordoned", others: []corev1.Node{newNode("n2", cordoned())}, wantMessage: "0/2 nodes can take it: 1 source node, 1 cordoned"},
		{name: "not ready", others: []corev1.Node{newNode("n2", notReady(corev1.ConditionFalse))}, wantMessage: "0/2 nodes can take it: 1 source node, 1 not ready"},
		{name: "readiness unknown", others: []corev1.Node{newNode("n2", notReady(corev1.ConditionUnknown))}, wantMessage: "0/2 nodes can take it: 1 source node, 1 not ready"},
		{name: "no Ready condition", others: []corev1.Node{newNode("n2", noConditions())}, wantMessage: "0/2 nodes can take it: 1 source node, 1 not ready"},
		{
			name:        "NoSchedule taint",
			others:      []corev1.Node{newNode("n2", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
			wantMessage: "0/2 nodes can take it: 1 source node, 1 untolerated taint dedicated=gpu:NoSchedule",
		},
		{
			name:        "NoExecute taint without value",
			others:      []corev1.Node{newNode("n2", taint("maintenance", "", corev1.TaintEffectNoExecute))},
			wantMessage: "0/2 nodes can take it: 1 source node, 1 untolerated taint maintenance:NoExecute",
		},
		{
			name:        "PreferNoSchedule never rules out",
			others:      []corev1.Node{newNode("n2", taint("dedicated", "gpu", corev1.TaintEffectPreferNoSchedule))},
			wantTargets: []string{"n2"},
		},
		{
			name:        "tolerated taint",
			others:      []corev1.Node{newNode("n2", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
			podOpts:     []podOpt{podToleration("dedicated", "gpu", corev1.TaintEffectNoSchedule)},
			wantTargets: []string{"n2"},
		},
		{
			name:        "toleration of another effect",
			others:      []corev1.Node{newNode("n2", taint("dedicated", "gpu", corev1.TaintEffectNoExecute))},
			podOpts:     []podOpt{podToleration("dedicated", "gpu", corev1.TaintEffectNoSchedule)},
			wantMessage: "0/2 nodes can take it: 1 source node, 1 untolerated taint dedicated=gpu:NoExecute",
		},
		{
			name:        "node selector of the launcher",
			others:      []corev1.Node{newNode("n2", nodeLabel(schedulable, "false")), newNode("n3", nodeLabel(schedulable, "true"))},
			podOpts:     []podOpt{podNodeSelector(schedulable, "true")},
			wantTargets: []string{"n3"},
		},
		{
			name:        "node affinity of the launcher",
			others:      []corev1.Node{newNode("n2", nodeLabel("zone", "a")), newNode("n3")},
			podOpts:     []podOpt{podAffinity("zone", "b")},
			wantMessage: "0/3 nodes can take it: 1 source node, 2 node affinity",
		},
		{
			name: "a node counts once under its first reason",
			others: []corev1.Node{
				newNode("n2", witness(), cordoned(), notReady(corev1.ConditionFalse), taint("a", "1", corev1.TaintEffectNoSchedule)),
				newNode("n3", cordoned(), notReady(corev1.ConditionFalse), taint("a", "1", corev1.TaintEffectNoSchedule)),
				newNode("n4", notReady(corev1.ConditionFalse), taint("a", "1", corev1.TaintEffectNoSchedule)),
				newNode("n5", taint("a", "1", corev1.TaintEffectNoSchedule), taint("b", "2", corev1.TaintEffectNoSchedule)),
				newNode("n6", taint("b", "2", corev1.TaintEffectNoExecute)),
				newNode("n7", nodeLabel("zone", "b")),
			},
			podOpts:     []podOpt{podAffinity("zone", "a")},
			wantMessage: "0/7 nodes can take it: 1 source node, 1 witness, 1 cordoned, 1 not ready, 1 untolerated taint a=1:NoSchedule, 1 untolerated taint b=2:NoExecute, 1 node affinity",
		},
		{
			name: "the issue's example",
			others: []corev1.Node{
				newNode("gpu-1", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
				newNode("witness-1", witness()),
				newNode("other", nodeLabel(schedulable, "false")),
			},
			podOpts:     []podOpt{podNodeSelector(schedulable, "true")},
			wantMessage: "0/4 nodes can take it: 1 source node, 1 witness, 1 untolerated taint dedicated=gpu:NoSchedule, 1 node affinity",
		},
		{
			name: "taint groups counted and ordered by taint",
			others: []corev1.Node{
				newNode("n2", taint("z", "", corev1.TaintEffectNoSchedule)),
				newNode("n3", taint("a", "y", corev1.TaintEffectNoSchedule)),
				newNode("n4", taint("a", "y", corev1.TaintEffectNoSchedule)),
			},
			wantMessage: "0/4 nodes can take it: 1 source node, 2 untolerated taint a=y:NoSchedule, 1 untolerated taint z:NoSchedule",
		},
		{
			name: "only the nodes left are targets, sorted",
			others: []corev1.Node{
				newNode("n9"), newNode("n3", witness()), newNode("n2"), newNode("n5", cordoned()),
				newNode("n4", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			},
			wantTargets: []string{"n2", "n9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := append([]corev1.Node{newNode("n1")}, tt.others...)
			got := judgeOne(t, nodes, nil, tt.podOpts)
			if diff := cmp.Diff(tt.wantTargets, got.Targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(noTarget(tt.wantMessage), got.Reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSingleNodeClusterLeavesNoTarget(t *testing.T) {
	state := withLaunchers(ClusterState{
		Nodes: []corev1.Node{newNode("n1")},
		VMIs:  []kubevirtv1.VirtualMachineInstance{newVMI("default", "c", "n1"), newVMI("default", "a", "n1"), newVMI("x", "b", "n1")},
	})
	report, err := Analyze("n1", state)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if diff := cmp.Diff([]string{"default/a", "default/c", "x/b"}, report.NonMigratable); diff != "" {
		t.Errorf("non-migratable (-want +got):\n%s", diff)
	}
	for _, v := range report.VMs {
		if diff := cmp.Diff(noTarget("0/1 nodes can take it: 1 source node"), v.Reasons); diff != "" {
			t.Errorf("%s reasons (-want +got):\n%s", v.Key(), diff)
		}
	}
	if diff := cmp.Diff([]string{}, report.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestSchedulingConstraintsSource checks whose constraints decide the targets: the
// virt-launcher pod's when it is known, else the VMI's affinity and tolerations.
func TestSchedulingConstraintsSource(t *testing.T) {
	// n2 is in zone a, n3 in zone b and tainted dedicated=db.
	nodes := []corev1.Node{
		newNode("n1"),
		newNode("n2", nodeLabel("zone", "a")),
		newNode("n3", nodeLabel("zone", "b"), taint("dedicated", "db", corev1.TaintEffectNoSchedule)),
	}
	vmi := newVMI("default", "vm", "n1", vmiAffinity("zone", "b"), vmiToleration("dedicated", "db", corev1.TaintEffectNoSchedule))
	otherNS := newLauncher(vmi, podAffinity("zone", "nowhere"))
	otherNS.Namespace = "other"

	tests := []struct {
		name        string
		vmi         kubevirtv1.VirtualMachineInstance
		pods        []corev1.Pod
		wantTargets []string
		wantReasons []ReasonCode
	}{
		{
			name:        "launcher's constraints over the VMI's",
			vmi:         vmi,
			pods:        []corev1.Pod{newLauncher(vmi, podAffinity("zone", "a"))},
			wantTargets: []string{"n2"},
		},
		{
			name:        "launcher without the VMI's toleration",
			vmi:         vmi,
			pods:        []corev1.Pod{newLauncher(vmi, podAffinity("zone", "b"))},
			wantReasons: []ReasonCode{ReasonNoTargetNode},
		},
		{
			name:        "no pods: the VMI's affinity and tolerations",
			vmi:         vmi,
			wantTargets: []string{"n3"},
		},
		{
			name:        "launcher found by owner reference only",
			vmi:         vmi,
			pods:        []corev1.Pod{newLauncher(vmi, onlyOwnerRef(), podAffinity("zone", "a"))},
			wantTargets: []string{"n2"},
		},
		{
			name:        "launcher found by labels only",
			vmi:         vmi,
			pods:        []corev1.Pod{newLauncher(vmi, onlyLabels(), podAffinity("zone", "a"))},
			wantTargets: []string{"n2"},
		},
		{
			name:        "pod of another namespace is not the launcher",
			vmi:         vmi,
			pods:        []corev1.Pod{otherNS},
			wantTargets: []string{"n3"},
		},
		{
			name: "finished launcher ignored",
			vmi:  vmi,
			pods: []corev1.Pod{
				newLauncher(vmi, podName("virt-launcher-vm-00000"), podPhase(corev1.PodFailed), podAffinity("zone", "b")),
				newLauncher(vmi, podName("virt-launcher-vm-zzzzz"), podAffinity("zone", "a")),
			},
			wantTargets: []string{"n2"},
		},
		{
			name: "launcher running on the source over a migration target pod",
			vmi:  vmi,
			pods: []corev1.Pod{
				newLauncher(vmi, podName("virt-launcher-vm-00000"), podNode("n3"), podPhase(corev1.PodPending), podAffinity("zone", "b"),
					podToleration("dedicated", "db", corev1.TaintEffectNoSchedule)),
				newLauncher(vmi, podName("virt-launcher-vm-zzzzz"), podAffinity("zone", "a")),
			},
			wantTargets: []string{"n2"},
		},
		{
			name: "launcher on the source, first by name",
			vmi:  vmi,
			pods: []corev1.Pod{
				newLauncher(vmi, podName("virt-launcher-vm-bbbbb"), podAffinity("zone", "b")),
				newLauncher(vmi, podName("virt-launcher-vm-aaaaa"), podAffinity("zone", "a")),
			},
			wantTargets: []string{"n2"},
		},
		{
			name:        "the VMI's node selector is its own reason, not a constraint on targets",
			vmi:         newVMI("default", "vm", "n1", nodeSelector("zone", "nowhere")),
			wantTargets: []string{"n2"},
			wantReasons: []ReasonCode{ReasonNodeSelector},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := ClusterState{Nodes: nodes, VMIs: []kubevirtv1.VirtualMachineInstance{tt.vmi}, Pods: tt.pods, PodsKnown: len(tt.pods) > 0}
			report, err := Analyze("n1", state)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			got := report.VMs[0]
			if diff := cmp.Diff(tt.wantTargets, got.Targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			var codes []ReasonCode
			for _, r := range got.Reasons {
				codes = append(codes, r.Code)
			}
			if diff := cmp.Diff(tt.wantReasons, codes); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBrokenNodeAffinityWarns(t *testing.T) {
	vmi := newVMI("default", "vm", "n1")
	broken := newLauncher(vmi, podAffinity("zone", "a"))
	broken.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Near"
	state := ClusterState{Nodes: []corev1.Node{newNode("n1"), newNode("n2")}, VMIs: []kubevirtv1.VirtualMachineInstance{vmi}, Pods: []corev1.Pod{broken}, PodsKnown: true}
	report, err := Analyze("n1", state)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if diff := cmp.Diff(noTarget("0/2 nodes can take it: 1 source node, 1 node affinity"), report.VMs[0].Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	// The parse error's wording is the library's; only its start is ours.
	const prefix = "vm default/vm: its required node affinity has errors, nodes matching no term are ruled out: "
	if len(report.Warnings) != 1 || !strings.HasPrefix(report.Warnings[0], prefix) || !strings.Contains(report.Warnings[0], `"Near"`) {
		t.Errorf("warnings = %q, want one starting %q and naming the operator", report.Warnings, prefix)
	}
}
