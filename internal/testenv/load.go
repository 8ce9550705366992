package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
)

// LoadClusterState writes a cluster state, as package source reads it from a file, through the
// API server: nodes (made Ready as their status says), then VMs, VMIs and pods with their
// status. The server assigns new UIDs, so the VMIs' owner references to their VMs and the pods'
// owner references and kubevirt.io/created-by labels are rewritten to the new ones.
func (e *Env) LoadClusterState(ctx context.Context, state detector.ClusterState) error {
	for i := range state.Nodes {
		node := state.Nodes[i].DeepCopy()
		clearServerFields(&node.ObjectMeta)
		if _, err := e.CreateNode(ctx, node); err != nil {
			return err
		}
	}
	newUID := map[types.UID]types.UID{}
	for i := range state.VMs {
		vm := state.VMs[i].DeepCopy()
		old := vm.UID
		clearServerFields(&vm.ObjectMeta)
		status := vm.Status
		if err := e.EnsureNamespace(ctx, vm.Namespace); err != nil {
			return err
		}
		if err := e.Client.Create(ctx, vm); err != nil {
			return fmt.Errorf("create vm %s/%s: %w", vm.Namespace, vm.Name, err)
		}
		vm.Status = status
		if err := e.Client.Status().Update(ctx, vm); err != nil {
			return fmt.Errorf("update vm %s/%s status: %w", vm.Namespace, vm.Name, err)
		}
		newUID[old] = vm.UID
	}
	for i := range state.VMIs {
		vmi := state.VMIs[i].DeepCopy()
		old := vmi.UID
		clearServerFields(&vmi.ObjectMeta)
		remapOwners(vmi.OwnerReferences, newUID)
		if err := e.EnsureNamespace(ctx, vmi.Namespace); err != nil {
			return err
		}
		created, err := e.CreateVMI(ctx, vmi)
		if err != nil {
			return err
		}
		newUID[old] = created.UID
	}
	for i := range state.Pods {
		pod := state.Pods[i].DeepCopy()
		clearServerFields(&pod.ObjectMeta)
		remapOwners(pod.OwnerReferences, newUID)
		if uid, ok := newUID[types.UID(pod.Labels[CreatedByLabel])]; ok {
			pod.Labels[CreatedByLabel] = string(uid)
		}
		if pod.Spec.ServiceAccountName == "" {
			pod.Spec.ServiceAccountName = "default"
		}
		if _, err := e.CreatePod(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

func clearServerFields(meta *metav1.ObjectMeta) {
	meta.UID = ""
	meta.ResourceVersion = ""
	meta.CreationTimestamp = metav1.Time{}
	meta.Generation = 0
	meta.ManagedFields = nil
}

func remapOwners(refs []metav1.OwnerReference, newUID map[types.UID]types.UID) {
	for i := range refs {
		if uid, ok := newUID[refs[i].UID]; ok {
			refs[i].UID = uid
		}
	}
}

// LoadUpgradeFile creates the Upgrades (with status) and Versions of a YAML file such as
// examples/upgrade.yaml.
func (e *Env) LoadUpgradeFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	decoder := serializer.NewCodecFactory(kube.NewScheme()).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch o := obj.(type) {
		case *cloudweavv1beta1.Upgrade:
			clearServerFields(&o.ObjectMeta)
			if _, err := e.CreateUpgrade(ctx, o); err != nil {
				return err
			}
		case *cloudweavv1beta1.Version:
			clearServerFields(&o.ObjectMeta)
			if _, err := e.CreateVersion(ctx, o); err != nil {
				return err
			}
		}
	}
}

// Reset deletes every node, VM, VMI, pod, restore record and event that tests created, so that
// the next test starts from an empty cluster (namespaces stay: no namespace controller runs here).
func (e *Env) Reset(ctx context.Context) error {
	nss, err := e.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		opts := []client.DeleteAllOfOption{client.InNamespace(ns.Name), client.GracePeriodSeconds(0)}
		for _, obj := range []client.Object{&kubevirtv1.VirtualMachine{}, &kubevirtv1.VirtualMachineInstance{}, &corev1.Pod{}, &corev1.ConfigMap{}, &corev1.Event{}} {
			if _, isCM := obj.(*corev1.ConfigMap); isCM && ns.Name != SystemNamespace {
				continue
			}
			if err := e.Client.DeleteAllOf(ctx, obj, opts...); err != nil {
				return fmt.Errorf("delete %T in %s: %w", obj, ns.Name, err)
			}
		}
		if ns.Name == SystemNamespace {
			if err := e.Client.DeleteAllOf(ctx, &cloudweavv1beta1.Upgrade{}, opts...); err != nil {
				return err
			}
			if err := e.Client.DeleteAllOf(ctx, &cloudweavv1beta1.Version{}, opts...); err != nil {
				return err
			}
		}
	}
	return e.Client.DeleteAllOf(ctx, &corev1.Node{})
}
