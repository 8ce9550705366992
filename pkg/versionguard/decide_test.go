package versionguard

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

type pathCase struct {
	name                     string
	current, target, minimum string
	lax                      bool // strict mode off
	want                     Rule
	wantAllowed              bool
}

// pathCases cover every rule, each rule's boundary and the order of the rules: a path that two
// rules touch is decided by the earlier one (the name says which rules touch it).
var pathCases = []pathCase{
	// 1. The target is a dev version.
	{name: "release to commit hash", current: "v1.2.1", target: "f024f49a", want: RuleTargetDev, wantAllowed: true},
	{name: "release to head build", current: "v1.2.1", target: "v1.3-head", want: RuleTargetDev, wantAllowed: true},
	{name: "release to two-part version", current: "v1.2.1", target: "v1.3", want: RuleTargetDev, wantAllowed: true},
	{name: "release to branch name", current: "v1.2.1", target: "master", want: RuleTargetDev, wantAllowed: true},
	{name: "1 before 2: dev to dev in strict mode", current: "v1.2-head", target: "f024f49a", want: RuleTargetDev, wantAllowed: true},
	{name: "1 before 3: same dev string", current: "f024f49a", target: "f024f49a", want: RuleTargetDev, wantAllowed: true},
	{name: "1 before 4: lower-looking dev target", current: "v1.3.0", target: "v1.2-head", want: RuleTargetDev, wantAllowed: true},
	{name: "1 before 5: dev target below minimum", current: "v1.0.0", target: "v1.3", minimum: "v1.2.0", want: RuleTargetDev, wantAllowed: true},
	{name: "1 before 6: prerelease to dev", current: "v1.2.1-rc1", target: "main", want: RuleTargetDev, wantAllowed: true},
	{name: "1 boundary: prerelease target is not dev", current: "v1.2.1", target: "v1.3.0-rc1", want: RuleAllowed, wantAllowed: true},

	// 2. The current version is a dev version.
	{name: "dev to release, strict", current: "v1.2-head", target: "v1.3.0", want: RuleCurrentDev},
	{name: "dev to prerelease, strict", current: "f024f49a", target: "v1.3.0-rc1", want: RuleCurrentDev},
	{name: "two-part dev to release, strict", current: "v1.2", target: "v1.2.0", want: RuleCurrentDev},
	{name: "dev to release, lax", current: "v1.2-head", target: "v1.3.0", lax: true, want: RuleCurrentDev, wantAllowed: true},
	{name: "dev to prerelease, lax", current: "f024f49a", target: "v1.3.0-rc1", lax: true, want: RuleCurrentDev, wantAllowed: true},
	{name: "2 before 5: dev below minimum, lax", current: "v1.1-head", target: "v1.3.0", minimum: "v1.2.0", lax: true, want: RuleCurrentDev, wantAllowed: true},
	{name: "2 before 5: dev below minimum, strict", current: "v1.1-head", target: "v1.3.0", minimum: "v1.2.0", want: RuleCurrentDev},
	{name: "2 boundary: build metadata is not dev", current: "1.2.1+build", target: "v1.3.0", want: RuleAllowed, wantAllowed: true},

	// 3. The same version.
	{name: "identical", current: "v1.2.1", target: "v1.2.1", want: RuleSameVersion, wantAllowed: true},
	{name: "v prefix does not matter", current: "v1.2.1", target: "1.2.1", want: RuleSameVersion, wantAllowed: true},
	{name: "build metadata does not matter", current: "v1.2.1", target: "1.2.1+build", want: RuleSameVersion, wantAllowed: true},
	{name: "different build metadata", current: "1.2.1+a", target: "v1.2.1+b", want: RuleSameVersion, wantAllowed: true},
	{name: "same prerelease", current: "v1.2.1-rc1", target: "1.2.1-rc1", want: RuleSameVersion, wantAllowed: true},
	{name: "3 before 5: same version below minimum", current: "v1.1.0", target: "v1.1.0", minimum: "v1.2.0", want: RuleSameVersion, wantAllowed: true},
	{name: "3 boundary: prerelease to its release", current: "v1.2.1-rc1", target: "v1.2.1", want: RuleAllowed, wantAllowed: true},

	// 4. Downgrade.
	{name: "minor downgrade", current: "v1.3.0", target: "v1.2.1", want: RuleDowngrade},
	{name: "numeric not lexical", current: "v1.10.0", target: "v1.9.0", want: RuleDowngrade},
	{name: "release to its prerelease", current: "v1.2.1", target: "v1.2.1-rc1", want: RuleDowngrade},
	{name: "prerelease to an earlier one", current: "v1.2.1-rc2", target: "v1.2.1-rc1", want: RuleDowngrade},
	{name: "numeric prerelease identifiers", current: "v1.2.1-rc.10", target: "v1.2.1-rc.9", want: RuleDowngrade},
	{name: "downgrade, lax", current: "v1.3.0", target: "v1.2.1", lax: true, want: RuleDowngrade},
	{name: "4 before 5: downgrade below minimum", current: "v1.1.0", target: "v1.0.0", minimum: "v1.2.0", want: RuleDowngrade},
	{name: "4 before 6: prerelease to a lower release", current: "v1.2.1-rc1", target: "v1.2.0", want: RuleDowngrade},
	{name: "4 boundary: release to the next prerelease", current: "v1.2.0", target: "v1.2.1-rc1", want: RuleAllowed, wantAllowed: true},

	// 5. Below the minimum.
	{name: "below the minimum", current: "v1.1.1", target: "v1.3.0", minimum: "v1.2.0", want: RuleBelowMinimum},
	{name: "v-less minimum", current: "v1.1.1", target: "v1.3.0", minimum: "1.2.0", want: RuleBelowMinimum},
	{name: "below a minimum above the target", current: "v1.2.0", target: "v1.2.5", minimum: "v1.3.0", want: RuleBelowMinimum},
	{name: "below the minimum, lax", current: "v1.1.1", target: "v1.3.0", minimum: "v1.2.0", lax: true, want: RuleBelowMinimum},
	{name: "5 before 6: prerelease of the minimum", current: "v1.2.0-rc3", target: "v1.3.0", minimum: "v1.2.0", want: RuleBelowMinimum},
	{name: "5 boundary: at the minimum", current: "v1.2.0", target: "v1.3.0", minimum: "v1.2.0", want: RuleAllowed, wantAllowed: true},
	{name: "5 boundary: at the minimum with build metadata", current: "1.2.0+b", target: "v1.3.0", minimum: "v1.2.0+a", want: RuleAllowed, wantAllowed: true},
	{name: "5 boundary: just above the minimum", current: "v1.2.1", target: "v1.3.0", minimum: "v1.2.0", want: RuleAllowed, wantAllowed: true},
	{name: "5 boundary: no minimum", current: "v0.1.0", target: "v1.3.0", want: RuleAllowed, wantAllowed: true},
	{name: "5 boundary: at a prerelease minimum, then 6", current: "v1.2.0-rc1", target: "v1.3.0", minimum: "v1.2.0-rc1", want: RulePrereleaseCrossRelease},

	// 6. A prerelease leaves its release.
	{name: "prerelease to the next patch", current: "v1.2.1-rc1", target: "v1.2.2", want: RulePrereleaseCrossRelease},
	{name: "prerelease to the next minor prerelease", current: "v1.2.1-rc1", target: "v1.3.0-rc1", want: RulePrereleaseCrossRelease},
	{name: "prerelease to the next major", current: "1.2.1-rc1", target: "v2.0.0", want: RulePrereleaseCrossRelease},
	{name: "prerelease across releases, lax", current: "v1.2.1-rc1", target: "v1.2.2", lax: true, want: RulePrereleaseCrossRelease},
	{name: "6 boundary: to a later prerelease", current: "v1.2.1-rc1", target: "v1.2.1-rc2", want: RuleAllowed, wantAllowed: true},
	{name: "6 boundary: to its release", current: "v1.2.1-rc1", target: "v1.2.1", want: RuleAllowed, wantAllowed: true},
	{name: "6 boundary: to its release with build metadata", current: "v1.2.1-rc1", target: "1.2.1+build", want: RuleAllowed, wantAllowed: true},
	{name: "6 boundary: release to another release's prerelease", current: "v1.2.1", target: "v1.3.0-rc1", want: RuleAllowed, wantAllowed: true},

	// 7. Anything else.
	{name: "minor upgrade", current: "v1.2.1", target: "v1.3.0", want: RuleAllowed, wantAllowed: true},
	{name: "v-less versions", current: "1.2.1", target: "1.3.0", want: RuleAllowed, wantAllowed: true},
	{name: "major upgrade, lax", current: "v1.2.1", target: "v2.0.0", lax: true, want: RuleAllowed, wantAllowed: true},
}

