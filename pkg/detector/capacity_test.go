package detector

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// mover is a VMI on n1 and, unless noLauncher, its virt-launcher pod requesting cpu and memory.
type mover struct {
	name        string
	cpu, memory string
	opts        []vmiOpt
	podOpts     []podOpt
	noLauncher  bool
}

// outcome is what the capacity check decides for one VM.
type outcome struct {
	Key       string
	Placement string
	Reasons   []Reason
}

func TestCapacity(t *testing.T) {
	insufficient := func(msg string) []Reason { return []Reason{{Code: ReasonInsufficientResources, Message: msg}} }
	tests := []struct {
		name      string
		others    []corev1.Node // besides the source node n1
		pods      []corev1.Pod
		movers    []mover
		podsKnown *bool
		want      []outcome
		warnings  []string
	}{
		{
			name:   "fits only when the largest is placed first",
			others: []corev1.Node{newNode("n2", allocatable("16", "8Gi")), newNode("n3", allocatable("16", "4Gi"))},
			movers: []mover{{name: "a-small", cpu: "1", memory: "3Gi"}, {name: "b-big", cpu: "1", memory: "6Gi"}},
			want:   []outcome{{Key: "default/a-small", Placement: "n3"}, {Key: "default/b-big", Placement: "n2"}},
		},
		{
			name:   "tie broken by name, then the emptier node",
			others: []corev1.Node{newNode("n3"), newNode("n2")},
			movers: []mover{{name: "b", cpu: "1", memory: "2Gi"}, {name: "a", cpu: "1", memory: "2Gi"}, {name: "c", cpu: "1", memory: "2Gi"}},
			want:   []outcome{{Key: "default/a", Placement: "n2"}, {Key: "default/b", Placement: "n3"}, {Key: "default/c", Placement: "n2"}},
		},
		{
			name:   "equal memory: the most free cpu",
			others: []corev1.Node{newNode("n2", allocatable("4", "8Gi")), newNode("n3", allocatable("8", "8Gi"))},
			movers: []mover{{name: "a", cpu: "1", memory: "2Gi"}},
			want:   []outcome{{Key: "default/a", Placement: "n3"}},
		},
		{
			name:   "equal memory, larger cpu first",
			others: []corev1.Node{newNode("n2", allocatable("3", "8Gi")), newNode("n3", witness())},
			movers: []mover{{name: "a", cpu: "1", memory: "2Gi"}, {name: "b", cpu: "2", memory: "2Gi"}, {name: "c", cpu: "1", memory: "2Gi"}},
			want: []outcome{
				{Key: "default/a", Placement: "n2"},
				{Key: "default/b", Placement: "n2"},
				{Key: "default/c", Reasons: insufficient("no room once the VMs that can leave are placed together: it needs cpu 1 and memory 2Gi, and none of its 1 target node(s) has that free (most free memory: n2 with cpu 0, memory 4Gi)")},
			},
		},
		{
			name:   "too big for any target",
			others: []corev1.Node{newNode("n2", allocatable("16", "4Gi")), newNode("n3", allocatable("16", "5Gi"))},
			movers: []mover{{name: "a", cpu: "500m", memory: "6Gi"}},
			want: []outcome{{Key: "default/a", Reasons: insufficient(
				"no room once the VMs that can leave are placed together: it needs cpu 500m and memory 6Gi, and none of its 2 target node(s) has that free (most free memory: n3 with cpu 16, memory 5Gi)")}},
		},
		{
			name:   "room taken by the VMs leaving together",
			others: []corev1.Node{newNode("n2", allocatable("16", "8Gi")), newNode("n3", witness())},
			movers: []mover{{name: "c", cpu: "1", memory: "4Gi"}, {name: "a", cpu: "1", memory: "4Gi"}, {name: "b", cpu: "1", memory: "4Gi"}},
			want: []outcome{
				{Key: "default/a", Placement: "n2"},
				{Key: "default/b", Placement: "n2"},
				{Key: "default/c", Reasons: insufficient("no room once the VMs that can leave are placed together: it needs cpu 1 and memory 4Gi, and none of its 1 target node(s) has that free (most free memory: n2 with cpu 14, memory 0)")},
			},
		},
		{
			name:   "pods already there take room, finished and unbound ones do not",
			others: []corev1.Node{newNode("n2", allocatable("16", "8Gi")), newNode("n3", allocatable("16", "8Gi"))},
			pods: []corev1.Pod{
				newPod("kube-system", "running", "n2", "1", "6Gi"),
				newPod("kube-system", "done", "n2", "1", "6Gi", podPhase(corev1.PodSucceeded)),
				newPod("kube-system", "failed", "n2", "1", "6Gi", podPhase(corev1.PodFailed)),
				newPod("kube-system", "pending", "n3", "1", "7Gi", podPhase(corev1.PodPending)),
				newPod("kube-system", "unbound", "", "1", "8Gi", podPhase(corev1.PodPending)),
			},
			movers: []mover{{name: "a", cpu: "1", memory: "2Gi"}},
			want:   []outcome{{Key: "default/a", Placement: "n2"}},
		},
		{
			name:   "cpu counts too",
			others: []corev1.Node{newNode("n2", allocatable("2", "64Gi"))},
			movers: []mover{{name: "a", cpu: "4", memory: "1Gi"}},
			want: []outcome{{Key: "default/a", Reasons: insufficient(
				"no room once the VMs that can leave are placed together: it needs cpu 4 and memory 1Gi, and none of its 1 target node(s) has that free (most free memory: n2 with cpu 2, memory 64Gi)")}},
		},
		{
			name:   "pod overhead counted",
			others: []corev1.Node{newNode("n2", allocatable("16", "2560Mi"))},
			movers: []mover{{name: "a", cpu: "1", memory: "2Gi", podOpts: []podOpt{podOverhead("100m", "1Gi")}}},
			want: []outcome{{Key: "default/a", Reasons: insufficient(
				"no room once the VMs that can leave are placed together: it needs cpu 1100m and memory 3Gi, and none of its 1 target node(s) has that free (most free memory: n2 with cpu 16, memory 2560Mi)")}},
		},
		{
			name:   "no requests fit an overcommitted node",
			others: []corev1.Node{newNode("n2", allocatable("1", "1Gi"))},
			pods:   []corev1.Pod{newPod("kube-system", "big", "n2", "2", "2Gi")},
			movers: []mover{{name: "a", cpu: "", memory: ""}},
			want:   []outcome{{Key: "default/a", Placement: "n2"}},
		},
		{
			name:   "VMs that cannot leave take no room",
			others: []corev1.Node{newNode("n2", allocatable("16", "4Gi"))},
			movers: []mover{{name: "a", cpu: "1", memory: "4Gi", opts: []vmiOpt{hostDevice("nic", "")}}, {name: "b", cpu: "1", memory: "4Gi"}},
			want: []outcome{
				{Key: "default/a", Reasons: []Reason{{Code: ReasonHostDevices, Message: "has host devices: nic"}}},
				{Key: "default/b", Placement: "n2"},
			},
		},
		{
			name:      "no pods: skipped with a warning",
			others:    []corev1.Node{newNode("n2")},
			movers:    []mover{{name: "a", noLauncher: true}},
			podsKnown: new(false),
			want:      []outcome{{Key: "default/a"}},
			warnings:  []string{"capacity check skipped: the cluster state has no pods, so the room on the target nodes and what the VMs need are unknown"},
		},
		{
			name:   "unknown launcher: skipped for all with a warning",
			others: []corev1.Node{newNode("n2")},
			movers: []mover{
				{name: "a", noLauncher: true}, {name: "b", cpu: "1", memory: "1Gi"},
				{name: "c", noLauncher: true}, {name: "d", noLauncher: true}, {name: "e", noLauncher: true},
				{name: "f", noLauncher: true}, {name: "g", noLauncher: true},
			},
			want: []outcome{{Key: "default/a"}, {Key: "default/b"}, {Key: "default/c"}, {Key: "default/d"}, {Key: "default/e"}, {Key: "default/f"}, {Key: "default/g"}},
			warnings: []string{
				"capacity check skipped: the virt-launcher pod of default/a, default/c, default/d, default/e, default/f and 1 more is unknown, so what it needs is unknown",
			},
		},
		{
			name:   "unknown launcher of a VM that cannot leave does not matter",
			others: []corev1.Node{newNode("n2")},
			movers: []mover{{name: "a", noLauncher: true, opts: []vmiOpt{gpu("g", "")}}, {name: "b", cpu: "1", memory: "1Gi"}},
			want: []outcome{
				{Key: "default/a", Reasons: []Reason{{Code: ReasonGPUs, Message: "has GPUs: g"}}},
				{Key: "default/b", Placement: "n2"},
			},
		},
		{
			name:     "target without allocatable: skipped with a warning",
			others:   []corev1.Node{newNode("n2", allocatable("16", "")), newNode("n3", allocatable("", "")), newNode("n4")},
			movers:   []mover{{name: "a", cpu: "1", memory: "1Gi"}},
			want:     []outcome{{Key: "default/a"}},
			warnings: []string{"capacity check skipped: target node(s) n2, n3 report no allocatable cpu or memory"},
		},
		{
			name:   "both skips warn",
			others: []corev1.Node{newNode("n2", allocatable("0", "1Gi"))},
			movers: []mover{{name: "a", noLauncher: true}},
			want:   []outcome{{Key: "default/a"}},
			warnings: []string{
				"capacity check skipped: the virt-launcher pod of default/a is unknown, so what it needs is unknown",
				"capacity check skipped: target node(s) n2 report no allocatable cpu or memory",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := ClusterState{Nodes: append([]corev1.Node{newNode("n1")}, tt.others...), Pods: tt.pods, PodsKnown: true}
			if tt.podsKnown != nil {
				state.PodsKnown = *tt.podsKnown
			}
			for _, m := range tt.movers {
				vmi := newVMI("default", m.name, "n1", m.opts...)
				state.VMIs = append(state.VMIs, vmi)
				if !m.noLauncher {
					state.Pods = append(state.Pods, newLauncher(vmi, append([]podOpt{podRequests(m.cpu, m.memory)}, m.podOpts...)...))
				}
			}
			report, err := Analyze("n1", state)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			var got []outcome
			for _, v := range report.VMs {
				got = append(got, outcome{Key: v.Key(), Placement: v.Placement, Reasons: v.Reasons})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			warnings := tt.warnings
			if warnings == nil {
				warnings = []string{}
			}
			if diff := cmp.Diff(warnings, report.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCapacityKeepsNonMigratableSorted checks that VMs failing the capacity check join the
// sorted non-migratable list.
func TestCapacityKeepsNonMigratableSorted(t *testing.T) {
	state := ClusterState{Nodes: []corev1.Node{newNode("n1"), newNode("n2", allocatable("16", "4Gi"))}, PodsKnown: true}
	for _, name := range []string{"d", "c", "b", "a"} {
		vmi := newVMI("default", name, "n1")
		state.VMIs = append(state.VMIs, vmi)
		state.Pods = append(state.Pods, newLauncher(vmi, podRequests("1", "2Gi")))
	}
	state.VMIs = append(state.VMIs, newVMI("default", "e", "n1", hostDevice("nic", "")))
	report, err := Analyze("n1", state)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if diff := cmp.Diff([]string{"default/c", "default/d", "default/e"}, report.NonMigratable); diff != "" {
		t.Errorf("non-migratable (-want +got):\n%s", diff)
	}
}
