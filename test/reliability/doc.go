// Package reliability holds the integration tests of issue 6 that run the whole command tree
// (cmd.NewRootCommand, in-process) against a real kube-apiserver behind the KubeVirt stand-in:
// injected API faults (transient ones must not fail a command, permanent ones must fail it at
// once and clearly, and no fault may leave a stopped VM unrecorded), bad input, the least
// privilege of deploy/rbac.yaml, secrets kept out of the output, and memory on a huge
// --from-file input. docs/reliability.md maps each fault to the test that shows it. The
// package has no code of its own.
package reliability
