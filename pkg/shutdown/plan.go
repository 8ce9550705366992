package shutdown

import (
	"github.com/cloudweav/upgrade-helper/pkg/detector"
)

// Action is what the shutdown does with one non-migratable VM.
type Action string

const (
	// ActionStopAndRecord stops the VM and records it for restore-vm.
	ActionStopAndRecord Action = "StopAndRecord"
	// ActionStop stops the VM without recording it: the upgrade created it (label
	// cloudweavhci.io/upgrade), or it is paused, or there is no Upgrade to record it for.
	ActionStop Action = "Stop"
	// ActionCannotStop marks a VMI that no VirtualMachine owns: it cannot be stopped and started
	// again through KubeVirt's VM API, so it is left and reported as a failure.
	ActionCannotStop Action = "CannotStop"
)

// Outcome is what happened to one VM.
type Outcome string

const (
	OutcomeStopped        Outcome = "Stopped"
	OutcomeAlreadyStopped Outcome = "AlreadyStopped"
	OutcomeFailed         Outcome = "Failed"
	OutcomeNotStarted     Outcome = "NotStarted"
	OutcomeDryRun         Outcome = "DryRun"
	OutcomeGone           Outcome = "Gone"
	OutcomeStillRunning   Outcome = "StillRunning"
)

// Step is the plan and the outcome for one VM.
type Step struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Action    Action  `json:"action"`
	Record    bool    `json:"record"`
	Outcome   Outcome `json:"outcome,omitempty"`
	Message   string  `json:"message,omitempty"`

	// err is why the stop failed, when it did.
	err error
}

// Key is "namespace/name".
func (s Step) Key() string { return s.Namespace + "/" + s.Name }

// Plan returns a step for every non-migratable VM of the report, in the report's order.
// withUpgrade says whether a restore record is kept at all.
func Plan(report *detector.Report, withUpgrade bool) []Step {
	var steps []Step
	for _, vm := range report.VMs {
		if vm.Migratable {
			continue
		}
		step := Step{Namespace: vm.Namespace, Name: vm.Name}
		switch {
		case !vm.Owned:
			step.Action = ActionCannotStop
			step.Message = "no VirtualMachine owns this VMI: it cannot be stopped and restored through KubeVirt; stop it by hand before the drain"
		case withUpgrade && !vm.UpgradeOwned && !vm.Paused:
			step.Action = ActionStopAndRecord
			step.Record = true
		default:
			step.Action = ActionStop
			switch {
			case vm.UpgradeOwned:
				step.Message = "created by the upgrade: stopped, never restored"
			case vm.Paused:
				step.Message = "paused: stopped, not restored"
			}
		}
		steps = append(steps, step)
	}
	return steps
}

// RecordKeys returns the namespace/name of the steps to record.
func RecordKeys(steps []Step) []string {
	var keys []string
	for _, s := range steps {
		if s.Record {
			keys = append(keys, s.Key())
		}
	}
	return keys
}
