package versionguard

import (
	"strings"
	"testing"
)

func TestParseVersionKind(t *testing.T) {
	tests := []struct {
		in      string
		want    Kind
		release string
	}{
		{"v1.2.1", KindRelease, "1.2.1"},
		{"1.2.1", KindRelease, "1.2.1"},
		{"1.2.1+build", KindRelease, "1.2.1"},
		{"v1.2.1+build.7", KindRelease, "1.2.1"},
		{"v0.0.0", KindRelease, "0.0.0"},
		{"v1.2.1-rc2", KindPrerelease, "1.2.1"},
		{"1.2.1-rc.1+build", KindPrerelease, "1.2.1"},
		{"v1.2.1-0", KindPrerelease, "1.2.1"},
		// Dev versions: anything that is not a strict semantic version after one optional v.
		{"v1.2-head", KindDev, ""},
		{"f024f49a", KindDev, ""},
		{"v1.2", KindDev, ""},
		{"1.2", KindDev, ""},
		{"v1", KindDev, ""},
		{"master", KindDev, ""},
		{"vv1.2.1", KindDev, ""},
		{"V1.2.1", KindDev, ""},
		{"v01.2.1", KindDev, ""},
		{"v1.2.1-", KindDev, ""},
		{"v1.2.1-rc.01", KindDev, ""}, // numeric pre-release identifiers have no leading zero
		{"v1.2.1-rc01", KindPrerelease, "1.2.1"},
		{"v1.2.1.4", KindDev, ""},
		{"v", KindDev, ""},
		{"v1.2.3-dirty+g1234abc.é", KindDev, ""},
		{"é", KindDev, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q) error = %v", tt.in, err)
			}
			if got := v.Kind(); got != tt.want {
				t.Errorf("Kind() = %s, want %s", got, tt.want)
			}
			if got := v.IsDev(); got != (tt.want == KindDev) {
				t.Errorf("IsDev() = %t", got)
			}
			if got := v.Release(); got != tt.release {
				t.Errorf("Release() = %q, want %q", got, tt.release)
			}
			if got := v.String(); got != tt.in {
				t.Errorf("String() = %q, want the input", got)
			}
		})
	}
}

func TestParseVersionErrors(t *testing.T) {
	tests := map[string]string{
		"empty":           "",
		"space inside":    "v1.2 head",
		"leading space":   " v1.2.1",
		"trailing \\n":    "v1.2.1\n",
		"tab":             "v1.2.1\t",
		"control":         "v1.2.1\x00",
		"invalid utf-8":   "v1.2.\xff",
		"too long":        "v" + strings.Repeat("1", MaxVersionLength),
		"non-breaking sp": "v1.2.1\u00a0",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if v, err := ParseVersion(in); err == nil {
				t.Errorf("ParseVersion(%q) = %v, want an error", in, v)
			}
		})
	}
	if _, err := ParseVersion(strings.Repeat("a", MaxVersionLength)); err != nil {
		t.Errorf("a dev version of exactly MaxVersionLength bytes: %v", err)
	}
}

func TestParseSemver(t *testing.T) {
	for _, in := range []string{"v1.2.0", "1.2.0", "v1.2.0-rc1", "1.2.0+b"} {
		if _, err := ParseSemver(in); err != nil {
			t.Errorf("ParseSemver(%q) error = %v", in, err)
		}
	}
	for _, in := range []string{"", "v1.2", "f024f49a", "v1.2-head", " v1.2.0"} {
		if _, err := ParseSemver(in); err == nil {
			t.Errorf("ParseSemver(%q) succeeded, want an error", in)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"v1.2.1", "1.2.1", 0},
		{"v1.2.1", "1.2.1+build", 0},
		{"v1.2.1+a", "v1.2.1+b", 0},
		{"v1.2.1-rc1", "v1.2.1", -1},
		{"v1.2.1-rc1", "v1.2.1-rc2", -1},
		{"v1.2.1-rc.2", "v1.2.1-rc.10", -1},
		{"v1.2.1", "v1.2.0", 1},
		{"v1.10.0", "v1.9.9", 1},
		{"v2.0.0-alpha", "v1.99.99", 1},
	}
	for _, tt := range tests {
		a, _ := ParseVersion(tt.a)
		b, _ := ParseVersion(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}
