package standin

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels the stand-in's virt-controller uses.
const (
	// WitnessLabel marks a Cloudweav witness node: VMs are never placed on it.
	WitnessLabel = "node-role.cloudweavhci.io/witness"
	// SchedulableLabel is what virt-launcher pods select nodes by.
	SchedulableLabel = "kubevirt.io/schedulable"
	// VMNameLabel names the VM on its launcher pod.
	VMNameLabel   = "vm.kubevirt.io/name"
	launcherValue = "virt-launcher"
)

// lockVM serializes the stand-in's work on one VM.
func (s *Server) lockVM(ns, name string) func() {
	key := ns + "/" + name
	s.mu.Lock()
	m, ok := s.vmLocks[key]
	if !ok {
		m = &sync.Mutex{}
		s.vmLocks[key] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// afterAccepted plays virt-controller for the VM now (the caller holds the VM's lock), or in
// the background after Options.AsyncDelay.
func (s *Server) afterAccepted(ctx context.Context, ns, name string) error {
	s.mu.Lock()
	delay, closed, kick := s.asyncDelay, s.closed, s.kick
	if delay > 0 && !closed {
		s.pending.Add(1)
	}
	s.mu.Unlock()
	if delay <= 0 {
		return s.reconcile(ctx, ns, name)
	}
	if closed {
		return nil
	}
	go func() {
		defer s.pending.Done()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-kick:
		case <-s.controlCtx.Done():
			return
		}
		unlock := s.lockVM(ns, name)
		defer unlock()
		if err := s.reconcile(s.controlCtx, ns, name); err != nil && s.controlCtx.Err() == nil {
			s.mu.Lock()
			s.asyncErrs = append(s.asyncErrs, fmt.Errorf("vm %s/%s: %w", ns, name, err))
			s.mu.Unlock()
		}
	}()
	return nil
}

func firstChange(vm *kubevirtv1.VirtualMachine) *kubevirtv1.VirtualMachineStateChangeRequest {
	if len(vm.Status.StateChangeRequests) == 0 {
		return nil
	}
	return &vm.Status.StateChangeRequests[0]
}

// reconcile is the part of virt-controller's VM loop that stop and start depend on: it
// removes a VMI the VM should no longer have (with its launcher pods), creates the VMI a VM
// should have, consumes the state change requests and writes the VM's status.
func (s *Server) reconcile(ctx context.Context, ns, name string) error {
	vm := &kubevirtv1.VirtualMachine{}
	if err := s.clients.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get vm: %w", err)
	}
	vmi, err := s.getVMI(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("get vmi: %w", err)
	}
	strategy, err := vm.RunStrategy()
	if err != nil {
		return err
	}
	changes := vm.Status.StateChangeRequests
	if vmi != nil {
		stop := false
		switch strategy {
		case kubevirtv1.RunStrategyHalted:
			stop = true
		case kubevirtv1.RunStrategyManual, kubevirtv1.RunStrategyRerunOnFailure:
			c := firstChange(vm)
			stop = c != nil && c.Action == kubevirtv1.StopRequest && c.UID != nil && *c.UID == vmi.UID
		}
		if stop {
			if err := s.stopVMI(ctx, vmi); err != nil {
				return err
			}
			vmi = nil
			if len(changes) > 0 && changes[0].Action == kubevirtv1.StopRequest {
				changes = changes[1:]
			}
		}
	}
	if vmi == nil {
		start := false
		switch strategy {
		case kubevirtv1.RunStrategyAlways, kubevirtv1.RunStrategyOnce:
			start = true
		case kubevirtv1.RunStrategyManual, kubevirtv1.RunStrategyRerunOnFailure:
			start = len(changes) > 0 && changes[0].Action == kubevirtv1.StartRequest
		}
		if start {
			if vmi, err = s.startVMI(ctx, vm); err != nil {
				return err
			}
		}
	}
	return s.writeVMStatus(ctx, ns, name, strategy, vmi)
}

