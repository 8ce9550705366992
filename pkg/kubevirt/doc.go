// Package kubevirt is upgrade-helper's client for KubeVirt's subresource API
// (subresources.kubevirt.io/v1): stopping and starting a VirtualMachine through its stop and
// start subresources, as virtctl does, and virt-api's health check. KubeVirt decides what a
// stop or start means for each run strategy; this package never edits a VM itself.
//
// Errors keep the API server's Status, so k8s.io/apimachinery/pkg/api/errors predicates
// (IsNotFound, IsConflict, IsForbidden...) work on them, and IsAlreadyStopped and
// IsAlreadyRunning recognise KubeVirt's "nothing to do" conflicts. Retrying is the caller's
// business.
package kubevirt
