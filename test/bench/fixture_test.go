package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
)

// The taint on the fixture's last node, which the tolerating VMs tolerate.
const (
	dedicatedKey   = "dedicated"
	dedicatedValue = "gpu"
)

// namespaces is how many namespaces the VMs are spread over.
const namespaces = 10

// vmKind is the part a VM plays in the fixture's mix, chosen by its index modulo 25 so that
// every kind shows up from 6 VMs on: per 25 VMs, one pinned, one with a host device, one that
// KubeVirt says cannot migrate, one with a vGPU, one tolerating the dedicated taint and 20
// plain ones (so 16% of the VMs cannot leave their node for reasons of their own).
type vmKind int

const (
	plainVM vmKind = iota
	pinnedVM
	hostDeviceVM
	notMigratableVM
	gpuVM
	toleratingVM
)

func kindOf(i int) vmKind {
	if k := vmKind(i % 25); k <= toleratingVM {
		return k
	}
	return plainVM
}

// fixtureVM is one running VM: the VirtualMachine, its VMI and its virt-launcher pod.
type fixtureVM struct {
	vm  *kubevirtv1.VirtualMachine
	vmi *kubevirtv1.VirtualMachineInstance
	pod *corev1.Pod
}

// fixture is a cluster state built with testenv's builders: nodes, running VMs, and the other
// pods on the nodes. Its objects carry made-up UIDs so that state can hand them to the
// analysis as they are; load writes copies through an API server, which assigns its own.
type fixture struct {
	nodes []*corev1.Node
	vms   []fixtureVM
	// pods are the pods that are not virt-launchers: two running system pods per node and a
	// finished job pod.
	pods       []*corev1.Pod
	namespaces []string
}

// newFixture returns nodes nodes (node-00, node-01, ...) each carrying perNode running VMs.
// Nodes have 64 CPUs and 512Gi allocatable. With 3 nodes or more the last node is tainted
// dedicated=gpu:NoSchedule and the one before it is cordoned; both still carry their VMs.
// VM i (vm-0000, ...) runs on node i/perNode in namespace bench-(i%10) and is of kind
// kindOf(i); its launcher pod requests 100m to 400m CPU and 2Gi to 8Gi of memory.
func newFixture(nodes, perNode int) *fixture {
	f := &fixture{}
	for k := range nodes {
		n := testenv.NewNode(nodeName(k))
		res := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("64"),
			corev1.ResourceMemory: resource.MustParse("512Gi"),
			corev1.ResourcePods:   resource.MustParse("250"),
		}
		n.Status.Capacity, n.Status.Allocatable = res, res.DeepCopy()
		if nodes >= 3 {
			switch k {
			case nodes - 1:
				n.Spec.Taints = []corev1.Taint{{Key: dedicatedKey, Value: dedicatedValue, Effect: corev1.TaintEffectNoSchedule}}
			case nodes - 2:
				n.Spec.Unschedulable = true
			}
		}
		f.nodes = append(f.nodes, n)
		f.pods = append(f.pods,
			systemPod(n.Name, "canal", "250m", "256Mi", corev1.PodRunning),
			systemPod(n.Name, "kube-proxy", "100m", "128Mi", corev1.PodRunning),
			systemPod(n.Name, "backup-job", "500m", "1Gi", corev1.PodSucceeded))
	}
	seen := map[string]bool{}
	for i := range nodes * perNode {
		node := nodeName(i / perNode)
		vm := testenv.NewVM(fmt.Sprintf("bench-%d", i%namespaces), fmt.Sprintf("vm-%04d", i))
		if !seen[vm.Namespace] {
			seen[vm.Namespace] = true
			f.namespaces = append(f.namespaces, vm.Namespace)
		}
		vm.UID = types.UID(fmt.Sprintf("uid-vm-%04d", i))
		spec := &vm.Spec.Template.Spec
		kind := kindOf(i)
		switch kind {
		case pinnedVM:
			spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
		case hostDeviceVM:
			spec.Domain.Devices.HostDevices = []kubevirtv1.HostDevice{{Name: "nic1", DeviceName: "intel.com/82599_ETHERNET"}}
		case gpuVM:
			spec.Domain.Devices.GPUs = []kubevirtv1.GPU{{Name: "gpu1", DeviceName: "nvidia.com/GRID_T4-1Q"}}
		case toleratingVM:
			spec.Tolerations = []corev1.Toleration{{Key: dedicatedKey, Operator: corev1.TolerationOpEqual,
				Value: dedicatedValue, Effect: corev1.TaintEffectNoSchedule}}
		}
		vmi := testenv.NewVMI(vm, node)
		vmi.UID = types.UID(fmt.Sprintf("uid-vmi-%04d", i))
		if kind == notMigratableVM {
			for c := range vmi.Status.Conditions {
				if vmi.Status.Conditions[c].Type == kubevirtv1.VirtualMachineInstanceIsMigratable {
					vmi.Status.Conditions[c].Status = corev1.ConditionFalse
					vmi.Status.Conditions[c].Reason = kubevirtv1.VirtualMachineInstanceReasonDisksNotMigratable
					vmi.Status.Conditions[c].Message = "cannot migrate VMI: PVC rootdisk is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)"
				}
			}
		}
		pod := testenv.NewLauncherPod(vmi, fmt.Sprintf("%dm", 100*(1+i%4)), fmt.Sprintf("%dGi", 2+i%7))
		f.vms = append(f.vms, fixtureVM{vm: vm, vmi: vmi, pod: pod})
	}
	sort.Strings(f.namespaces)
	return f
}

