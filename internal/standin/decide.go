package standin

import (
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// KubeVirt's messages, as virt-api words them (pkg/virt-api/rest/lifecycle.go and
// subresource.go). They come inside a 409 Conflict Status.
const (
	MsgVMNotRunning           = "VM is not running"
	MsgVMAlreadyRunning       = "VM is already running"
	MsgHaltedNeedsShorterStop = "Halted only supports manual stop requests with a shorter graceperiod"
	MsgStartNotSupportedFmt   = "%v does not support manual start requests"
	MsgRerunFromFailed        = "RerunOnFailure does not support starting VM from failed state"
	MsgChangeUnderway         = "unable to complete request: stop/start already underway"
)

// vmResource is the group-resource virt-api names in its errors.
var vmResource = schema.GroupResource{Group: "kubevirt.io", Resource: "virtualmachine"}

// vmAction is what virt-api writes for a stop or start: a new spec.runStrategy, or state
// change requests for virt-controller in the VM's status.
type vmAction struct {
	runStrategy *kubevirtv1.VirtualMachineRunStrategy
	changes     []kubevirtv1.VirtualMachineStateChangeRequest
}

func conflict(name, format string, args ...any) *apierrors.StatusError {
	return apierrors.NewConflict(vmResource, name, fmt.Errorf(format, args...))
}

func strategyPtr(s kubevirtv1.VirtualMachineRunStrategy) *kubevirtv1.VirtualMachineRunStrategy {
	return &s
}

// decideStop is virt-api's stop handler's decision for vm, whose VMI is vmi (nil when there
// is none):
//   - Always, Once: spec.runStrategy becomes Halted (with or without a VMI);
//   - Manual, RerunOnFailure: a Stop state change request for the VMI; no VMI, or a final
//     one: 409 "VM is not running";
//   - Halted: no VMI or a final one: 409 "VM is not running"; a VMI still there (it is
//     being stopped): only a stop with a shorter grace period is accepted (a Stop request),
//     else 409.
func decideStop(vm *kubevirtv1.VirtualMachine, vmi *kubevirtv1.VirtualMachineInstance, opts *kubevirtv1.StopOptions) (vmAction, *apierrors.StatusError) {
	strategy, err := vm.RunStrategy()
	if err != nil {
		return vmAction{}, apierrors.NewInternalError(err)
	}
	running := vmi != nil && !vmi.IsFinal()
	stopRequest := func() vmAction {
		uid := vmi.UID
		return vmAction{changes: []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest, UID: &uid}}}
	}
	switch strategy {
	case kubevirtv1.RunStrategyHalted:
		if !running {
			return vmAction{}, conflict(vm.Name, MsgVMNotRunning)
		}
		old := vmi.Spec.TerminationGracePeriodSeconds
		if opts.GracePeriod == nil || (old != nil && *opts.GracePeriod >= *old) {
			return vmAction{}, conflict(vm.Name, MsgHaltedNeedsShorterStop)
		}
		return stopRequest(), nil
	case kubevirtv1.RunStrategyManual, kubevirtv1.RunStrategyRerunOnFailure:
		if !running {
			return vmAction{}, conflict(vm.Name, MsgVMNotRunning)
		}
		return stopRequest(), nil
	case kubevirtv1.RunStrategyAlways, kubevirtv1.RunStrategyOnce:
		return vmAction{runStrategy: strategyPtr(kubevirtv1.RunStrategyHalted)}, nil
	}
	return vmAction{}, apierrors.NewInternalError(fmt.Errorf("unknown run strategy %q", strategy))
}