func TestDecideRules(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Current: tt.current, Target: tt.target, Minimum: tt.minimum, Strict: !tt.lax}
			got, err := Decide(in)
			if err != nil {
				t.Fatalf("Decide(%+v) error = %v", in, err)
			}
			if got.Rule != tt.want || got.Allowed != tt.wantAllowed {
				t.Errorf("Decide(%+v) = %s allowed=%t (%s), want %s allowed=%t", in, got.Rule, got.Allowed, got.Message, tt.want, tt.wantAllowed)
			}
			if got.Allowed != RuleAllows(got.Rule, in.Strict) {
				t.Errorf("Allowed = %t disagrees with RuleAllows(%s, %t)", got.Allowed, got.Rule, in.Strict)
			}
			echo := Decision{Current: got.Current, Target: got.Target, Minimum: got.Minimum, Strict: got.Strict}
			if diff := cmp.Diff(Decision{Current: tt.current, Target: tt.target, Minimum: tt.minimum, Strict: !tt.lax}, echo); diff != "" {
				t.Errorf("decision does not echo its input (-want +got):\n%s", diff)
			}
			if got.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

// TestDecideStrictOnlyMattersForDevCurrent checks that strict mode changes nothing but rule 2.
func TestDecideStrictOnlyMattersForDevCurrent(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			strict, err := Decide(Input{Current: tt.current, Target: tt.target, Minimum: tt.minimum, Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			lax, err := Decide(Input{Current: tt.current, Target: tt.target, Minimum: tt.minimum, Strict: false})
			if err != nil {
				t.Fatal(err)
			}
			if strict.Rule != lax.Rule {
				t.Errorf("rule strict = %s, lax = %s", strict.Rule, lax.Rule)
			}
			if strict.Rule != RuleCurrentDev && strict.Allowed != lax.Allowed {
				t.Errorf("allowed strict = %t, lax = %t", strict.Allowed, lax.Allowed)
			}
			if strict.Rule == RuleCurrentDev && (strict.Allowed || !lax.Allowed) {
				t.Errorf("rule 2: allowed strict = %t, lax = %t, want false, true", strict.Allowed, lax.Allowed)
			}
		})
	}
}

