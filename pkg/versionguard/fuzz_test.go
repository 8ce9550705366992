package versionguard

import (
	"errors"
	"testing"
)

// FuzzDecide checks that the guard never panics, that an error is always an *InputError, that a
// decision agrees with its rule, and that a path from a version to itself is always allowed.
func FuzzDecide(f *testing.F) {
	seeds := []struct {
		current, target, minimum string
		strict                   bool
	}{
		{"v1.2.1", "v1.3.0", "v1.2.0", true},
		{"v1.1.1", "v1.3.0", "v1.2.0", true},
		{"v1.2-head", "v1.3.0", "", true},
		{"v1.2-head", "v1.3.0", "", false},
		{"f024f49a", "f024f49a", "", true},
		{"v1.2.1-rc1", "v1.2.1-rc2", "", true},
		{"v1.2.1-rc1", "v1.3.0", "", true},
		{"v1.3.0", "v1.2.1", "", true},
		{"1.2.1+build", "v1.2.1", "v1.2.0+meta", true},
		{"", "v1.3.0", "", true},
		{"v1.2.1", "v1.3.0", "v1.2", true},
		{"v1.2 head", "v1.3.0", "", false},
		{"v1.2.1-rc.1.2.3-x-y+zz", "1.2.1-rc.1.2.4", "1.0.0-0", true},
	}
	for _, s := range seeds {
		f.Add(s.current, s.target, s.minimum, s.strict)
	}
	f.Fuzz(func(t *testing.T, current, target, minimum string, strict bool) {
		d, err := Decide(Input{Current: current, Target: target, Minimum: minimum, Strict: strict})
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Decide(%q, %q, %q) error %v is not an *InputError", current, target, minimum, err)
			}
		} else {
			if d.Allowed != RuleAllows(d.Rule, strict) {
				t.Fatalf("Decide(%q, %q, %q) = %+v: allowed disagrees with the rule", current, target, minimum, d)
			}
			if d.Message == "" {
				t.Fatalf("Decide(%q, %q, %q) = %+v: empty message", current, target, minimum, d)
			}
		}

		for _, v := range []string{current, target} {
			self, err := Decide(Input{Current: v, Target: v, Minimum: minimum, Strict: strict})
			_, vErr := ParseVersion(v)
			_, mErr := ParseSemver(minimum)
			parses := vErr == nil && (minimum == "" || mErr == nil)
			if parses != (err == nil) {
				t.Fatalf("Decide(%q to itself, minimum %q) error = %v, want an error only when an input does not parse", v, minimum, err)
			}
			if err == nil && !self.Allowed {
				t.Fatalf("Decide(%q to itself, minimum %q) = %+v, want allowed", v, minimum, self)
			}
		}
	})
}
