package standin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
)

// vmState is what a test checks about a VM after a stop or start.
type vmState struct {
	Strategy       kubevirtv1.VirtualMachineRunStrategy
	Printable      kubevirtv1.VirtualMachinePrintableStatus
	Ready          bool
	ChangeRequests int
	VMIPhase       kubevirtv1.VirtualMachineInstancePhase // "" when there is no VMI
	VMINode        string
	VMINodeLabel   string
	LaunchersOnVMI int // Running launcher pods of the current VMI on its node
}

func stateOf(t *testing.T, ns, name string) vmState {
	t.Helper()
	vm := getVM(t, ns, name)
	st := vmState{
		Strategy: strategyOf(vm), Printable: vm.Status.PrintableStatus, Ready: vm.Status.Ready,
		ChangeRequests: len(vm.Status.StateChangeRequests),
	}
	if vmi := getVMI(t, ns, name); vmi != nil {
		st.VMIPhase, st.VMINode, st.VMINodeLabel = vmi.Status.Phase, vmi.Status.NodeName, vmi.Labels[kubevirtv1.NodeNameLabel]
		for _, p := range launcherPods(t, ns, string(vmi.UID)) {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName == vmi.Status.NodeName {
				st.LaunchersOnVMI++
			}
		}
	}
	return st
}

var stopped = func(s kubevirtv1.VirtualMachineRunStrategy) vmState {
	return vmState{Strategy: s, Printable: kubevirtv1.VirtualMachineStatusStopped}
}

var runningOn = func(s kubevirtv1.VirtualMachineRunStrategy, node string) vmState {
	return vmState{Strategy: s, Printable: kubevirtv1.VirtualMachineStatusRunning, Ready: true,
		VMIPhase: kubevirtv1.Running, VMINode: node, VMINodeLabel: node, LaunchersOnVMI: 1}
}

func TestStopByRunStrategy(t *testing.T) {
	fresh(t)
	ns := testNS("stop")
	ctx := context.Background()
	kv := kubevirtClient(t)
	tests := []struct {
		name      string
		strategy  kubevirtv1.VirtualMachineRunStrategy
		running   bool
		wantError string // "" for success; else the KubeVirt message in the 409
		want      vmState
	}{
		{"Always running: Halted", kubevirtv1.RunStrategyAlways, true, "", stopped(kubevirtv1.RunStrategyHalted)},
		{"Once running: Halted", kubevirtv1.RunStrategyOnce, true, "", stopped(kubevirtv1.RunStrategyHalted)},
		{"RerunOnFailure running: stop request", kubevirtv1.RunStrategyRerunOnFailure, true, "", stopped(kubevirtv1.RunStrategyRerunOnFailure)},
		{"Manual running: stop request", kubevirtv1.RunStrategyManual, true, "", stopped(kubevirtv1.RunStrategyManual)},
		{"Always without a VMI: Halted", kubevirtv1.RunStrategyAlways, false, "", stopped(kubevirtv1.RunStrategyHalted)},
		{"Halted stopped: not running", kubevirtv1.RunStrategyHalted, false, "VM is not running", vmState{Strategy: kubevirtv1.RunStrategyHalted}},
		{"Manual stopped: not running", kubevirtv1.RunStrategyManual, false, "VM is not running", vmState{Strategy: kubevirtv1.RunStrategyManual}},
		{"RerunOnFailure stopped: not running", kubevirtv1.RunStrategyRerunOnFailure, false, "VM is not running", vmState{Strategy: kubevirtv1.RunStrategyRerunOnFailure}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("stop-%d", i)
			node := ""
			if tt.running {
				node = otherNode
			}
			rv := makeVM(t, ns, name, tt.strategy, node)
			err := kv.Stop(ctx, ns, name)
			if tt.wantError == "" {
				if err != nil {
					t.Fatalf("stop: %v", err)
				}
			} else {
				if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), tt.wantError) || !kubevirt.IsAlreadyStopped(err) {
					t.Fatalf("stop error = %v, want a 409 Conflict saying %q", err, tt.wantError)
				}
				want := fmt.Sprintf(`Operation cannot be fulfilled on virtualmachine.kubevirt.io %q: %s`, name, tt.wantError)
				if err.Error() != want {
					t.Errorf("stop error = %q, want KubeVirt's %q", err, want)
				}
			}
			if diff := cmp.Diff(tt.want, stateOf(t, ns, name)); diff != "" {
				t.Errorf("after stop (-want +got):\n%s", diff)
			}
			if rv.VMI != nil {
				if pods := launcherPods(t, ns, string(rv.VMI.UID)); len(pods) != 0 {
					t.Errorf("launcher pods of the stopped VMI left: %d", len(pods))
				}
			}
		})
	}
}

