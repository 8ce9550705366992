//go:build tools

// Package tools pins k8s.io/kubernetes so that `go build k8s.io/kubernetes/cmd/kube-apiserver`
// works inside this nested module. It is kept out of the tool's own go.mod on purpose.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
