package testenv

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

// Labels and values that Cloudweav and KubeVirt put on objects.
const (
	WitnessLabel      = "node-role.cloudweavhci.io/witness"
	UpgradeLabel      = "cloudweavhci.io/upgrade"
	VMINodeNameLabel  = "kubevirt.io/nodeName"
	SchedulableLabel  = "kubevirt.io/schedulable"
	LauncherLabel     = "kubevirt.io"
	LauncherValue     = "virt-launcher"
	CreatedByLabel    = "kubevirt.io/created-by"
	VMNameLabel       = "vm.kubevirt.io/name"
	SystemNamespace   = "cloudweav-system"
	defaultNodeCPU    = "16"
	defaultNodeMemory = "64Gi"
)

// NewNode returns a schedulable worker node with 16 CPUs and 64Gi of memory allocatable and the
// Ready condition.
func NewNode(name string) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(defaultNodeCPU),
		corev1.ResourceMemory: resource.MustParse(defaultNodeMemory),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				SchedulableLabel:         "true",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "kubelet is posting ready status",
			}},
		},
	}
}

// NewWitnessNode returns a node carrying the witness label.
func NewWitnessNode(name string) *corev1.Node {
	n := NewNode(name)
	n.Labels[WitnessLabel] = "true"
	return n
}

// NewVM returns a VirtualMachine with run strategy Always and a small container-disk template.
func NewVM(namespace, name string) *kubevirtv1.VirtualMachine {
	strategy := kubevirtv1.RunStrategyAlways
	return &kubevirtv1.VirtualMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: kubevirtv1.VirtualMachineSpec{
			RunStrategy: &strategy,
			Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{VMNameLabel: name}},
				Spec:       kubevirtv1.VirtualMachineInstanceSpec{Domain: kubevirtv1.DomainSpec{}},
			},
		},
	}
}

// NewVMI returns a Running VMI of vm on node, with the VM's template spec, owned by the VM
// (the owner's UID is filled in when the VM has one), and LiveMigratable True.
func NewVMI(vm *kubevirtv1.VirtualMachine, node string) *kubevirtv1.VirtualMachineInstance {
	vmi := &kubevirtv1.VirtualMachineInstance{
		TypeMeta: metav1.TypeMeta{APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachineInstance"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: vm.Namespace,
			Name:      vm.Name,
			Labels:    map[string]string{VMINodeNameLabel: node, VMNameLabel: vm.Name},
		},
		Status: kubevirtv1.VirtualMachineInstanceStatus{
			Phase:    kubevirtv1.Running,
			NodeName: node,
			Conditions: []kubevirtv1.VirtualMachineInstanceCondition{
				{Type: kubevirtv1.VirtualMachineInstanceReady, Status: corev1.ConditionTrue},
				{Type: kubevirtv1.VirtualMachineInstanceIsMigratable, Status: corev1.ConditionTrue},
			},
		},
	}
	if vm.Spec.Template != nil {
		vm.Spec.Template.Spec.DeepCopyInto(&vmi.Spec)
	}
	for k, v := range vm.Labels {
		if k == UpgradeLabel {
			vmi.Labels[k] = v
		}
	}
	vmi.OwnerReferences = []metav1.OwnerReference{vmOwnerReference(vm)}
	return vmi
}

func vmOwnerReference(vm *kubevirtv1.VirtualMachine) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachine",
		Name: vm.Name, UID: vm.UID, Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// NewLauncherPod returns the Running virt-launcher pod of vmi on its node, requesting cpu and
// memory (for example "1" and "2Gi"), owned by the VMI and selecting kubevirt.io/schedulable
// nodes as KubeVirt does. The VMI's affinity and tolerations are copied onto the pod.
func NewLauncherPod(vmi *kubevirtv1.VirtualMachineInstance, cpu, memory string) *corev1.Pod {
	yes := true
	nodeSelector := map[string]string{SchedulableLabel: "true"}
	for k, v := range vmi.Spec.NodeSelector {
		nodeSelector[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: vmi.Namespace,
			Name:      fmt.Sprintf("virt-launcher-%s-abcde", vmi.Name),
			Labels: map[string]string{
				LauncherLabel:  LauncherValue,
				CreatedByLabel: string(vmi.UID),
				VMNameLabel:    vmi.Name,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachineInstance",
				Name: vmi.Name, UID: vmi.UID, Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:                     vmi.Status.NodeName,
			NodeSelector:                 nodeSelector,
			Affinity:                     vmi.Spec.Affinity.DeepCopy(),
			Tolerations:                  append([]corev1.Toleration(nil), vmi.Spec.Tolerations...),
			AutomountServiceAccountToken: new(bool),
			Containers: []corev1.Container{{
				Name:  "compute",
				Image: "registry.example/kubevirt/virt-launcher:v1.9.0",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse(cpu),
					corev1.ResourceMemory: resource.MustParse(memory),
				}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	return pod
}

// NewUpgrade returns an Upgrade in cloudweav-system from previous to target, with repoInfo
// naming minUpgradable (left out when empty).
func NewUpgrade(name, previous, target, minUpgradable string) *cloudweavv1beta1.Upgrade {
	repoInfo := fmt.Sprintf("release:\n  cloudweav: %s\n  cloudweavChart: %s\n  os: Cloudweav OS %s\n  kubernetes: v1.30.4+rke2r1\n",
		target, trimV(target), target)
	if minUpgradable != "" {
		repoInfo += fmt.Sprintf("  minUpgradableVersion: %s\n", minUpgradable)
	}
	return &cloudweavv1beta1.Upgrade{
		TypeMeta:   metav1.TypeMeta{APIVersion: cloudweavv1beta1.SchemeGroupVersion.String(), Kind: "Upgrade"},
		ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: name},
		Spec:       cloudweavv1beta1.UpgradeSpec{Version: target},
		Status:     cloudweavv1beta1.UpgradeStatus{PreviousVersion: previous, RepoInfo: repoInfo},
	}
}

// NewVersion returns a Version named name in cloudweav-system.
func NewVersion(name, minUpgradable string) *cloudweavv1beta1.Version {
	return &cloudweavv1beta1.Version{
		TypeMeta:   metav1.TypeMeta{APIVersion: cloudweavv1beta1.SchemeGroupVersion.String(), Kind: "Version"},
		ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: name},
		Spec: cloudweavv1beta1.VersionSpec{
			ISOURL:               fmt.Sprintf("https://releases.example/cloudweav/%s/cloudweav-%s-amd64.iso", name, name),
			ReleaseDate:          "2026-11-20",
			MinUpgradableVersion: minUpgradable,
		},
	}
}

func trimV(v string) string {
	if len(v) > 0 && v[0] == 'v' {
		return v[1:]
	}
	return v
}