// stopVMI deletes the VMI and its virt-launcher pods, remembering its node, conditions and
// the pod's requests for the next start.
func (s *Server) stopVMI(ctx context.Context, vmi *kubevirtv1.VirtualMachineInstance) error {
	key := vmi.Namespace + "/" + vmi.Name
	pods := &corev1.PodList{}
	if err := s.clients.Client.List(ctx, pods, client.InNamespace(vmi.Namespace),
		client.MatchingLabels{kubevirtv1.CreatedByLabel: string(vmi.UID)}); err != nil {
		return fmt.Errorf("list launcher pods of vmi %s: %w", key, err)
	}
	s.mu.Lock()
	if vmi.Status.NodeName != "" {
		s.lastNode[key] = vmi.Status.NodeName
	}
	if len(vmi.Status.Conditions) > 0 {
		s.lastConds[key] = append([]kubevirtv1.VirtualMachineInstanceCondition(nil), vmi.Status.Conditions...)
	}
	for _, pod := range pods.Items {
		if req := computeRequests(&pod); len(req) > 0 {
			s.lastPod[key] = req
		}
	}
	s.mu.Unlock()
	for i := range pods.Items {
		if err := s.clients.Client.Delete(ctx, &pods.Items[i], client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete launcher pod %s/%s: %w", pods.Items[i].Namespace, pods.Items[i].Name, err)
		}
	}
	if err := s.clients.Client.Delete(ctx, vmi, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete vmi %s: %w", key, err)
	}
	return nil
}

// computeRequests returns the requests of the pod's compute container (its first container
// when none is named so).
func computeRequests(pod *corev1.Pod) corev1.ResourceList {
	for _, c := range pod.Spec.Containers {
		if c.Name == "compute" {
			return c.Resources.Requests.DeepCopy()
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Resources.Requests.DeepCopy()
	}
	return nil
}

// startVMI creates the VM's VMI from its template, places it on a node, marks it Running
// with its launcher pod, as virt-controller, the scheduler and virt-handler would together.
func (s *Server) startVMI(ctx context.Context, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachineInstance, error) {
	key := vm.Namespace + "/" + vm.Name
	yes := true
	vmi := &kubevirtv1.VirtualMachineInstance{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: vm.Namespace, Name: vm.Name, Labels: map[string]string{}, Annotations: map[string]string{},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachine",
				Name: vm.Name, UID: vm.UID, Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
	}
	if t := vm.Spec.Template; t != nil {
		for k, v := range t.ObjectMeta.Labels {
			vmi.Labels[k] = v
		}
		for k, v := range t.ObjectMeta.Annotations {
			vmi.Annotations[k] = v
		}
		t.Spec.DeepCopyInto(&vmi.Spec)
	}
	s.mu.Lock()
	requests := s.lastPod[key].DeepCopy()
	lastNode := s.lastNode[key]
	conds := append([]kubevirtv1.VirtualMachineInstanceCondition(nil), s.lastConds[key]...)
	s.mu.Unlock()
	if len(requests) == 0 {
		requests = templateRequests(&vmi.Spec)
	}
	pod := launcherPod(vmi, requests)
	node, err := s.pickNode(ctx, pod, lastNode)
	if err != nil {
		return nil, err
	}
	if node != "" {
		vmi.Labels[kubevirtv1.NodeNameLabel] = node
	}
	if err := s.clients.Client.Create(ctx, vmi); err != nil {
		return nil, fmt.Errorf("create vmi %s: %w", key, err)
	}
	if node != "" {
		vmi.Status.Phase = kubevirtv1.Running
		vmi.Status.NodeName = node
		if len(conds) == 0 {
			conds = []kubevirtv1.VirtualMachineInstanceCondition{
				{Type: kubevirtv1.VirtualMachineInstanceReady, Status: corev1.ConditionTrue},
				{Type: kubevirtv1.VirtualMachineInstanceIsMigratable, Status: corev1.ConditionTrue},
			}
		}
		vmi.Status.Conditions = conds
	} else {
		vmi.Status.Phase = kubevirtv1.Scheduling
	}
	if err := s.clients.Client.Status().Update(ctx, vmi); err != nil {
		return nil, fmt.Errorf("write vmi %s status: %w", key, err)
	}

	pod = launcherPod(vmi, requests)
	pod.Spec.NodeName = node
	if err := s.clients.Client.Create(ctx, pod); err != nil {
		return nil, fmt.Errorf("create launcher pod of %s: %w", key, err)
	}
	if node != "" {
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}}
	} else {
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
				Message: "0 nodes are available (stand-in scheduler)"},
		}}
	}
	if err := s.clients.Client.Status().Update(ctx, pod); err != nil {
		return nil, fmt.Errorf("write launcher pod of %s status: %w", key, err)
	}
	return vmi, nil
}

// templateRequests are the launcher pod's requests when the stand-in has none remembered:
// the template's resource requests, else its guest memory.
func templateRequests(spec *kubevirtv1.VirtualMachineInstanceSpec) corev1.ResourceList {
	if len(spec.Domain.Resources.Requests) > 0 {
		return spec.Domain.Resources.Requests.DeepCopy()
	}
	if m := spec.Domain.Memory; m != nil && m.Guest != nil {
		return corev1.ResourceList{corev1.ResourceMemory: m.Guest.DeepCopy()}
	}
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
}

