package detector

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// threeNodes is a source node n1 and two empty targets n2 and n3.
func threeNodes() []corev1.Node {
	return []corev1.Node{newNode("n1"), newNode("n2"), newNode("n3")}
}

func TestAnalyzeRules(t *testing.T) {
	notShared := condition(kubevirtv1.VirtualMachineInstanceIsMigratable, corev1.ConditionFalse,
		"DisksNotLiveMigratable", "cannot migrate VMI: PVC disk0 is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)")
	notSharedReason := Reason{
		Code:           ReasonNotLiveMigratable,
		Message:        "KubeVirt reports it cannot live-migrate: DisksNotLiveMigratable: cannot migrate VMI: PVC disk0 is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)",
		KubeVirtReason: "DisksNotLiveMigratable",
	}
	nodeSelectorReason := Reason{Code: ReasonNodeSelector, Message: "has a node selector: kubernetes.io/hostname=n1, zone=a"}
	hostDevicesReason := Reason{Code: ReasonHostDevices, Message: "has host devices: nic (intel.com/82599), usb0"}
	gpusReason := Reason{Code: ReasonGPUs, Message: "has GPUs: gpu1 (nvidia.com/GRID_T4-1Q)"}
	noTargetReason := Reason{Code: ReasonNoTargetNode, Message: "0/3 nodes can take it: 1 source node, 2 untolerated taint dedicated=db:NoSchedule"}
	taintAll := []corev1.Node{newNode("n1"), newNode("n2", taint("dedicated", "db", corev1.TaintEffectNoSchedule)), newNode("n3", taint("dedicated", "db", corev1.TaintEffectNoSchedule))}

	tests := []struct {
		name  string
		nodes []corev1.Node
		opts  []vmiOpt
		want  VMVerdict
	}{
		{
			name: "no reason",
			want: VMVerdict{Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n2"},
		},
		{
			name: "node selector",
			opts: []vmiOpt{nodeSelector("zone", "a", "kubernetes.io/hostname", "n1")},
			want: VMVerdict{Reasons: []Reason{nodeSelectorReason}, Targets: []string{"n2", "n3"}},
		},
		{
			name: "host devices",
			opts: []vmiOpt{hostDevice("nic", "intel.com/82599"), hostDevice("usb0", "")},
			want: VMVerdict{Reasons: []Reason{hostDevicesReason}, Targets: []string{"n2", "n3"}},
		},
		{
			name: "gpus",
			opts: []vmiOpt{gpu("gpu1", "nvidia.com/GRID_T4-1Q")},
			want: VMVerdict{Reasons: []Reason{gpusReason}, Targets: []string{"n2", "n3"}},
		},
		{
			name: "kubevirt says not live-migratable",
			opts: []vmiOpt{notShared},
			want: VMVerdict{Reasons: []Reason{notSharedReason}, Targets: []string{"n2", "n3"}},
		},
		{
			name: "kubevirt says not live-migratable without reason or message",
			opts: []vmiOpt{condition(kubevirtv1.VirtualMachineInstanceIsMigratable, corev1.ConditionFalse, "", "")},
			want: VMVerdict{Reasons: []Reason{{Code: ReasonNotLiveMigratable, Message: "KubeVirt reports it cannot live-migrate"}}, Targets: []string{"n2", "n3"}},
		},
		{
			name: "kubevirt says live-migratable",
			opts: []vmiOpt{condition(kubevirtv1.VirtualMachineInstanceIsMigratable, corev1.ConditionTrue, "", "")},
			want: VMVerdict{Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n2"},
		},
		{
			name: "kubevirt unsure is no reason",
			opts: []vmiOpt{condition(kubevirtv1.VirtualMachineInstanceIsMigratable, corev1.ConditionUnknown, "", "")},
			want: VMVerdict{Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n2"},
		},
		{
			name:  "no target node",
			nodes: taintAll,
			want:  VMVerdict{Reasons: []Reason{noTargetReason}},
		},
		{
			name: "host devices and gpus",
			opts: []vmiOpt{gpu("gpu1", "nvidia.com/GRID_T4-1Q"), hostDevice("nic", "intel.com/82599"), hostDevice("usb0", "")},
			want: VMVerdict{Reasons: []Reason{hostDevicesReason, gpusReason}, Targets: []string{"n2", "n3"}},
		},
		{
			name:  "every reason",
			nodes: taintAll,
			opts: []vmiOpt{notShared, gpu("gpu1", "nvidia.com/GRID_T4-1Q"), hostDevice("nic", "intel.com/82599"),
				hostDevice("usb0", ""), nodeSelector("zone", "a", "kubernetes.io/hostname", "n1")},
			want: VMVerdict{Reasons: []Reason{nodeSelectorReason, hostDevicesReason, gpusReason, notSharedReason, noTargetReason}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := tt.nodes
			if nodes == nil {
				nodes = threeNodes()
			}
			state := withLaunchers(ClusterState{Nodes: nodes, VMIs: []kubevirtv1.VirtualMachineInstance{newVMI("default", "vm", "n1", tt.opts...)}})
			report, err := Analyze("n1", state)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			want := tt.want
			want.Namespace, want.Name, want.Owned = "default", "vm", true
			if diff := cmp.Diff([]VMVerdict{want}, report.VMs); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			wantNon := []string{}
			if !want.Migratable {
				wantNon = []string{"default/vm"}
			}
			if diff := cmp.Diff(wantNon, report.NonMigratable); diff != "" {
				t.Errorf("non-migratable (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeUnknownNode(t *testing.T) {
	tests := []struct {
		name  string
		nodes []corev1.Node
	}{
		{name: "other nodes", nodes: threeNodes()},
		{name: "no nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := Analyze("ghost", ClusterState{Nodes: tt.nodes})
			if err == nil {
				t.Fatalf("Analyze of an unknown node returned %+v and no error", report)
			}
			if got := exitstatus.Code(err); got != exitstatus.Usage {
				t.Errorf("exit status = %d, want %d", got, exitstatus.Usage)
			}
			if !strings.Contains(err.Error(), `"ghost"`) {
				t.Errorf("error %q does not name the node", err)
			}
		})
	}
}

func TestAnalyzeSelectsVMIsOfTheNode(t *testing.T) {
	state := withLaunchers(ClusterState{
		Nodes: threeNodes(),
		VMIs: []kubevirtv1.VirtualMachineInstance{
			newVMI("default", "running", "n1"),
			newVMI("default", "by-label", "n1", onlyLabelNode()),
			newVMI("default", "elsewhere", "n2", hostDevice("nic", "")),
			newVMI("default", "elsewhere-label", "n3", onlyLabelNode(), hostDevice("nic", "")),
			newVMI("default", "pending", "n1", phase(kubevirtv1.Pending)),
			newVMI("default", "scheduling", "n1", phase(kubevirtv1.Scheduling)),
			newVMI("default", "scheduled", "n1", phase(kubevirtv1.Scheduled)),
			newVMI("b", "succeeded", "n1", phase(kubevirtv1.Succeeded), hostDevice("nic", "")),
			newVMI("a", "failed", "n1", phase(kubevirtv1.Failed)),
			newVMI("default", "unknown", "n1", phase(kubevirtv1.Unknown)),
			newVMI("default", "unset", "n1", phase("")),
			newVMI("default", "pending-elsewhere", "n2", phase(kubevirtv1.Pending)),
		},
	})
	report, err := Analyze("n1", state)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	want := &Report{
		Node:          "n1",
		NonMigratable: []string{},
		// The launchers of the VMIs elsewhere take room: n2 holds two, n3 one, so the first
		// VM goes to n3 and the second to n2, then as free as n3 and first by name.
		VMs: []VMVerdict{
			{Namespace: "default", Name: "by-label", Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n3", Owned: true},
			{Namespace: "default", Name: "running", Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n2", Owned: true},
		},
		Skipped: []SkippedVM{
			{Namespace: "a", Name: "failed", Phase: "Failed"},
			{Namespace: "b", Name: "succeeded", Phase: "Succeeded"},
			{Namespace: "default", Name: "pending", Phase: "Pending"},
			{Namespace: "default", Name: "scheduled", Phase: "Scheduled"},
			{Namespace: "default", Name: "scheduling", Phase: "Scheduling"},
			{Namespace: "default", Name: "unknown", Phase: "Unknown"},
			{Namespace: "default", Name: "unset", Phase: "Unset"},
		},
		Warnings: []string{},
	}
	if diff := cmp.Diff(want, report); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestAnalyzeSortsAndKeepsListsEmpty(t *testing.T) {
	t.Run("sorted", func(t *testing.T) {
		state := withLaunchers(ClusterState{
			Nodes: threeNodes(),
			VMIs: []kubevirtv1.VirtualMachineInstance{
				newVMI("ns", "b", "n1", hostDevice("nic", "")),
				newVMI("default", "z", "n1", gpu("g", "")),
				newVMI("ns", "a", "n1"),
				newVMI("default", "a", "n1", nodeSelector("k", "v")),
			},
		})
		report, err := Analyze("n1", state)
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		if diff := cmp.Diff([]string{"default/a", "default/z", "ns/b"}, report.NonMigratable); diff != "" {
			t.Errorf("non-migratable (-want +got):\n%s", diff)
		}
		var keys []string
		for _, v := range report.VMs {
			keys = append(keys, v.Key())
		}
		if diff := cmp.Diff([]string{"default/a", "default/z", "ns/a", "ns/b"}, keys); diff != "" {
			t.Errorf("verdict order (-want +got):\n%s", diff)
		}
	})
	t.Run("empty lists are [] in JSON", func(t *testing.T) {
		report, err := Analyze("n1", ClusterState{Nodes: threeNodes()})
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		got, err := json.Marshal(report)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		want := `{"node":"n1","nonMigratable":[],"vms":[],"skipped":[],"warnings":[]}`
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("json (-want +got):\n%s", diff)
		}
	})
}

func TestAnalyzeFacts(t *testing.T) {
	tests := []struct {
		name   string
		vms    []kubevirtv1.VirtualMachine
		opts   []vmiOpt
		owned  bool
		upg    bool
		paused bool
	}{
		{name: "owner reference", owned: true},
		{name: "no owner", opts: []vmiOpt{noOwner()}},
		{name: "VM of the same name", opts: []vmiOpt{noOwner()}, vms: []kubevirtv1.VirtualMachine{newVM("default", "vm", nil)}, owned: true},
		{name: "VM of another namespace", opts: []vmiOpt{noOwner()}, vms: []kubevirtv1.VirtualMachine{newVM("other", "vm", nil)}},
		{name: "upgrade label on the VM", vms: []kubevirtv1.VirtualMachine{newVM("default", "vm", map[string]string{UpgradeLabel: "hvst-upgrade-1"})}, owned: true, upg: true},
		{name: "upgrade label on the VMI", opts: []vmiOpt{vmiLabel(UpgradeLabel, "hvst-upgrade-1")}, owned: true, upg: true},
		{name: "empty upgrade label", opts: []vmiOpt{vmiLabel(UpgradeLabel, "")}, vms: []kubevirtv1.VirtualMachine{newVM("default", "vm", map[string]string{UpgradeLabel: ""})}, owned: true},
		{name: "paused", opts: []vmiOpt{condition(kubevirtv1.VirtualMachineInstancePaused, corev1.ConditionTrue, "PausedByUser", "")}, owned: true, paused: true},
		{name: "not paused", opts: []vmiOpt{condition(kubevirtv1.VirtualMachineInstancePaused, corev1.ConditionFalse, "", "")}, owned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := withLaunchers(ClusterState{Nodes: threeNodes(), VMs: tt.vms, VMIs: []kubevirtv1.VirtualMachineInstance{newVMI("default", "vm", "n1", tt.opts...)}})
			report, err := Analyze("n1", state)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			want := []VMVerdict{{Namespace: "default", Name: "vm", Migratable: true, Targets: []string{"n2", "n3"}, Placement: "n2",
				Owned: tt.owned, UpgradeOwned: tt.upg, Paused: tt.paused}}
			if diff := cmp.Diff(want, report.VMs); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}
