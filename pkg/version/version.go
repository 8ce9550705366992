// Package version holds the version and commit that the build stamps into the binary with
// -ldflags "-X github.com/cloudweav/upgrade-helper/pkg/version.Version=... -X ...Commit=...".
// Under `go run` they stay "dev" and "unknown".
package version

import (
	"fmt"
	"runtime"
)

var (
	// Version is the release of upgrade-helper.
	Version = "dev"
	// Commit is the source commit the binary was built from.
	Commit = "unknown"
)

// String is the one-line version text that `upgrade-helper version` prints.
func String() string {
	return fmt.Sprintf("upgrade-helper version %s, commit %s, %s %s/%s", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
