// Package v1beta1 holds the Go types of Cloudweav's cloudweavhci.io/v1beta1 API that
// upgrade-helper reads: Upgrade and Version. Their CRDs in deploy/crds are generated from these
// types with controller-gen (make generate), as is zz_generated.deepcopy.go.
//
// +kubebuilder:object:generate=true
// +groupName=cloudweavhci.io
package v1beta1