func nodeName(k int) string { return fmt.Sprintf("node-%02d", k) }

// systemPod returns a pod of kube-system on node with one container requesting cpu and memory.
func systemPod(node, name, cpu, memory string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: name + "-" + node},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: new(bool),
			Containers: []corev1.Container{{
				Name: name, Image: "registry.example/" + name + ":v1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
				}},
			}},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// objects is how many objects load creates (namespaces aside).
func (f *fixture) objects() int { return len(f.nodes) + 3*len(f.vms) + len(f.pods) }

// state returns the fixture as a ClusterState, everything in it, pods known.
func (f *fixture) state() detector.ClusterState {
	s := detector.ClusterState{PodsKnown: true}
	for _, n := range f.nodes {
		s.Nodes = append(s.Nodes, *n.DeepCopy())
	}
	for _, v := range f.vms {
		s.VMs = append(s.VMs, *v.vm.DeepCopy())
		s.VMIs = append(s.VMIs, *v.vmi.DeepCopy())
		s.Pods = append(s.Pods, *v.pod.DeepCopy())
	}
	for _, p := range f.pods {
		s.Pods = append(s.Pods, *p.DeepCopy())
	}
	return s
}

// load creates copies of the fixture's objects through env's API server with workers
// requests in flight, and writes their status as the controllers that do not run there would:
// nodes, then namespaces, then each VM with its VMI and its launcher pod (their owner
// references and kubevirt.io/created-by label pointing at the UIDs the server gave), and the
// other pods.
func (f *fixture) load(ctx context.Context, env *testenv.Env, workers int) error {
	if err := parallel(len(f.nodes), workers, func(i int) error {
		_, err := env.CreateNode(ctx, f.nodes[i].DeepCopy())
		return err
	}); err != nil {
		return err
	}
	for _, ns := range append([]string{metav1.NamespaceSystem}, f.namespaces...) {
		if err := env.EnsureNamespace(ctx, ns); err != nil {
			return err
		}
	}
	if err := parallel(len(f.vms), workers, func(i int) error {
		return loadVM(ctx, env, f.vms[i])
	}); err != nil {
		return err
	}
	return parallel(len(f.pods), workers, func(i int) error {
		return createPod(ctx, env, f.pods[i].DeepCopy())
	})
}

