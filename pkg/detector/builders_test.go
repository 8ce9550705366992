package detector

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// Builders of the objects the tests feed the analysis. Each takes options that change the
// default object.

type nodeOpt func(*corev1.Node)

// newNode returns a Ready node with 16 CPUs and 64Gi of allocatable memory.
func newNode(name string, opts ...nodeOpt) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("64Gi")},
		},
	}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func nodeLabel(k, v string) nodeOpt { return func(n *corev1.Node) { n.Labels[k] = v } }
func witness() nodeOpt              { return nodeLabel(WitnessLabel, "") }
func cordoned() nodeOpt             { return func(n *corev1.Node) { n.Spec.Unschedulable = true } }
func notReady(status corev1.ConditionStatus) nodeOpt {
	return func(n *corev1.Node) { n.Status.Conditions[0].Status = status }
}
func noConditions() nodeOpt { return func(n *corev1.Node) { n.Status.Conditions = nil } }
func taint(key, value string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}
func allocatable(cpu, memory string) nodeOpt {
	return func(n *corev1.Node) {
		n.Status.Allocatable = corev1.ResourceList{}
		if cpu != "" {
			n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			n.Status.Allocatable[corev1.ResourceMemory] = resource.MustParse(memory)
		}
	}
}

type vmiOpt func(*kubevirtv1.VirtualMachineInstance)

// newVMI returns a VMI Running on node, owned by a VirtualMachine of the same name, with UID
// "uid-NS-NAME" and the kubevirt.io/nodeName label.
func newVMI(ns, name, node string, opts ...vmiOpt) kubevirtv1.VirtualMachineInstance {
	v := kubevirtv1.VirtualMachineInstance{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name),
			Labels: map[string]string{kubevirtv1.NodeNameLabel: node},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine", Name: name, UID: types.UID("vm-uid-" + ns + "-" + name),
			}},
		},
		Status: kubevirtv1.VirtualMachineInstanceStatus{NodeName: node, Phase: kubevirtv1.Running},
	}
	for _, o := range opts {
		o(&v)
	}
	return v
}

func phase(p kubevirtv1.VirtualMachineInstancePhase) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.Status.Phase = p }
}
func onlyLabelNode() vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.Status.NodeName = "" }
}
func vmiLabel(k, val string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.Labels[k] = val }
}
func noOwner() vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.OwnerReferences = nil }
}
func nodeSelector(kv ...string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.Spec.NodeSelector = pairs(kv...) }
}
func hostDevice(name, deviceName string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) {
		v.Spec.Domain.Devices.HostDevices = append(v.Spec.Domain.Devices.HostDevices, kubevirtv1.HostDevice{Name: name, DeviceName: deviceName})
	}
}
func gpu(name, deviceName string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) {
		v.Spec.Domain.Devices.GPUs = append(v.Spec.Domain.Devices.GPUs, kubevirtv1.GPU{Name: name, DeviceName: deviceName})
	}
}
func condition(t kubevirtv1.VirtualMachineInstanceConditionType, status corev1.ConditionStatus, reason, message string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) {
		v.Status.Conditions = append(v.Status.Conditions, kubevirtv1.VirtualMachineInstanceCondition{
			Type: t, Status: status, Reason: reason, Message: message,
		})
	}
}
func vmiAffinity(key string, values ...string) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) { v.Spec.Affinity = requireLabel(key, values...) }
}
func vmiToleration(key, value string, effect corev1.TaintEffect) vmiOpt {
	return func(v *kubevirtv1.VirtualMachineInstance) {
		v.Spec.Tolerations = append(v.Spec.Tolerations, toleration(key, value, effect))
	}
}

type podOpt func(*corev1.Pod)

// newLauncher returns the Running virt-launcher pod of vmi on its node, labelled as KubeVirt
// does, requesting 1 CPU and 2Gi.
func newLauncher(vmi kubevirtv1.VirtualMachineInstance, opts ...podOpt) corev1.Pod {
	p := newPod(vmi.Namespace, "virt-launcher-"+vmi.Name+"-abcde", vmiNodeName(&vmi), "1", "2Gi")
	p.Labels = map[string]string{kubevirtv1.AppLabel: "virt-launcher", kubevirtv1.CreatedByLabel: string(vmi.UID)}
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "kubevirt.io/v1", Kind: "VirtualMachineInstance", Name: vmi.Name, UID: vmi.UID}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// newPod returns a Running pod on node with one container requesting cpu and memory
// (none when empty).
func newPod(ns, name, node, cpu, memory string, opts ...podOpt) corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{Requests: req}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func podPhase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func podNode(node string) podOpt         { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
func podName(name string) podOpt         { return func(p *corev1.Pod) { p.Name = name } }
func podNodeSelector(kv ...string) podOpt {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = pairs(kv...) }
}
func podAffinity(key string, values ...string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Affinity = requireLabel(key, values...) }
}
func podToleration(key, value string, effect corev1.TaintEffect) podOpt {
	return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, toleration(key, value, effect)) }
}
func onlyOwnerRef() podOpt { return func(p *corev1.Pod) { p.Labels = nil } }
func onlyLabels() podOpt   { return func(p *corev1.Pod) { p.OwnerReferences = nil } }
func podOverhead(cpu, memory string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
	}
}

func newVM(ns, name string, labels map[string]string) kubevirtv1.VirtualMachine {
	return kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func pairs(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func requireLabel(key string, values ...string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}},
		}}},
	}}
}

func toleration(key, value string, effect corev1.TaintEffect) corev1.Toleration {
	if value == "" {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: effect}
}

// withLaunchers returns state with a virt-launcher pod for each of its VMIs and PodsKnown set.
func withLaunchers(state ClusterState) ClusterState {
	for _, v := range state.VMIs {
		state.Pods = append(state.Pods, newLauncher(v))
	}
	state.PodsKnown = true
	return state
}

func podRequests(cpu, memory string) podOpt {
	return func(p *corev1.Pod) {
		req := corev1.ResourceList{}
		if cpu != "" {
			req[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			req[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		p.Spec.Containers[0].Resources.Requests = req
	}
}