func TestStopTwiceAndUnknown(t *testing.T) {
	fresh(t)
	ns := testNS("stop-twice")
	ctx := context.Background()
	kv := kubevirtClient(t)
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyAlways, firstFitNode)
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Fatal(err)
	}
	err := kv.Stop(ctx, ns, "vm")
	if !kubevirt.IsAlreadyStopped(err) {
		t.Errorf("second stop: %v, want KubeVirt's 409 VM is not running", err)
	}
	err = kv.Stop(ctx, ns, "no-such-vm")
	if !apierrors.IsNotFound(err) || err.Error() != `virtualmachine.kubevirt.io "no-such-vm" not found` {
		t.Errorf("stop of an unknown VM: %v, want KubeVirt's 404", err)
	}
	err = kv.Start(ctx, ns, "no-such-vm")
	if !apierrors.IsNotFound(err) {
		t.Errorf("start of an unknown VM: %v, want 404", err)
	}
	if kubevirt.IsAlreadyStopped(err) || kubevirt.IsAlreadyRunning(err) {
		t.Errorf("a 404 is neither already stopped nor already running")
	}
}

// A Halted VM whose VMI is still there is being stopped: KubeVirt only takes a stop with a
// shorter grace period then.
func TestStopHaltedStillRunning(t *testing.T) {
	fresh(t)
	ns := testNS("stop-halted")
	ctx := context.Background()
	kv := kubevirtClient(t)
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyHalted, firstFitNode)
	err := kv.Stop(ctx, ns, "vm")
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Halted only supports manual stop requests with a shorter graceperiod") {
		t.Fatalf("stop = %v, want KubeVirt's 409 about a shorter grace period", err)
	}
	if !kubevirt.IsAlreadyStopped(err) {
		t.Errorf("IsAlreadyStopped = false for a VM being stopped")
	}
	zero := int64(0)
	if err := kv.StopWithOptions(ctx, ns, "vm", &kubevirtv1.StopOptions{GracePeriod: &zero}); err != nil {
		t.Fatalf("stop with grace period 0: %v", err)
	}
	if diff := cmp.Diff(stopped(kubevirtv1.RunStrategyHalted), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after forced stop (-want +got):\n%s", diff)
	}
}

