package testenv

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

// EnsureNamespace creates the namespace and its default ServiceAccount (which pods need and
// no controller creates here) unless they exist.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "default"}}
	if _, err := e.Kube.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service account %s/default: %w", name, err)
	}
	return nil
}

// CreateNode creates node and then does what a node controller would: writes its status (the
// Ready condition and resources) and removes the node.kubernetes.io/not-ready taint that
// admission put on it, keeping any taint the node was given. It returns the stored node.
func (e *Env) CreateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	status := node.Status
	wantTaints := node.Spec.Taints
	created, err := e.Kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create node %s: %w", node.Name, err)
	}
	created.Status = status
	if created, err = e.Kube.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("update node %s status: %w", node.Name, err)
	}
	created.Spec.Taints = wantTaints
	if created, err = e.Kube.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("clear node %s admission taints: %w", node.Name, err)
	}
	return created, nil
}

// RunningVM is a VM as the tests create it: the VirtualMachine, its VMI and its launcher pod.
type RunningVM struct {
	VM  *kubevirtv1.VirtualMachine
	VMI *kubevirtv1.VirtualMachineInstance
	Pod *corev1.Pod
}

// CreateVM creates vm (its namespace too) and, when node is not empty, a Running VMI of it on
// node, owned by the VM, and its Running virt-launcher pod requesting cpu and memory. The
// objects returned are the stored ones, with server-assigned UIDs. vmiMutate, when not nil,
// changes the VMI before it is created (devices, node selector, conditions...).
func (e *Env) CreateVM(ctx context.Context, vm *kubevirtv1.VirtualMachine, node, cpu, memory string,
	vmiMutate func(*kubevirtv1.VirtualMachineInstance)) (*RunningVM, error) {
	if err := e.EnsureNamespace(ctx, vm.Namespace); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, vm); err != nil {
		return nil, fmt.Errorf("create vm %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	out := &RunningVM{VM: vm}
	if node == "" {
		return out, nil
	}
	vmi := NewVMI(vm, node)
	if vmiMutate != nil {
		vmiMutate(vmi)
	}
	var err error
	if out.VMI, err = e.CreateVMI(ctx, vmi); err != nil {
		return nil, err
	}
	if out.Pod, err = e.CreatePod(ctx, NewLauncherPod(out.VMI, cpu, memory)); err != nil {
		return nil, err
	}
	if err := e.setVMStatus(ctx, vm, true); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateVMI creates vmi and writes its status, as virt-controller and virt-handler would.
func (e *Env) CreateVMI(ctx context.Context, vmi *kubevirtv1.VirtualMachineInstance) (*kubevirtv1.VirtualMachineInstance, error) {
	status := vmi.Status
	if err := e.Client.Create(ctx, vmi); err != nil {
		return nil, fmt.Errorf("create vmi %s/%s: %w", vmi.Namespace, vmi.Name, err)
	}
	vmi.Status = status
	if err := e.Client.Status().Update(ctx, vmi); err != nil {
		return nil, fmt.Errorf("update vmi %s/%s status: %w", vmi.Namespace, vmi.Name, err)
	}
	return vmi, nil
}

// CreatePod creates pod and writes its status (phase and the node's host IP), as the kubelet would.
func (e *Env) CreatePod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	if err := e.EnsureNamespace(ctx, pod.Namespace); err != nil {
		return nil, err
	}
	status := pod.Status
	created, err := e.Kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	created.Status = status
	if created, err = e.Kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("update pod %s/%s status: %w", pod.Namespace, pod.Name, err)
	}
	return created, nil
}

func (e *Env) setVMStatus(ctx context.Context, vm *kubevirtv1.VirtualMachine, running bool) error {
	vm.Status.Ready = running
	vm.Status.Created = running
	vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusStopped
	if running {
		vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
	}
	if err := e.Client.Status().Update(ctx, vm); err != nil {
		return fmt.Errorf("update vm %s/%s status: %w", vm.Namespace, vm.Name, err)
	}
	return nil
}

// CreateUpgrade creates the Upgrade (and cloudweav-system) and writes its status.
func (e *Env) CreateUpgrade(ctx context.Context, up *cloudweavv1beta1.Upgrade) (*cloudweavv1beta1.Upgrade, error) {
	if err := e.EnsureNamespace(ctx, up.Namespace); err != nil {
		return nil, err
	}
	status := up.Status
	if err := e.Client.Create(ctx, up); err != nil {
		return nil, fmt.Errorf("create upgrade %s/%s: %w", up.Namespace, up.Name, err)
	}
	up.Status = status
	if err := e.Client.Status().Update(ctx, up); err != nil {
		return nil, fmt.Errorf("update upgrade %s/%s status: %w", up.Namespace, up.Name, err)
	}
	return up, nil
}

// CreateVersion creates the Version (and its namespace).
func (e *Env) CreateVersion(ctx context.Context, v *cloudweavv1beta1.Version) (*cloudweavv1beta1.Version, error) {
	if err := e.EnsureNamespace(ctx, v.Namespace); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, v); err != nil {
		return nil, fmt.Errorf("create version %s/%s: %w", v.Namespace, v.Name, err)
	}
	return v, nil
}
