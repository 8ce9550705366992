package versionguard

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
)

// Kind is the class of a version string, as the contract defines it.
type Kind string

const (
	// KindDev is any version that is not a strict semantic version after an optional leading
	// "v": v1.2-head, f024f49a, v1.2, master.
	KindDev Kind = "dev"
	// KindPrerelease is a semantic version with a pre-release part: v1.2.1-rc2.
	KindPrerelease Kind = "prerelease"
	// KindRelease is a formal release: a semantic version without a pre-release part, with or
	// without build metadata: v1.2.1, 1.2.1+build.
	KindRelease Kind = "release"
)

// MaxVersionLength is the longest version string accepted, in bytes.
const MaxVersionLength = semver.MaxVersionLen

// Version is a parsed version string.
type Version struct {
	raw    string
	semver *semver.Version // nil for a dev version
}

// errEmpty and friends are the reasons a string is not a version at all.
var (
	errEmpty       = errors.New("empty")
	errTooLong     = fmt.Errorf("longer than %d bytes", MaxVersionLength)
	errInvalidUTF8 = errors.New("not valid UTF-8")
	errInvisible   = errors.New("contains white space or control characters")
)

// ParseVersion parses s. Any non-empty string of visible characters is a version: a strict
// semantic version after an optional single leading "v" is a prerelease or a release, anything
// else is a dev version. It fails for an empty string, one longer than MaxVersionLength, or one
// holding white space, control characters or invalid UTF-8.
func ParseVersion(s string) (Version, error) {
	if err := checkVisible(s); err != nil {
		return Version{}, err
	}
	sv, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	if err != nil {
		return Version{raw: s}, nil
	}
	return Version{raw: s, semver: sv}, nil
}

// ParseSemver parses s as a strict semantic version after an optional single leading "v". It
// fails for anything else, dev versions included.
func ParseSemver(s string) (Version, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return Version{}, err
	}
	if v.semver == nil {
		return Version{}, errors.New("not a semantic version (want MAJOR.MINOR.PATCH with an optional leading v, like v1.2.1)")
	}
	return v, nil
}

func checkVisible(s string) error {
	switch {
	case s == "":
		return errEmpty
	case len(s) > MaxVersionLength:
		return errTooLong
	case !utf8.ValidString(s):
		return errInvalidUTF8
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			return errInvisible
		}
	}
	return nil
}

// String returns the version as it was given.
func (v Version) String() string { return v.raw }

// Kind returns the class of the version.
func (v Version) Kind() Kind {
	switch {
	case v.semver == nil:
		return KindDev
	case v.semver.Prerelease() != "":
		return KindPrerelease
	default:
		return KindRelease
	}
}

// IsDev reports whether v is a dev version.
func (v Version) IsDev() bool { return v.semver == nil }

// Compare returns -1, 0 or 1 as v is lower than, the same as or higher than o by semantic
// version precedence. Both must be semantic versions; a dev version compares by its string.
func (v Version) Compare(o Version) int {
	if v.semver == nil || o.semver == nil {
		return strings.Compare(v.raw, o.raw)
	}
	return v.semver.Compare(o.semver)
}

// Release returns the release a semantic version belongs to, MAJOR.MINOR.PATCH without "v",
// pre-release or build metadata; "" for a dev version.
func (v Version) Release() string {
	if v.semver == nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v.semver.Major(), v.semver.Minor(), v.semver.Patch())
}
