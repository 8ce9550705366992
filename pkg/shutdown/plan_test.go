package shutdown

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cloudweav/upgrade-helper/pkg/detector"
)

func TestPlan(t *testing.T) {
	report := &detector.Report{VMs: []detector.VMVerdict{
		{Namespace: "default", Name: "can-leave", Migratable: true, Owned: true},
		{Namespace: "default", Name: "pinned", Owned: true},
		{Namespace: "default", Name: "orphan", Owned: false},
		{Namespace: "default", Name: "upgrade-repo", Owned: true, UpgradeOwned: true},
		{Namespace: "prod", Name: "paused", Owned: true, Paused: true},
	}}
	tests := []struct {
		name        string
		withUpgrade bool
		want        []Step
	}{
		{
			name:        "with an upgrade: record what the upgrade must restore",
			withUpgrade: true,
			want: []Step{
				{Namespace: "default", Name: "pinned", Action: ActionStopAndRecord, Record: true},
				{Namespace: "default", Name: "orphan", Action: ActionCannotStop, Message: "no VirtualMachine owns this VMI: it cannot be stopped and restored through KubeVirt; stop it by hand before the drain"},
				{Namespace: "default", Name: "upgrade-repo", Action: ActionStop, Message: "created by the upgrade: stopped, never restored"},
				{Namespace: "prod", Name: "paused", Action: ActionStop, Message: "paused: stopped, not restored"},
			},
		},
		{
			name:        "without an upgrade nothing is recorded",
			withUpgrade: false,
			want: []Step{
				{Namespace: "default", Name: "pinned", Action: ActionStop},
				{Namespace: "default", Name: "orphan", Action: ActionCannotStop, Message: "no VirtualMachine owns this VMI: it cannot be stopped and restored through KubeVirt; stop it by hand before the drain"},
				{Namespace: "default", Name: "upgrade-repo", Action: ActionStop, Message: "created by the upgrade: stopped, never restored"},
				{Namespace: "prod", Name: "paused", Action: ActionStop, Message: "paused: stopped, not restored"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(report, tt.withUpgrade)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Step{})); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{"default/pinned"}, RecordKeys(Plan(report, true))); diff != "" {
		t.Errorf("RecordKeys (-want +got):\n%s", diff)
	}
}
