// Package restore starts again the VMs that an upgrade stopped on a node, as its restore record
// names them (package record). It waits for KubeVirt's API to be healthy first, starts the VMs
// through KubeVirt's start subresource in parallel up to a bound, retries transient failures,
// and is safe to run any number of times: a VM that already runs counts as started, one that no
// longer exists is skipped with a warning.
package restore
