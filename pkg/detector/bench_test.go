package detector

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// benchState is a 1,000-node cluster whose node-0000 carries 500 running VMIs, each with its
// virt-launcher pod, and every node carries 4 other pods. A few nodes are witnesses, cordoned,
// not Ready or tainted; a few VMs have devices, node selectors or their own tolerations, so
// that every path of the analysis runs.
func benchState() ClusterState {
	const nodes, vmis, podsPerNode = 1000, 500, 4
	var state ClusterState
	state.PodsKnown = true
	for i := range nodes {
		name := fmt.Sprintf("node-%04d", i)
		var opts []nodeOpt
		opts = append(opts, allocatable("64", "256Gi"), nodeLabel("kubevirt.io/schedulable", "true"),
			nodeLabel("cpu-model.node.kubevirt.io/Skylake-Client-IBRS", "true"))
		switch {
		case i > 0 && i%100 == 0:
			opts = append(opts, witness())
		case i%97 == 0:
			opts = append(opts, cordoned())
		case i%89 == 0:
			opts = append(opts, notReady(corev1.ConditionFalse))
		case i%10 == 3:
			opts = append(opts, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule))
		case i%10 == 7:
			opts = append(opts, taint("spot", "", corev1.TaintEffectPreferNoSchedule))
		}
		state.Nodes = append(state.Nodes, newNode(name, opts...))
		for j := range podsPerNode {
			state.Pods = append(state.Pods, newPod("kube-system", fmt.Sprintf("%s-pod-%d", name, j), name, "250m", "512Mi"))
		}
	}
	for i := range vmis {
		var opts []vmiOpt
		switch {
		case i%50 == 1:
			opts = append(opts, hostDevice("nic", "intel.com/82599"))
		case i%50 == 2:
			opts = append(opts, nodeSelector("zone", "a"))
		}
		vmi := newVMI(fmt.Sprintf("ns-%d", i%20), fmt.Sprintf("vm-%03d", i), "node-0000", opts...)
		state.VMIs = append(state.VMIs, vmi)
		podOpts := []podOpt{
			podRequests(fmt.Sprintf("%d", 1+i%4), fmt.Sprintf("%dGi", 2+i%8)),
			podNodeSelector("kubevirt.io/schedulable", "true", "cpu-model.node.kubevirt.io/Skylake-Client-IBRS", "true"),
		}
		if i%25 == 0 {
			podOpts = append(podOpts, podToleration("dedicated", "gpu", corev1.TaintEffectNoSchedule))
		}
		state.Pods = append(state.Pods, newLauncher(vmi, podOpts...))
	}
	return state
}

func BenchmarkAnalyze500VMIs1000Nodes(b *testing.B) {
	state := benchState()
	report, err := Analyze("node-0000", state)
	if err != nil {
		b.Fatalf("Analyze: %v", err)
	}
	if len(report.VMs) != 500 || len(report.NonMigratable) != 20 || len(report.Warnings) != 0 {
		b.Fatalf("unexpected report: %d VMs, %d non-migratable, warnings %v", len(report.VMs), len(report.NonMigratable), report.Warnings)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze("node-0000", state); err != nil {
			b.Fatal(err)
		}
	}
}
