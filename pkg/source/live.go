package source

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// DefaultPageSize is the number of objects asked for per LIST page when Live.PageSize is 0.
const DefaultPageSize int64 = 500

// NodeNameLabel is the label KubeVirt puts on a VMI with the name of the node it runs on.
const NodeNameLabel = "kubevirt.io/nodeName"

// unfinishedPods selects the pods that still hold their node's resources.
var unfinishedPods = fields.AndSelectors(
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
).String()

// Live reads the cluster state from the API server with plain paginated LIST requests: no
// informers, no watches, no caches, no sleeps.
type Live struct {
	// Kube reads the core objects: nodes and pods.
	Kube kubernetes.Interface
	// Client reads KubeVirt's objects. It must not be cache-backed (build it with client.New),
	// so that each List is one request to the server.
	Client client.Client
	// PageSize is the Limit of each LIST page; 0 means DefaultPageSize.
	PageSize int64
}

// Read returns what the detector needs to judge the VMs on nodeName. It makes these LIST
// requests, each paginated with Limit and Continue (one request per page):
//
//  1. all nodes: the source node (it must exist, else an exit-2 error naming it; no GET is
//     spent on it) and every candidate target;
//  2. the VMIs of all namespaces labelled kubevirt.io/nodeName=NODE;
//  3. when there are such VMIs, the VirtualMachines of their namespace (or of all namespaces
//     when they span several), of which only those owning the VMIs are kept: one LIST instead
//     of one GET per VM;
//  4. the unfinished pods of all nodes (field selector
//     status.phase!=Succeeded,status.phase!=Failed). One LIST serves both needs: the
//     virt-launcher pods of the running VMIs are unfinished pods on NODE, and the unfinished
//     pods of the other nodes are what occupy the candidate targets. Pods not bound to a node
//     are dropped, as they occupy none.
//
// So a run costs 3 or 4 requests on a cluster that fits in single pages. A page continuation
// that expired (410 Gone) restarts that list once from the start. An API error is classified by
// exitstatus.ForAPIError. PodsKnown is always true.
func (l Live) Read(ctx context.Context, nodeName string) (detector.ClusterState, error) {
	var state detector.ClusterState
	pageSize := l.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}

	nodes, err := listAll(ctx, pageSize, func(opts metav1.ListOptions) ([]corev1.Node, string, error) {
		list, err := l.Kube.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return list.Items, list.Continue, nil
	})
	if err != nil {
		return state, exitstatus.ForAPIError(err, "list nodes")
	}
	if !hasNode(nodes, nodeName) {
		return state, exitstatus.Usagef("node %q not found in the cluster", nodeName)
	}
	state.Nodes = nodes

	vmis, err := listAll(ctx, pageSize, func(opts metav1.ListOptions) ([]kubevirtv1.VirtualMachineInstance, string, error) {
		var list kubevirtv1.VirtualMachineInstanceList
		err := l.Client.List(ctx, &list,
			client.MatchingLabels{NodeNameLabel: nodeName},
			client.Limit(opts.Limit), client.Continue(opts.Continue))
		return list.Items, list.Continue, err
	})
	if err != nil {
		return state, exitstatus.ForAPIError(err, "list virtualmachineinstances on node "+nodeName)
	}
	state.VMIs = vmis

	if len(vmis) > 0 {
		namespace := vmiNamespace(vmis)
		vms, err := listAll(ctx, pageSize, func(opts metav1.ListOptions) ([]kubevirtv1.VirtualMachine, string, error) {
			var list kubevirtv1.VirtualMachineList
			err := l.Client.List(ctx, &list,
				client.InNamespace(namespace),
				client.Limit(opts.Limit), client.Continue(opts.Continue))
			return list.Items, list.Continue, err
		})
		if err != nil {
			return state, exitstatus.ForAPIError(err, "list virtualmachines")
		}
		state.VMs = owners(vms, vmis)
	}

	pods, err := listAll(ctx, pageSize, func(opts metav1.ListOptions) ([]corev1.Pod, string, error) {
		opts.FieldSelector = unfinishedPods
		list, err := l.Kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return list.Items, list.Continue, nil
	})
	if err != nil {
		return state, exitstatus.ForAPIError(err, "list pods")
	}
	state.Pods = boundUnfinished(pods)
	state.PodsKnown = true
	return state, nil
}

// listAll follows the continuation of a paginated LIST until the last page. If the server
// says the continuation expired, the list starts over once.
func listAll[T any](ctx context.Context, pageSize int64, page func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var all []T
	restarted := false
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		items, next, err := page(opts)
		if err != nil {
			if apierrors.IsResourceExpired(err) && opts.Continue != "" && !restarted {
				restarted = true
				all = nil
				opts.Continue = ""
				continue
			}
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		opts.Continue = next
	}
}

func hasNode(nodes []corev1.Node, name string) bool {
	for i := range nodes {
		if nodes[i].Name == name {
			return true
		}
	}
	return false
}

// vmiNamespace is the namespace of the VMIs when they share one, else all namespaces.
func vmiNamespace(vmis []kubevirtv1.VirtualMachineInstance) string {
	namespace := vmis[0].Namespace
	for i := range vmis {
		if vmis[i].Namespace != namespace {
			return metav1.NamespaceAll
		}
	}
	return namespace
}

// owners keeps the VMs that own one of the VMIs: an owner reference of the VMI names a
// VirtualMachine of its namespace, with the same UID when the reference carries one.
func owners(vms []kubevirtv1.VirtualMachine, vmis []kubevirtv1.VirtualMachineInstance) []kubevirtv1.VirtualMachine {
	wanted := map[types.NamespacedName]types.UID{}
	for i := range vmis {
		for _, ref := range vmis[i].OwnerReferences {
			if ref.Kind != "VirtualMachine" {
				continue
			}
			wanted[types.NamespacedName{Namespace: vmis[i].Namespace, Name: ref.Name}] = ref.UID
		}
	}
	var kept []kubevirtv1.VirtualMachine
	for i := range vms {
		uid, ok := wanted[types.NamespacedName{Namespace: vms[i].Namespace, Name: vms[i].Name}]
		if ok && (uid == "" || uid == vms[i].UID) {
			kept = append(kept, vms[i])
		}
	}
	return kept
}

// boundUnfinished keeps the pods bound to a node that have not finished. The field selector
// already asked the server for unfinished pods; checking again costs nothing.
func boundUnfinished(pods []corev1.Pod) []corev1.Pod {
	kept := pods[:0]
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		kept = append(kept, *p)
	}
	return kept
}
