// Package kube builds the clients upgrade-helper talks to the cluster with: a client-go
// clientset for core objects, and a controller-runtime client (no cache, no informers) whose
// scheme knows core, KubeVirt (kubevirt.io/v1) and Cloudweav (cloudweavhci.io/v1beta1) types.
package kube
