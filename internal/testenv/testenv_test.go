package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

var env *Env

func TestMain(m *testing.M) {
	var err error
	if env, err = Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func TestCreateAndReadBack(t *testing.T) {
	ctx := context.Background()

	tainted := NewNode("rb-node-2")
	tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	for _, n := range []*corev1.Node{NewNode("rb-node-1"), tainted, NewWitnessNode("rb-witness")} {
		if _, err := env.CreateNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	node, err := env.Kube.CoreV1().Nodes().Get(ctx, "rb-node-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tainted.Spec.Taints, node.Spec.Taints); diff != "" {
		t.Errorf("taints after the harness cleared admission's (-want +got):\n%s", diff)
	}
	if got := node.Status.Conditions[0]; got.Type != corev1.NodeReady || got.Status != corev1.ConditionTrue {
		t.Errorf("node condition = %v, want Ready True", got)
	}
	if node.UID == "" {
		t.Error("node has no server-assigned UID")
	}

	vm, err := env.CreateVM(ctx, NewVM("rb", "vm-a"), "rb-node-1", "2", "4Gi", func(vmi *kubevirtv1.VirtualMachineInstance) {
		vmi.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "rb-node-1"}
	})
	if err != nil {
		t.Fatal(err)
	}
	var vmi kubevirtv1.VirtualMachineInstance
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rb", Name: "vm-a"}, &vmi); err != nil {
		t.Fatal(err)
	}
	if vmi.Status.Phase != kubevirtv1.Running || vmi.Status.NodeName != "rb-node-1" {
		t.Errorf("vmi status = %s on %q, want Running on rb-node-1", vmi.Status.Phase, vmi.Status.NodeName)
	}
	if diff := cmp.Diff(map[string]string{"kubernetes.io/hostname": "rb-node-1"}, vmi.Spec.NodeSelector); diff != "" {
		t.Errorf("vmi node selector (-want +got):\n%s", diff)
	}
	if len(vmi.OwnerReferences) != 1 || vmi.OwnerReferences[0].UID != vm.VM.UID {
		t.Errorf("vmi owner = %v, want the VM %s", vmi.OwnerReferences, vm.VM.UID)
	}
	pods, err := env.Kube.CoreV1().Pods("rb").List(ctx, metav1.ListOptions{LabelSelector: CreatedByLabel + "=" + string(vmi.UID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning || pods.Items[0].Spec.NodeName != "rb-node-1" {
		t.Fatalf("launcher pods = %+v, want one Running on rb-node-1", pods.Items)
	}

	up, err := env.CreateUpgrade(ctx, NewUpgrade("rb-upgrade", "v1.2.1", "v1.3.0", "v1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.CreateVersion(ctx, NewVersion("v1.3.0", "v1.2.0")); err != nil {
		t.Fatal(err)
	}
	var gotUp cloudweavv1beta1.Upgrade
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(up), &gotUp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(up.Status, gotUp.Status); diff != "" {
		t.Errorf("upgrade status read back (-want +got):\n%s", diff)
	}
	var gotVersion cloudweavv1beta1.Version
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: SystemNamespace, Name: "v1.3.0"}, &gotVersion); err != nil {
		t.Fatal(err)
	}
	if gotVersion.Spec.MinUpgradableVersion != "v1.2.0" {
		t.Errorf("version minUpgradableVersion = %q, want v1.2.0", gotVersion.Spec.MinUpgradableVersion)
	}
}