func loadVM(ctx context.Context, env *testenv.Env, v fixtureVM) error {
	vm, vmi, pod := v.vm.DeepCopy(), v.vmi.DeepCopy(), v.pod.DeepCopy()
	vm.UID, vmi.UID, pod.UID = "", "", ""
	vmStatus := kubevirtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}
	if err := env.Client.Create(ctx, vm); err != nil {
		return fmt.Errorf("create vm %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	vm.Status = vmStatus
	if err := env.Client.Status().Update(ctx, vm); err != nil {
		return fmt.Errorf("update vm %s/%s status: %w", vm.Namespace, vm.Name, err)
	}
	vmi.OwnerReferences[0].UID = vm.UID
	created, err := env.CreateVMI(ctx, vmi)
	if err != nil {
		return err
	}
	pod.OwnerReferences[0].UID = created.UID
	pod.Labels[testenv.CreatedByLabel] = string(created.UID)
	return createPod(ctx, env, pod)
}

// createPod is testenv's CreatePod without its namespace check (load made the namespaces).
func createPod(ctx context.Context, env *testenv.Env, pod *corev1.Pod) error {
	status := pod.Status
	created, err := env.Kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	created.Status = status
	if _, err := env.Kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update pod %s/%s status: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// parallel calls fn(0) ... fn(n-1) from workers goroutines and returns the first error; after
// an error no new call starts.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range min(workers, n) {
		wg.Go(func() {
			for i, ok := take(); ok; i, ok = take() {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// TestFixture checks the fixture's mix on a small size: what it holds, and what the detector
// makes of node-00, whose only possible target (node-00 aside, node-01 is cordoned and node-02
// tainted) is ruled out for every VM but the tolerating one.
func TestFixture(t *testing.T) {
	f := newFixture(3, 2)
	if got, want := f.objects(), 3+3*6+9; got != want {
		t.Errorf("objects() = %d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"bench-0", "bench-1", "bench-2", "bench-3", "bench-4", "bench-5"}, f.namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}

	// Each VM's node and kind, from the objects themselves.
	type vmFacts struct {
		Node, Pod          string
		Pinned, Tolerating bool
		HostDevices, GPUs  int
		Migratable         corev1.ConditionStatus
		Owner, CreatedBy   types.UID
	}
	got := map[string]vmFacts{}
	for _, v := range f.vms {
		facts := vmFacts{
			Node: v.vmi.Status.NodeName, Pod: v.pod.Spec.NodeName,
			Pinned: v.vmi.Spec.NodeSelector != nil, Tolerating: len(v.pod.Spec.Tolerations) > 0,
			HostDevices: len(v.vmi.Spec.Domain.Devices.HostDevices), GPUs: len(v.vmi.Spec.Domain.Devices.GPUs),
			Owner: v.vmi.OwnerReferences[0].UID, CreatedBy: types.UID(v.pod.Labels[testenv.CreatedByLabel]),
		}
		for _, c := range v.vmi.Status.Conditions {
			if c.Type == kubevirtv1.VirtualMachineInstanceIsMigratable {
				facts.Migratable = c.Status
			}
		}
		got[v.vmi.Namespace+"/"+v.vmi.Name] = facts
	}
	want := map[string]vmFacts{
		"bench-0/vm-0000": {Node: "node-00", Pod: "node-00", Migratable: "True", Owner: "uid-vm-0000", CreatedBy: "uid-vmi-0000"},
		"bench-1/vm-0001": {Node: "node-00", Pod: "node-00", Pinned: true, Migratable: "True", Owner: "uid-vm-0001", CreatedBy: "uid-vmi-0001"},
		"bench-2/vm-0002": {Node: "node-01", Pod: "node-01", HostDevices: 1, Migratable: "True", Owner: "uid-vm-0002", CreatedBy: "uid-vmi-0002"},
		"bench-3/vm-0003": {Node: "node-01", Pod: "node-01", Migratable: "False", Owner: "uid-vm-0003", CreatedBy: "uid-vmi-0003"},
		"bench-4/vm-0004": {Node: "node-02", Pod: "node-02", GPUs: 1, Migratable: "True", Owner: "uid-vm-0004", CreatedBy: "uid-vmi-0004"},
		"bench-5/vm-0005": {Node: "node-02", Pod: "node-02", Tolerating: true, Migratable: "True", Owner: "uid-vm-0005", CreatedBy: "uid-vmi-0005"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VMs (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		node string
		want map[string][]detector.ReasonCode
	}{
		{"node-00", map[string][]detector.ReasonCode{
			"bench-0/vm-0000": {detector.ReasonNoTargetNode},
			"bench-1/vm-0001": {detector.ReasonNodeSelector, detector.ReasonNoTargetNode},
		}},
		{"node-01", map[string][]detector.ReasonCode{
			"bench-2/vm-0002": {detector.ReasonHostDevices},
			"bench-3/vm-0003": {detector.ReasonNotLiveMigratable},
		}},
		{"node-02", map[string][]detector.ReasonCode{
			"bench-4/vm-0004": {detector.ReasonGPUs},
			"bench-5/vm-0005": nil,
		}},
	} {
		t.Run(tc.node, func(t *testing.T) {
			report, err := detector.Analyze(tc.node, f.state())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]detector.ReasonCode{}
			for _, v := range report.VMs {
				var codes []detector.ReasonCode
				for _, r := range v.Reasons {
					codes = append(codes, r.Code)
				}
				got[v.Key()] = codes
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}