func TestDecideMessages(t *testing.T) {
	tests := []struct {
		in   Input
		want Decision
	}{
		{
			in: Input{Current: "v1.2.1", Target: "f024f49a", Strict: true},
			want: Decision{Current: "v1.2.1", Target: "f024f49a", Strict: true, Allowed: true, Rule: RuleTargetDev,
				Message: "the target f024f49a is a dev version, and upgrading to a dev version is always allowed"},
		},
		{
			in: Input{Current: "v1.2-head", Target: "v1.3.0-rc1", Strict: true},
			want: Decision{Current: "v1.2-head", Target: "v1.3.0-rc1", Strict: true, Rule: RuleCurrentDev,
				Message: "the current version v1.2-head is a dev version, and strict mode does not allow upgrading from a dev version to prerelease v1.3.0-rc1"},
		},
		{
			in: Input{Current: "v1.2-head", Target: "v1.3.0"},
			want: Decision{Current: "v1.2-head", Target: "v1.3.0", Allowed: true, Rule: RuleCurrentDev,
				Message: "the current version v1.2-head is a dev version; upgrading from it to v1.3.0 is allowed because strict mode is off"},
		},
		{
			in: Input{Current: "v1.3.0", Target: "v1.3.0", Strict: true},
			want: Decision{Current: "v1.3.0", Target: "v1.3.0", Strict: true, Allowed: true, Rule: RuleSameVersion,
				Message: "the current version v1.3.0 is already the target version"},
		},
		{
			in: Input{Current: "v1.3.0", Target: "1.3.0+build", Strict: true},
			want: Decision{Current: "v1.3.0", Target: "1.3.0+build", Strict: true, Allowed: true, Rule: RuleSameVersion,
				Message: "the current version v1.3.0 and the target 1.3.0+build are the same version"},
		},
		{
			in: Input{Current: "v1.3.0", Target: "v1.2.1", Strict: true},
			want: Decision{Current: "v1.3.0", Target: "v1.2.1", Strict: true, Rule: RuleDowngrade,
				Message: "the target v1.2.1 is lower than the current version v1.3.0, and downgrades are not allowed"},
		},
		{
			in: Input{Current: "v1.1.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true},
			want: Decision{Current: "v1.1.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true, Rule: RuleBelowMinimum,
				Message: "v1.1.1 is below the minimum v1.2.0 required to reach v1.3.0: upgrade to v1.2.0 or later first"},
		},
		{
			in: Input{Current: "v1.2.1-rc1", Target: "v1.3.0", Strict: true},
			want: Decision{Current: "v1.2.1-rc1", Target: "v1.3.0", Strict: true, Rule: RulePrereleaseCrossRelease,
				Message: "the prerelease v1.2.1-rc1 can only be upgraded within release 1.2.1 (to a later 1.2.1 prerelease or to 1.2.1 itself), and v1.3.0 belongs to release 1.3.0"},
		},
		{
			in: Input{Current: "v1.2.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true},
			want: Decision{Current: "v1.2.1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true, Allowed: true, Rule: RuleAllowed,
				Message: "upgrading from release v1.2.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.2.0)"},
		},
		{
			in: Input{Current: "v1.2.1-rc1", Target: "v1.2.1-rc2", Strict: true},
			want: Decision{Current: "v1.2.1-rc1", Target: "v1.2.1-rc2", Strict: true, Allowed: true, Rule: RuleAllowed,
				Message: "upgrading from prerelease v1.2.1-rc1 to prerelease v1.2.1-rc2 is allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s to %s", tt.in.Current, tt.in.Target), func(t *testing.T) {
			got, err := Decide(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDecideInputErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      Input
		field   Field
		wantErr string
	}{
		{"empty current", Input{Target: "v1.3.0"}, FieldCurrent, `invalid current version "": empty`},
		{"empty target", Input{Current: "v1.2.1"}, FieldTarget, `invalid target version "": empty`},
		{"both empty: current first", Input{}, FieldCurrent, `invalid current version "": empty`},
		{"current with a space", Input{Current: "v1.2 head", Target: "v1.3.0"}, FieldCurrent,
			`invalid current version "v1.2 head": contains white space or control characters`},
		{"target with a newline", Input{Current: "v1.2.1", Target: "v1.3.0\n"}, FieldTarget,
			`invalid target version "v1.3.0\n": contains white space or control characters`},
		{"dev minimum", Input{Current: "v1.2.1", Target: "v1.3.0", Minimum: "v1.2"}, FieldMinimum,
			`invalid minimum version "v1.2": not a semantic version (want MAJOR.MINOR.PATCH with an optional leading v, like v1.2.1)`},
		{"hash minimum", Input{Current: "v1.2.1", Target: "v1.3.0", Minimum: "f024f49a"}, FieldMinimum,
			`invalid minimum version "f024f49a": not a semantic version (want MAJOR.MINOR.PATCH with an optional leading v, like v1.2.1)`},
		{"blank minimum", Input{Current: "v1.2.1", Target: "v1.3.0", Minimum: " "}, FieldMinimum,
			`invalid minimum version " ": contains white space or control characters`},
		{"minimum checked even when the target is dev", Input{Current: "v1.2.1", Target: "main", Minimum: "latest"}, FieldMinimum,
			`invalid minimum version "latest": not a semantic version (want MAJOR.MINOR.PATCH with an optional leading v, like v1.2.1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(tt.in)
			if err == nil {
				t.Fatalf("Decide(%+v) = %+v, want an error", tt.in, got)
			}
			if code := exitstatus.Code(err); code != exitstatus.Usage {
				t.Errorf("exit status = %d, want %d", code, exitstatus.Usage)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v has no *InputError", err)
			}
			if ie.Field != tt.field {
				t.Errorf("field = %s, want %s", ie.Field, tt.field)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRulesOrder(t *testing.T) {
	want := []Rule{RuleTargetDev, RuleCurrentDev, RuleSameVersion, RuleDowngrade, RuleBelowMinimum, RulePrereleaseCrossRelease, RuleAllowed}
	if diff := cmp.Diff(want, Rules()); diff != "" {
		t.Errorf("Rules() (-want +got):\n%s", diff)
	}
}

func BenchmarkDecide(b *testing.B) {
	in := Input{Current: "v1.2.1-rc1", Target: "v1.3.0", Minimum: "v1.2.0", Strict: true}
	for b.Loop() {
		if _, err := Decide(in); err != nil {
			b.Fatal(err)
		}
	}
}
