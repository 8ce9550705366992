// Package testenv runs integration tests against a real kube-apiserver and etcd, started with
// controller-runtime's envtest from binaries built from source by hack/build-test-binaries.sh
// (it builds them on first use). Start it once per test package in TestMain. The CRDs installed
// are the project's own (deploy/crds) and the KubeVirt stand-ins (test/crds/kubevirt).
//
// Builders make realistic Nodes, VMs, VMIs, virt-launcher Pods, Upgrades and Versions; the Env's
// Create helpers write them through the real API server and play the controllers that do not
// run here (a node controller's Ready condition, virt-controller's VMI status).
package testenv
