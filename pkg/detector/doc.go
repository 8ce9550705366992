// Package detector decides, for every VM running on a node, whether it can live-migrate away
// before the node is drained, and why not. It is pure decision logic: it takes a ClusterState of
// plain API objects (read from a live cluster or from files by package source) and returns a
// Report. It does no I/O, never sees flags and never acts on the cluster.
//
// Each reason a VM cannot leave is one concern in a file of its own, with an exported reason
// code; every reason that holds is kept, not just the first:
//
//	nodeselector.go    ReasonNodeSelector
//	hostdevices.go     ReasonHostDevices
//	gpus.go            ReasonGPUs
//	livemigratable.go  ReasonNotLiveMigratable
//	targets.go         ReasonNoTargetNode, and the NodeReason a node is not a target
//	capacity.go        ReasonInsufficientResources (the placement of the VMs leaving together)
//
// analyze.go runs them in that order (Analyze), index.go builds the look-ups over the
// ClusterState once, facts.go adds what the stop-and-restore step needs to know (owned by a
// VirtualMachine, created by the upgrade, paused) and summary.go formats messages.
package detector
