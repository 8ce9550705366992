package versionguard

import (
	"fmt"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// Input is an upgrade path to decide.
type Input struct {
	// Current is the version the cluster runs now.
	Current string
	// Target is the version the upgrade installs.
	Target string
	// Minimum is the minimum upgradable version; empty means none.
	Minimum string
	// Strict rejects upgrades from a dev version.
	Strict bool
}

// Decision is the guard's answer for one path and why.
type Decision struct {
	Current string `json:"current"`
	Target  string `json:"target"`
	// Minimum is empty when there is none.
	Minimum string `json:"minimum"`
	Strict  bool   `json:"strict"`
	Allowed bool   `json:"allowed"`
	// Rule is the code of the rule that decided.
	Rule Rule `json:"rule"`
	// Message says why, in a sentence fit for an operator.
	Message string `json:"message"`
}

// Field names an input of the guard.
type Field string

// The guard's inputs.
const (
	FieldCurrent Field = "current"
	FieldTarget  Field = "target"
	FieldMinimum Field = "minimum"
)

// InputError is an input the guard cannot decide with. Decide returns it wrapped with exit
// status 2, so that the caller can find which field was wrong with errors.As and say where the
// value came from.
type InputError struct {
	Field Field
	Value string
	Err   error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("invalid %s version %s: %v", e.Field, quoteShort(e.Value), e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// quoteShort quotes s, cut to a readable length.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// Decide applies the guard's rules to the path in order and returns the decision of the first
// that applies. It fails (exit status 2, an *InputError in the chain) for an empty or
// unparsable current or target version and for a minimum that is not a semantic version.
func Decide(in Input) (Decision, error) {
	current, err := ParseVersion(in.Current)
	if err != nil {
		return Decision{}, exitstatus.Usagef("%w", &InputError{Field: FieldCurrent, Value: in.Current, Err: err})
	}
	target, err := ParseVersion(in.Target)
	if err != nil {
		return Decision{}, exitstatus.Usagef("%w", &InputError{Field: FieldTarget, Value: in.Target, Err: err})
	}
	p := path{current: current, target: target, strict: in.Strict}
	if in.Minimum != "" {
		minimum, err := ParseSemver(in.Minimum)
		if err != nil {
			return Decision{}, exitstatus.Usagef("%w", &InputError{Field: FieldMinimum, Value: in.Minimum, Err: err})
		}
		p.minimum = &minimum
	}
	d := Decision{Current: in.Current, Target: in.Target, Minimum: in.Minimum, Strict: in.Strict}
	for _, r := range rules {
		if v, ok := r.check(p); ok {
			d.Allowed, d.Rule, d.Message = v.allowed, r.code, v.message
			return d, nil
		}
	}
	// Unreachable: the last rule always applies.
	return Decision{}, fmt.Errorf("no rule decided the path %s to %s", in.Current, in.Target)
}
