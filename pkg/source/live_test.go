package source

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kfake "k8s.io/client-go/kubernetes/fake"
	ktesting "k8s.io/client-go/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// fakeAPI plays the API server for Live: client-go's fake clientset for nodes and pods and
// controller-runtime's fake client for KubeVirt's objects, both made to honour what the real
// server does and the fakes do not (field selectors, Limit and Continue), and to log every
// LIST request.
type fakeAPI struct {
	kube     *kfake.Clientset
	client   client.Client
	requests []string
	// fail, when set, may turn a request into an error: resource, namespace and options of
	// the request.
	fail func(resource string, opts metav1.ListOptions) error
}

func newFakeAPI(t *testing.T, objs ...runtime.Object) *fakeAPI {
	t.Helper()
	api := &fakeAPI{}
	var core, kubevirt []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *kubevirtv1.VirtualMachine, *kubevirtv1.VirtualMachineInstance:
			kubevirt = append(kubevirt, o)
		default:
			core = append(core, o)
		}
	}
	api.kube = kfake.NewClientset(core...)
	api.kube.PrependReactor("list", "*", api.listCore)

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := kubevirtv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	api.client = crfake.NewClientBuilder().WithScheme(scheme).WithRuntimeObjects(kubevirt...).
		WithInterceptorFuncs(interceptor.Funcs{List: api.listKubeVirt}).Build()
	return api
}

func (api *fakeAPI) live(pageSize int64) Live {
	return Live{Kube: api.kube, Client: api.client, PageSize: pageSize}
}

// record logs a request as "resource ns=NS labels=L fields=F limit=N continue=C", leaving
// out what is empty.
func (api *fakeAPI) record(resource, namespace string, opts metav1.ListOptions) error {
	parts := []string{resource}
	if namespace != "" {
		parts = append(parts, "ns="+namespace)
	}
	if opts.LabelSelector != "" {
		parts = append(parts, "labels="+opts.LabelSelector)
	}
	if opts.FieldSelector != "" {
		parts = append(parts, "fields="+opts.FieldSelector)
	}
	parts = append(parts, fmt.Sprintf("limit=%d", opts.Limit))
	if opts.Continue != "" {
		parts = append(parts, "continue="+opts.Continue)
	}
	api.requests = append(api.requests, strings.Join(parts, " "))
	if api.fail != nil {
		return api.fail(resource, opts)
	}
	return nil
}

func (api *fakeAPI) listCore(action ktesting.Action) (bool, runtime.Object, error) {
	list := action.(ktesting.ListActionImpl)
	opts := list.GetListOptions()
	resource := list.GetResource().Resource
	if err := api.record(resource, list.GetNamespace(), opts); err != nil {
		return true, nil, err
	}
	obj, err := api.kube.Tracker().List(list.GetResource(), list.GetKind(), list.GetNamespace())
	if err != nil {
		return true, nil, err
	}
	labelSel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	fieldSel, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	err = paginate(obj, opts, func(o runtime.Object) bool {
		m, _ := meta.Accessor(o)
		set := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
		if p, ok := o.(*corev1.Pod); ok {
			set["spec.nodeName"] = p.Spec.NodeName
			set["status.phase"] = string(p.Status.Phase)
		}
		return labelSel.Matches(labels.Set(m.GetLabels())) && fieldSel.Matches(set)
	})
	return true, obj, err
}

func (api *fakeAPI) listKubeVirt(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	resource := map[string]string{
		"*v1.VirtualMachineList":         "virtualmachines",
		"*v1.VirtualMachineInstanceList": "virtualmachineinstances",
	}[fmt.Sprintf("%T", list)]
	raw := lo.AsListOptions()
	if err := api.record(resource, lo.Namespace, *raw); err != nil {
		return err
	}
	var sub []client.ListOption
	if lo.Namespace != "" {
		sub = append(sub, client.InNamespace(lo.Namespace))
	}
	if lo.LabelSelector != nil {
		sub = append(sub, client.MatchingLabelsSelector{Selector: lo.LabelSelector})
	}
	if err := c.List(ctx, list, sub...); err != nil {
		return err
	}
	return paginate(list, *raw, func(runtime.Object) bool { return true })
}