// launcherPod is vmi's virt-launcher pod (unplaced), requesting requests.
func launcherPod(vmi *kubevirtv1.VirtualMachineInstance, requests corev1.ResourceList) *corev1.Pod {
	yes := true
	labels := map[string]string{}
	for k, v := range vmi.Labels {
		labels[k] = v
	}
	labels[kubevirtv1.AppLabel] = launcherValue
	labels[kubevirtv1.CreatedByLabel] = string(vmi.UID)
	labels[VMNameLabel] = vmi.Name
	delete(labels, kubevirtv1.NodeNameLabel)
	selector := map[string]string{SchedulableLabel: "true"}
	for k, v := range vmi.Spec.NodeSelector {
		selector[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: vmi.Namespace, GenerateName: "virt-launcher-" + vmi.Name + "-", Labels: labels,
		},
		Spec: corev1.PodSpec{
			NodeSelector:                 selector,
			Affinity:                     vmi.Spec.Affinity.DeepCopy(),
			Tolerations:                  append([]corev1.Toleration(nil), vmi.Spec.Tolerations...),
			AutomountServiceAccountToken: new(bool),
			Containers: []corev1.Container{{
				Name: "compute", Image: "registry.example/kubevirt/virt-launcher:v1.9.0",
				Resources: launcherResources(requests),
			}},
		},
	}
	if vmi.UID != "" {
		pod.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachineInstance",
			Name: vmi.Name, UID: vmi.UID, Controller: &yes, BlockOwnerDeletion: &yes,
		}}
	}
	return pod
}

// pickNode chooses the node for pod: preferred (the node the VM last ran on) when it still
// fits, else the first fitting node by name; "" when none fits. A node fits when it is
// Ready, schedulable, not a witness, matches the pod's node selector and required affinity,
// and has no taint the pod does not tolerate. Free capacity is not checked.
func (s *Server) pickNode(ctx context.Context, pod *corev1.Pod, preferred string) (string, error) {
	nodes := &corev1.NodeList{}
	if err := s.clients.Client.List(ctx, nodes); err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	sort.Slice(nodes.Items, func(i, j int) bool { return nodes.Items[i].Name < nodes.Items[j].Name })
	affinity := nodeaffinity.GetRequiredNodeAffinity(pod)
	fits := func(n *corev1.Node) bool {
		if n.Spec.Unschedulable || n.DeletionTimestamp != nil {
			return false
		}
		if _, witness := n.Labels[WitnessLabel]; witness {
			return false
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
			}
		}
		if !ready {
			return false
		}
		if ok, err := affinity.Match(n); err != nil || !ok {
			return false
		}
		_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, pod.Spec.Tolerations,
			func(t *corev1.Taint) bool {
				return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
			}, false)
		return !untolerated
	}
	for i := range nodes.Items {
		if nodes.Items[i].Name == preferred && fits(&nodes.Items[i]) {
			return preferred, nil
		}
	}
	for i := range nodes.Items {
		if fits(&nodes.Items[i]) {
			return nodes.Items[i].Name, nil
		}
	}
	return "", nil
}

// writeVMStatus writes what virt-controller reports on the VM after a stop or start: the
// state change requests consumed, the run strategy, created/ready and the printable status.
func (s *Server) writeVMStatus(ctx context.Context, ns, name string, strategy kubevirtv1.VirtualMachineRunStrategy,
	vmi *kubevirtv1.VirtualMachineInstance) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		vm := &kubevirtv1.VirtualMachine{}
		if err := s.clients.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vm); err != nil {
			return client.IgnoreNotFound(err)
		}
		vm.Status.StateChangeRequests = nil
		vm.Status.RunStrategy = strategy
		vm.Status.Created = vmi != nil
		vm.Status.Ready = vmi != nil && vmi.Status.Phase == kubevirtv1.Running
		switch {
		case vmi == nil:
			vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusStopped
		case vmi.Status.Phase == kubevirtv1.Running:
			vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
		default:
			vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusUnschedulable
		}
		if err := s.clients.Client.Status().Update(ctx, vm); err != nil {
			return err
		}
		return nil
	})
}

// launcherResources requests requests and, as the API server demands for resources that cannot
// be overcommitted (devices, hugepages), limits them to the same amount.
func launcherResources(requests corev1.ResourceList) corev1.ResourceRequirements {
	out := corev1.ResourceRequirements{Requests: requests.DeepCopy()}
	for name, qty := range requests {
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			continue
		}
		if out.Limits == nil {
			out.Limits = corev1.ResourceList{}
		}
		out.Limits[name] = qty.DeepCopy()
	}
	return out
}