// decideStart is virt-api's start handler's decision:
//   - a VMI that exists and is not final (nor Unknown or unset): 409 "VM is already running",
//     whatever the run strategy;
//   - Halted: spec.runStrategy becomes Always;
//   - Manual, RerunOnFailure: a Start state change request (Stop then Start when the old VMI
//     is final and must go first); RerunOnFailure with a Failed VMI: 409;
//   - Always, Once: 409 "<strategy> does not support manual start requests".
func decideStart(vm *kubevirtv1.VirtualMachine, vmi *kubevirtv1.VirtualMachineInstance) (vmAction, *apierrors.StatusError) {
	if vmi != nil && !vmi.IsFinal() && vmi.Status.Phase != kubevirtv1.Unknown && vmi.Status.Phase != kubevirtv1.VmPhaseUnset {
		return vmAction{}, conflict(vm.Name, MsgVMAlreadyRunning)
	}
	strategy, err := vm.RunStrategy()
	if err != nil {
		return vmAction{}, apierrors.NewInternalError(err)
	}
	start := kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StartRequest}
	switch strategy {
	case kubevirtv1.RunStrategyHalted:
		return vmAction{runStrategy: strategyPtr(kubevirtv1.RunStrategyAlways)}, nil
	case kubevirtv1.RunStrategyManual, kubevirtv1.RunStrategyRerunOnFailure:
		rerun := strategy == kubevirtv1.RunStrategyRerunOnFailure
		restart := vmi != nil && ((rerun && vmi.Status.Phase == kubevirtv1.Succeeded) || (!rerun && vmi.IsFinal()))
		if !restart && rerun && vmi != nil && vmi.Status.Phase == kubevirtv1.Failed {
			return vmAction{}, conflict(vm.Name, MsgRerunFromFailed)
		}
		if restart {
			uid := vmi.UID
			return vmAction{changes: []kubevirtv1.VirtualMachineStateChangeRequest{
				{Action: kubevirtv1.StopRequest, UID: &uid}, start}}, nil
		}
		return vmAction{changes: []kubevirtv1.VirtualMachineStateChangeRequest{start}}, nil
	case kubevirtv1.RunStrategyAlways, kubevirtv1.RunStrategyOnce:
		return vmAction{}, conflict(vm.Name, MsgStartNotSupportedFmt, strategy)
	}
	return vmAction{}, apierrors.NewInternalError(fmt.Errorf("unknown run strategy %q", strategy))
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// runStrategyPatch is the JSON patch that sets the run strategy, testing the current one
// first so that a concurrent change makes it fail (virt-api's getRunningPatch).
func runStrategyPatch(vm *kubevirtv1.VirtualMachine, to kubevirtv1.VirtualMachineRunStrategy) ([]byte, error) {
	if vm.Spec.RunStrategy == nil && vm.Spec.Running != nil {
		running := to != kubevirtv1.RunStrategyHalted
		return json.Marshal([]jsonPatchOp{
			{Op: "test", Path: "/spec/running", Value: *vm.Spec.Running},
			{Op: "replace", Path: "/spec/running", Value: running},
		})
	}
	if vm.Spec.RunStrategy == nil {
		return json.Marshal([]jsonPatchOp{{Op: "add", Path: "/spec/runStrategy", Value: to}})
	}
	return json.Marshal([]jsonPatchOp{
		{Op: "test", Path: "/spec/runStrategy", Value: *vm.Spec.RunStrategy},
		{Op: "replace", Path: "/spec/runStrategy", Value: to},
	})
}

// errChangeUnderway is virt-api's refusal to queue a change behind another.
var errChangeUnderway = errors.New(MsgChangeUnderway)

// changeRequestPatch is the JSON patch for the VM's status that adds state change requests,
// as virt-api's getChangeRequestJson builds it: a Stop replaces what is queued, anything
// else needs an empty queue.
func changeRequestPatch(vm *kubevirtv1.VirtualMachine, changes []kubevirtv1.VirtualMachineStateChangeRequest) ([]byte, error) {
	if equality.Semantic.DeepEqual(vm.Status, kubevirtv1.VirtualMachineStatus{}) {
		return json.Marshal([]jsonPatchOp{{Op: "add", Path: "/status",
			Value: kubevirtv1.VirtualMachineStatus{StateChangeRequests: changes}}})
	}
	queued := vm.Status.StateChangeRequests
	switch {
	case len(queued) == 0:
		return json.Marshal([]jsonPatchOp{{Op: "add", Path: "/status/stateChangeRequests", Value: changes}})
	case len(changes) == 1 && changes[0].Action == kubevirtv1.StopRequest:
		return json.Marshal([]jsonPatchOp{
			{Op: "test", Path: "/status/stateChangeRequests", Value: queued},
			{Op: "replace", Path: "/status/stateChangeRequests", Value: changes},
		})
	}
	return nil, errChangeUnderway
}
