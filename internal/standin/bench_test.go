package standin_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// BenchmarkGetNode measures a GET straight to the API server and through the stand-in (its
// logging, fault matching and proxying).
func BenchmarkGetNode(b *testing.B) {
	via, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cs   kubernetes.Interface
	}{{"direct", env.Kube}, {"standin", via}} {
		b.Run(bc.name, func(b *testing.B) {
			srv.ResetLog()
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				if _, err := bc.cs.CoreV1().Nodes().Get(ctx, firstFitNode, metav1.GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