// paginate keeps the items of list that match, sorted by namespace and name, and cuts the page
// that opts asks for; the continuation is the offset of the next page.
func paginate(list runtime.Object, opts metav1.ListOptions, match func(runtime.Object) bool) error {
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	var kept []runtime.Object
	for _, o := range items {
		if match(o) {
			kept = append(kept, o)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		a, _ := meta.Accessor(kept[i])
		b, _ := meta.Accessor(kept[j])
		return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
	})
	start := 0
	if opts.Continue != "" {
		if start, err = strconv.Atoi(opts.Continue); err != nil || start > len(kept) {
			return apierrors.NewBadRequest("bad continue token")
		}
	}
	end, next := len(kept), ""
	if opts.Limit > 0 && start+int(opts.Limit) < len(kept) {
		end = start + int(opts.Limit)
		next = strconv.Itoa(end)
	}
	if err := meta.SetList(list, kept[start:end]); err != nil {
		return err
	}
	listMeta, err := meta.ListAccessor(list)
	if err != nil {
		return err
	}
	listMeta.SetContinue(next)
	return nil
}

func testNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
}

func testVM(namespace, name string) *kubevirtv1.VirtualMachine {
	return &kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{
		Namespace: namespace, Name: name, UID: types.UID("vm-" + namespace + "-" + name),
	}}
}

// testVMI is a VMI on node owned by the VM of the same name (ownerUID "" for the VM's own UID,
// "-" for no owner).
func testVMI(namespace, name, node, ownerUID string) *kubevirtv1.VirtualMachineInstance {
	vmi := &kubevirtv1.VirtualMachineInstance{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: types.UID("vmi-" + namespace + "-" + name),
			Labels: map[string]string{NodeNameLabel: node},
		},
		Status: kubevirtv1.VirtualMachineInstanceStatus{Phase: kubevirtv1.Running, NodeName: node},
	}
	switch ownerUID {
	case "-":
	case "":
		ownerUID = "vm-" + namespace + "-" + name
		fallthrough
	default:
		controller := true
		vmi.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine", Name: name, UID: types.UID(ownerUID), Controller: &controller,
		}}
	}
	return vmi
}

