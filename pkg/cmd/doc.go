// Package cmd holds upgrade-helper's cobra commands. Each command has an Options struct with
// Complete, Validate and Run(ctx); flags are bound to its fields and it only turns them into the
// typed configuration of a library package (versionguard, detector, shutdown, restore), which
// never sees flags. Errors carry their exit status (package exitstatus); only main exits.
package cmd