func TestStopDryRunChangesNothing(t *testing.T) {
	fresh(t)
	ns := testNS("stop-dry")
	kv := kubevirtClient(t)
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyAlways, firstFitNode)
	if err := kv.StopWithOptions(context.Background(), ns, "vm", &kubevirtv1.StopOptions{DryRun: []string{"All"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(runningOn(kubevirtv1.RunStrategyAlways, firstFitNode), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after a dry-run stop (-want +got):\n%s", diff)
	}
}

func TestStartByRunStrategy(t *testing.T) {
	fresh(t)
	ns := testNS("start")
	ctx := context.Background()
	kv := kubevirtClient(t)
	phase := func(p kubevirtv1.VirtualMachineInstancePhase) func(*kubevirtv1.VirtualMachineInstance) {
		return func(vmi *kubevirtv1.VirtualMachineInstance) { vmi.Status.Phase = p }
	}
	tests := []struct {
		name      string
		strategy  kubevirtv1.VirtualMachineRunStrategy
		node      string // where its VMI runs, "" for none
		vmiMutate func(*kubevirtv1.VirtualMachineInstance)
		wantError string
		want      vmState
	}{
		{"Halted: Always", kubevirtv1.RunStrategyHalted, "", nil, "", runningOn(kubevirtv1.RunStrategyAlways, firstFitNode)},
		{"Manual: start request", kubevirtv1.RunStrategyManual, "", nil, "", runningOn(kubevirtv1.RunStrategyManual, firstFitNode)},
		{"RerunOnFailure: start request", kubevirtv1.RunStrategyRerunOnFailure, "", nil, "", runningOn(kubevirtv1.RunStrategyRerunOnFailure, firstFitNode)},
		{"Manual with a Succeeded VMI: restarted", kubevirtv1.RunStrategyManual, otherNode, phase(kubevirtv1.Succeeded), "",
			runningOn(kubevirtv1.RunStrategyManual, otherNode)},
		{"Always running: already running", kubevirtv1.RunStrategyAlways, otherNode, nil, "VM is already running",
			vmState{Strategy: kubevirtv1.RunStrategyAlways, Printable: kubevirtv1.VirtualMachineStatusRunning, Ready: true,
				VMIPhase: kubevirtv1.Running, VMINode: otherNode, VMINodeLabel: otherNode, LaunchersOnVMI: 1}},
		{"Manual running: already running", kubevirtv1.RunStrategyManual, otherNode, nil, "VM is already running",
			vmState{Strategy: kubevirtv1.RunStrategyManual, Printable: kubevirtv1.VirtualMachineStatusRunning, Ready: true,
				VMIPhase: kubevirtv1.Running, VMINode: otherNode, VMINodeLabel: otherNode, LaunchersOnVMI: 1}},
		{"Always without a VMI: not supported", kubevirtv1.RunStrategyAlways, "", nil, "Always does not support manual start requests",
			vmState{Strategy: kubevirtv1.RunStrategyAlways}},
		{"Once without a VMI: not supported", kubevirtv1.RunStrategyOnce, "", nil, "Once does not support manual start requests",
			vmState{Strategy: kubevirtv1.RunStrategyOnce}},
		{"RerunOnFailure with a Failed VMI: refused", kubevirtv1.RunStrategyRerunOnFailure, otherNode, phase(kubevirtv1.Failed),
			"RerunOnFailure does not support starting VM from failed state",
			vmState{Strategy: kubevirtv1.RunStrategyRerunOnFailure, Printable: kubevirtv1.VirtualMachineStatusRunning, Ready: true,
				VMIPhase: kubevirtv1.Failed, VMINode: otherNode, VMINodeLabel: otherNode, LaunchersOnVMI: 1}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("start-%d", i)
			vm := testenv.NewVM(ns, name)
			vm.Spec.RunStrategy = &tt.strategy
			rv, err := env.CreateVM(ctx, vm, tt.node, "2", "4Gi", tt.vmiMutate)
			if err != nil {
				t.Fatal(err)
			}
			err = kv.Start(ctx, ns, name)
			switch {
			case tt.wantError == "" && err != nil:
				t.Fatalf("start: %v", err)
			case tt.wantError != "" && (!apierrors.IsConflict(err) || !strings.Contains(err.Error(), tt.wantError)):
				t.Fatalf("start error = %v, want a 409 Conflict saying %q", err, tt.wantError)
			}
			if got, want := kubevirt.IsAlreadyRunning(err), tt.wantError == "VM is already running"; got != want {
				t.Errorf("IsAlreadyRunning(%v) = %v, want %v", err, got, want)
			}
			if diff := cmp.Diff(tt.want, stateOf(t, ns, name)); diff != "" {
				t.Errorf("after start (-want +got):\n%s", diff)
			}
			vmi := getVMI(t, ns, name)
			if tt.wantError == "" {
				if len(vmi.OwnerReferences) != 1 || vmi.OwnerReferences[0].UID != getVM(t, ns, name).UID {
					t.Errorf("new VMI owners = %+v, want the VM", vmi.OwnerReferences)
				}
				if !vmi.IsMigratable() {
					t.Errorf("new VMI is not LiveMigratable")
				}
				if rv.VMI != nil && vmi.UID == rv.VMI.UID {
					t.Errorf("the final VMI was not replaced")
				}
			}
		})
	}
}

// A VM that the stand-in stopped starts again on the node it ran on, with the same pod
// requests and VMI conditions.
func TestStopStartReturnsToItsNode(t *testing.T) {
	fresh(t)
	ns := testNS("roundtrip")
	ctx := context.Background()
	kv := kubevirtClient(t)
	vm := testenv.NewVM(ns, "vm")
	_, err := env.CreateVM(ctx, vm, otherNode, "3", "6Gi", func(vmi *kubevirtv1.VirtualMachineInstance) {
		vmi.Status.Conditions[1].Status = corev1.ConditionFalse
		vmi.Status.Conditions[1].Reason = kubevirtv1.VirtualMachineInstanceReasonDisksNotMigratable
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Start(ctx, ns, "vm"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(runningOn(kubevirtv1.RunStrategyAlways, otherNode), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after stop and start (-want +got):\n%s", diff)
	}
	vmi := getVMI(t, ns, "vm")
	if vmi.IsMigratable() {
		t.Errorf("the restarted VMI is LiveMigratable; the old one was not")
	}
	pods := launcherPods(t, ns, string(vmi.UID))
	if len(pods) != 1 {
		t.Fatalf("launcher pods = %d, want 1", len(pods))
	}
	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3"), corev1.ResourceMemory: resource.MustParse("6Gi")}
	got := pods[0].Spec.Containers[0].Resources.Requests
	if !got.Cpu().Equal(*want.Cpu()) || !got.Memory().Equal(*want.Memory()) {
		t.Errorf("launcher requests = %v, want %v", got, want)
	}
}

// With AsyncDelay the reply comes first and virt-controller's reaction later.
func TestAsyncDelay(t *testing.T) {
	fresh(t)
	ns := testNS("async")
	ctx := context.Background()
	kv := kubevirtClient(t)
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyManual, firstFitNode)
	srv.SetAsyncDelay(standinHour)
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Fatal(err)
	}
	vm := getVM(t, ns, "vm")
	if len(vm.Status.StateChangeRequests) != 1 || vm.Status.StateChangeRequests[0].Action != kubevirtv1.StopRequest {
		t.Errorf("state change requests before virt-controller ran = %+v, want one Stop", vm.Status.StateChangeRequests)
	}
	if getVMI(t, ns, "vm") == nil {
		t.Fatalf("the VMI went away before virt-controller's turn")
	}
	// A second stop while the first is queued replaces it, as KubeVirt does.
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Errorf("second stop while one is queued: %v", err)
	}
	srv.RunPending()
	if diff := cmp.Diff(stopped(kubevirtv1.RunStrategyManual), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after virt-controller's turn (-want +got):\n%s", diff)
	}
	if errs := srv.AsyncErrors(); len(errs) != 0 {
		t.Errorf("background errors: %v", errs)
	}
}

func TestHealthz(t *testing.T) {
	fresh(t)
	ctx := context.Background()
	kv := kubevirtClient(t)
	if err := kv.Healthz(ctx); err != nil {
		t.Fatalf("healthz of a healthy stand-in: %v", err)
	}
	srv.SetHealthy(false)
	err := kv.Healthz(ctx)
	if !apierrors.IsInternalError(err) {
		t.Errorf("healthz of an unhealthy stand-in = %v, want virt-api's 500", err)
	}
	resp, body, err := rawGet(ctx, rawClient(t), "/apis/subresources.kubevirt.io/v1/healthz")
	if err != nil || resp.StatusCode != 500 || !strings.Contains(string(body), `"connectivity":"failed"`) {
		t.Errorf("unhealthy healthz answer = %v %s, want virt-api's 500 body", err, body)
	}
	srv.SetHealthy(true)
	if err := kv.Healthz(ctx); err != nil {
		t.Errorf("healthz after recovery: %v", err)
	}
}