func testPod(namespace, name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

const unfinished = "fields=status.phase!=Succeeded,status.phase!=Failed"

func TestLiveRead(t *testing.T) {
	cluster := []runtime.Object{
		testNode("node-1"), testNode("node-2"), testNode("node-3"), testNode("witness-1"),
		testVM("default", "a"), testVM("default", "b"), testVM("default", "c"), testVM("default", "d"), testVM("default", "e"),
		testVMI("default", "a", "node-1", ""), testVMI("default", "b", "node-1", ""), testVMI("default", "c", "node-1", ""),
		testVMI("default", "d", "node-2", ""),
		testPod("default", "virt-launcher-a", "node-1", corev1.PodRunning),
		testPod("default", "virt-launcher-b", "node-1", corev1.PodRunning),
		testPod("default", "virt-launcher-c", "node-1", corev1.PodPending),
		testPod("default", "virt-launcher-c-old", "node-1", corev1.PodSucceeded),
		testPod("default", "virt-launcher-d", "node-2", corev1.PodRunning),
		testPod("kube-system", "crashed", "node-3", corev1.PodFailed),
		testPod("kube-system", "unscheduled", "", corev1.PodPending),
		testPod("kube-system", "agent", "witness-1", corev1.PodRunning),
	}
	allNodes := []string{"Node node-1", "Node node-2", "Node node-3", "Node witness-1"}
	pods := []string{
		"Pod default/virt-launcher-a", "Pod default/virt-launcher-b", "Pod default/virt-launcher-c",
		"Pod default/virt-launcher-d", "Pod kube-system/agent",
	}
	concat := func(parts ...[]string) []string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name         string
		objects      []runtime.Object
		node         string
		pageSize     int64
		fail         func(resource string, opts metav1.ListOptions) error
		want         []string
		wantRequests []string
	}{
		{
			name:     "one namespace, every list paginated",
			objects:  cluster,
			node:     "node-1",
			pageSize: 2,
			want: concat(allNodes,
				[]string{"VirtualMachine default/a", "VirtualMachine default/b", "VirtualMachine default/c"},
				[]string{"VirtualMachineInstance default/a", "VirtualMachineInstance default/b", "VirtualMachineInstance default/c"},
				pods),
			wantRequests: []string{
				"nodes limit=2",
				"nodes limit=2 continue=2",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-1 limit=2",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-1 limit=2 continue=2",
				"virtualmachines ns=default limit=2",
				"virtualmachines ns=default limit=2 continue=2",
				"virtualmachines ns=default limit=2 continue=4",
				"pods " + unfinished + " limit=2",
				"pods " + unfinished + " limit=2 continue=2",
				"pods " + unfinished + " limit=2 continue=4",
			},
		},
		{
			name:    "default page size: one request per list",
			objects: cluster,
			node:    "node-1",
			want: concat(allNodes,
				[]string{"VirtualMachine default/a", "VirtualMachine default/b", "VirtualMachine default/c"},
				[]string{"VirtualMachineInstance default/a", "VirtualMachineInstance default/b", "VirtualMachineInstance default/c"},
				pods),
			wantRequests: []string{
				"nodes limit=500",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-1 limit=500",
				"virtualmachines ns=default limit=500",
				"pods " + unfinished + " limit=500",
			},
		},
		{
			name: "VMIs in several namespaces: one VM list across namespaces",
			objects: []runtime.Object{
				testNode("node-1"), testNode("node-2"),
				testVM("default", "a"), testVM("prod", "a"), testVM("prod", "z"), testVM("other", "y"),
				testVMI("default", "a", "node-1", ""), testVMI("prod", "a", "node-1", ""),
				testPod("prod", "virt-launcher-a", "node-1", corev1.PodRunning),
			},
			node: "node-1",
			want: []string{
				"Node node-1", "Node node-2",
				"VirtualMachine default/a", "VirtualMachine prod/a",
				"VirtualMachineInstance default/a", "VirtualMachineInstance prod/a",
				"Pod prod/virt-launcher-a",
			},
			wantRequests: []string{
				"nodes limit=500",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-1 limit=500",
				"virtualmachines limit=500",
				"pods " + unfinished + " limit=500",
			},
		},
		{
			name:    "no VMI on the node: no VM list",
			objects: cluster,
			node:    "node-3",
			want:    concat(allNodes, pods),
			wantRequests: []string{
				"nodes limit=500",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-3 limit=500",
				"pods " + unfinished + " limit=500",
			},
		},
		{
			name: "only the VMs that own the VMIs are kept",
			objects: []runtime.Object{
				testNode("node-1"),
				testVM("default", "a"), testVM("default", "b"), testVM("default", "c"),
				testVMI("default", "a", "node-1", ""),
				testVMI("default", "b", "node-1", "uid-of-a-deleted-vm"),
				testVMI("default", "c", "node-1", "-"),
			},
			node: "node-1",
			want: []string{
				"Node node-1",
				"VirtualMachine default/a",
				"VirtualMachineInstance default/a", "VirtualMachineInstance default/b", "VirtualMachineInstance default/c",
			},
			wantRequests: []string{
				"nodes limit=500",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-1 limit=500",
				"virtualmachines ns=default limit=500",
				"pods " + unfinished + " limit=500",
			},
		},
		{
			name:     "an expired continuation restarts the list once",
			objects:  cluster,
			node:     "node-2",
			pageSize: 3,
			fail: func() func(string, metav1.ListOptions) error {
				expired := false
				return func(resource string, opts metav1.ListOptions) error {
					if resource == "nodes" && opts.Continue != "" && !expired {
						expired = true
						return apierrors.NewResourceExpired("continue token too old")
					}
					return nil
				}
			}(),
			want: concat(allNodes,
				[]string{"VirtualMachine default/d", "VirtualMachineInstance default/d"},
				pods),
			wantRequests: []string{
				"nodes limit=3",
				"nodes limit=3 continue=3",
				"nodes limit=3",
				"nodes limit=3 continue=3",
				"virtualmachineinstances labels=kubevirt.io/nodeName=node-2 limit=3",
				"virtualmachines ns=default limit=3",
				"virtualmachines ns=default limit=3 continue=3",
				"pods " + unfinished + " limit=3",
				"pods " + unfinished + " limit=3 continue=3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.objects...)
			api.fail = tt.fail
			got, err := api.live(tt.pageSize).Read(context.Background(), tt.node)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("objects read (-want +got):\n%s", diff)
			}
			if !got.PodsKnown {
				t.Error("PodsKnown = false, want true")
			}
			if diff := cmp.Diff(tt.wantRequests, api.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLiveReadErrors(t *testing.T) {
	cluster := []runtime.Object{
		testNode("node-1"), testNode("node-2"),
		testVM("default", "a"), testVMI("default", "a", "node-1", ""),
		testPod("default", "virt-launcher-a", "node-1", corev1.PodRunning),
	}
	forbidden := func(what string) func(string, metav1.ListOptions) error {
		return func(resource string, _ metav1.ListOptions) error {
			if resource == what {
				return apierrors.NewForbidden(schema.GroupResource{Resource: what}, "", fmt.Errorf("no RBAC"))
			}
			return nil
		}
	}
	tests := []struct {
		name         string
		node         string
		fail         func(string, metav1.ListOptions) error
		wantCode     int
		wantErr      string
		wantRequests int
	}{
		{
			name:         "unknown node",
			node:         "node-9",
			wantCode:     exitstatus.Usage,
			wantErr:      `node "node-9" not found`,
			wantRequests: 2,
		},
		{
			name:         "nodes forbidden",
			node:         "node-1",
			fail:         forbidden("nodes"),
			wantCode:     exitstatus.Cluster,
			wantErr:      "list nodes: ",
			wantRequests: 1,
		},
		{
			name:         "VMIs forbidden",
			node:         "node-1",
			fail:         forbidden("virtualmachineinstances"),
			wantCode:     exitstatus.Cluster,
			wantErr:      "list virtualmachineinstances on node node-1: ",
			wantRequests: 3,
		},
		{
			name:         "VMs forbidden",
			node:         "node-1",
			fail:         forbidden("virtualmachines"),
			wantCode:     exitstatus.Cluster,
			wantErr:      "list virtualmachines: ",
			wantRequests: 4,
		},
		{
			name: "pods unavailable",
			node: "node-1",
			fail: func(resource string, _ metav1.ListOptions) error {
				if resource == "pods" {
					return apierrors.NewServiceUnavailable("etcd is down")
				}
				return nil
			},
			wantCode:     exitstatus.Cluster,
			wantErr:      "list pods: ",
			wantRequests: 5,
		},
		{
			name: "a continuation that keeps expiring",
			node: "node-1",
			fail: func(resource string, opts metav1.ListOptions) error {
				if resource == "nodes" && opts.Continue != "" {
					return apierrors.NewResourceExpired("continue token too old")
				}
				return nil
			},
			wantCode:     exitstatus.No,
			wantErr:      "list nodes: ",
			wantRequests: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, cluster...)
			api.fail = tt.fail
			// One object per page: the two nodes take two requests.
			got, err := api.live(1).Read(context.Background(), tt.node)
			if err == nil {
				t.Fatalf("Read succeeded with %v, want an error", summary(got))
			}
			if code := exitstatus.Code(err); code != tt.wantCode {
				t.Errorf("exit status %d, want %d (%v)", code, tt.wantCode, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if len(api.requests) != tt.wantRequests {
				t.Errorf("%d requests, want %d: %q", len(api.requests), tt.wantRequests, api.requests)
			}
		})
	}
}

func TestLiveReadDeadlinePassed(t *testing.T) {
	api := newFakeAPI(t, testNode("node-1"), testNode("node-2"))
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err := api.live(1).Read(ctx, "node-1")
	if code := exitstatus.Code(err); code != exitstatus.Cluster {
		t.Errorf("exit status %d for %v, want %d", code, err, exitstatus.Cluster)
	}
	if len(api.requests) != 0 {
		t.Errorf("requests after cancellation: %q", api.requests)
	}
}
