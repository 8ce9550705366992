package versionguard

import "fmt"

// Rule is the code of the guard rule that decided a path.
type Rule string

// The rule codes, one per rule, in the order the rules apply.
const (
	// RuleTargetDev: the target is a dev version; upgrading to dev is always allowed.
	RuleTargetDev Rule = "TargetDev"
	// RuleCurrentDev: the current version is a dev version; rejected in strict mode, allowed otherwise.
	RuleCurrentDev Rule = "CurrentDev"
	// RuleSameVersion: current and target are the same version; allowed.
	RuleSameVersion Rule = "SameVersion"
	// RuleDowngrade: the target is lower than the current version; rejected.
	RuleDowngrade Rule = "Downgrade"
	// RuleBelowMinimum: the current version is lower than the minimum upgradable version; rejected.
	RuleBelowMinimum Rule = "BelowMinimum"
	// RulePrereleaseCrossRelease: the current version is a prerelease and the target belongs to
	// another release; rejected.
	RulePrereleaseCrossRelease Rule = "PrereleaseCrossRelease"
	// RuleAllowed: no other rule applied; allowed.
	RuleAllowed Rule = "Allowed"
)

// path is a validated upgrade path the rules look at.
type path struct {
	current, target Version
	minimum         *Version // nil when there is no minimum
	strict          bool
}

// verdict is what a rule that applies says.
type verdict struct {
	allowed bool
	message string
}

// rule is one of the guard's rules: check returns the verdict and true when the rule applies.
type rule struct {
	code  Rule
	check func(p path) (verdict, bool)
}

// rules are the guard's rules in the order they apply; the first that applies decides.
var rules = []rule{
	{RuleTargetDev, targetDev},
	{RuleCurrentDev, currentDev},
	{RuleSameVersion, sameVersion},
	{RuleDowngrade, downgrade},
	{RuleBelowMinimum, belowMinimum},
	{RulePrereleaseCrossRelease, prereleaseCrossRelease},
	{RuleAllowed, allowed},
}

// Rules returns the rule codes in the order the rules apply.
func Rules() []Rule {
	codes := make([]Rule, len(rules))
	for i, r := range rules {
		codes[i] = r.code
	}
	return codes
}

// RuleAllows reports whether a path decided by rule r is allowed. RuleCurrentDev depends on
// strict mode.
func RuleAllows(r Rule, strict bool) bool {
	switch r {
	case RuleTargetDev, RuleSameVersion, RuleAllowed:
		return true
	case RuleCurrentDev:
		return !strict
	}
	return false
}

func targetDev(p path) (verdict, bool) {
	if !p.target.IsDev() {
		return verdict{}, false
	}
	return verdict{true, fmt.Sprintf("the target %s is a dev version, and upgrading to a dev version is always allowed", p.target)}, true
}

func currentDev(p path) (verdict, bool) {
	if !p.current.IsDev() {
		return verdict{}, false
	}
	if p.strict {
		return verdict{false, fmt.Sprintf("the current version %s is a dev version, and strict mode does not allow upgrading from a dev version to %s %s",
			p.current, p.target.Kind(), p.target)}, true
	}
	return verdict{true, fmt.Sprintf("the current version %s is a dev version; upgrading from it to %s is allowed because strict mode is off", p.current, p.target)}, true
}

func sameVersion(p path) (verdict, bool) {
	if p.current.Compare(p.target) != 0 {
		return verdict{}, false
	}
	if p.current.String() == p.target.String() {
		return verdict{true, fmt.Sprintf("the current version %s is already the target version", p.current)}, true
	}
	return verdict{true, fmt.Sprintf("the current version %s and the target %s are the same version", p.current, p.target)}, true
}

func downgrade(p path) (verdict, bool) {
	if p.target.Compare(p.current) >= 0 {
		return verdict{}, false
	}
	return verdict{false, fmt.Sprintf("the target %s is lower than the current version %s, and downgrades are not allowed", p.target, p.current)}, true
}

func belowMinimum(p path) (verdict, bool) {
	if p.minimum == nil || p.current.Compare(*p.minimum) >= 0 {
		return verdict{}, false
	}
	return verdict{false, fmt.Sprintf("%s is below the minimum %s required to reach %s: upgrade to %s or later first",
		p.current, p.minimum, p.target, p.minimum)}, true
}

func prereleaseCrossRelease(p path) (verdict, bool) {
	if p.current.Kind() != KindPrerelease || p.current.Release() == p.target.Release() {
		return verdict{}, false
	}
	return verdict{false, fmt.Sprintf("the prerelease %s can only be upgraded within release %s (to a later %s prerelease or to %s itself), and %s belongs to release %s",
		p.current, p.current.Release(), p.current.Release(), p.current.Release(), p.target, p.target.Release())}, true
}

func allowed(p path) (verdict, bool) {
	msg := fmt.Sprintf("upgrading from %s %s to %s %s is allowed", p.current.Kind(), p.current, p.target.Kind(), p.target)
	if p.minimum != nil {
		msg += fmt.Sprintf(" (the minimum upgradable version is %s)", p.minimum)
	}
	return verdict{true, msg}, true
}
