package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
)

const (
	exampleCluster = "../../examples/cluster.yaml"
	exampleUpgrade = "../../examples/upgrade.yaml"
)

func TestExampleClusterCounts(t *testing.T) {
	state, err := FromFiles([]string{exampleCluster})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{"nodes": len(state.Nodes), "vms": len(state.VMs), "vmis": len(state.VMIs), "pods": len(state.Pods)}
	want := map[string]int{"nodes": 4, "vms": 11, "vmis": 11, "pods": 11}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects in %s (-want +got):\n%s", exampleCluster, diff)
	}
	if !state.PodsKnown {
		t.Error("PodsKnown = false")
	}
}

// TestExampleClusterIsStrict checks that every field of the example is one the Go types know,
// so that a typo cannot silently drop a field.
func TestExampleClusterIsStrict(t *testing.T) {
	data, err := os.ReadFile(exampleCluster)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ListMeta   `json:"metadata"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := yaml.UnmarshalStrict(data, &list); err != nil {
		t.Fatal(err)
	}
	if list.APIVersion != "v1" || list.Kind != "List" {
		t.Errorf("the example is %s %s, want one v1 List", list.APIVersion, list.Kind)
	}
	for i, item := range list.Items {
		var typeMeta metav1.TypeMeta
		if err := json.Unmarshal(item, &typeMeta); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch typeMeta.Kind {
		case "Node":
			obj = &corev1.Node{}
		case "Pod":
			obj = &corev1.Pod{}
		case "VirtualMachine":
			obj = &kubevirtv1.VirtualMachine{}
		case "VirtualMachineInstance":
			obj = &kubevirtv1.VirtualMachineInstance{}
		default:
			t.Errorf("item %d: unexpected kind %q", i+1, typeMeta.Kind)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Errorf("item %d (%s): %v", i+1, typeMeta.Kind, err)
		}
	}
}

// TestExampleClusterScenario checks that the example tells the story its header tells: which
// VM sits where, the references between VM, VMI and pod, and the memory figures that leave
// prod/bigmem-cache without room.
func TestExampleClusterScenario(t *testing.T) {
	state, err := FromFiles([]string{exampleCluster})
	if err != nil {
		t.Fatal(err)
	}
	vmUIDs := map[string]string{}
	for _, vm := range state.VMs {
		vmUIDs[vm.Namespace+"/"+vm.Name] = string(vm.UID)
	}
	type placed struct{ namespace, vmi, node string }
	vmiByUID := map[string]placed{}
	onNode := map[string][]string{}
	for _, vmi := range state.VMIs {
		key := vmi.Namespace + "/" + vmi.Name
		if vmi.Status.Phase != kubevirtv1.Running {
			t.Errorf("%s: phase %s, want Running", key, vmi.Status.Phase)
		}
		if vmi.Labels[NodeNameLabel] != vmi.Status.NodeName {
			t.Errorf("%s: label %s=%q but status.nodeName %q", key, NodeNameLabel, vmi.Labels[NodeNameLabel], vmi.Status.NodeName)
		}
		owner := metav1.GetControllerOf(&vmi)
		if owner == nil || owner.Kind != "VirtualMachine" || owner.Name != vmi.Name || string(owner.UID) != vmUIDs[key] {
			t.Errorf("%s: controller %+v does not name its VirtualMachine (uid %s)", key, owner, vmUIDs[key])
		}
		vmiByUID[string(vmi.UID)] = placed{vmi.Namespace, vmi.Name, vmi.Status.NodeName}
		onNode[vmi.Status.NodeName] = append(onNode[vmi.Status.NodeName], key)
	}
	for node := range onNode {
		sort.Strings(onNode[node])
	}
	wantOnNode := map[string][]string{
		"node-1": {
			"default/legacy-app", "default/web-1", "default/web-2", "prod/bigmem-cache",
			"prod/erp-db", "prod/ml-passthrough", "prod/oracle-licensed", "prod/render-vgpu",
		},
		"node-2": {"prod/gitlab", "prod/postgres-replica"},
		"node-3": {"prod/elastic-data"},
	}
	if diff := cmp.Diff(wantOnNode, onNode); diff != "" {
		t.Errorf("VMIs per node (-want +got):\n%s", diff)
	}

	requested := map[string]*resource.Quantity{}
	launcherMemory := map[string]resource.Quantity{}
	for _, pod := range state.Pods {
		key := pod.Namespace + "/" + pod.Name
		vmi, ok := vmiByUID[pod.Labels["kubevirt.io/created-by"]]
		owner := metav1.GetControllerOf(&pod)
		switch {
		case !ok:
			t.Errorf("%s: kubevirt.io/created-by names no VMI", key)
		case pod.Labels["kubevirt.io"] != "virt-launcher" || pod.Labels["vm.kubevirt.io/name"] != vmi.vmi:
			t.Errorf("%s: labels %v are not those of %s's virt-launcher", key, pod.Labels, vmi.vmi)
		case owner == nil || owner.Kind != "VirtualMachineInstance" || owner.Name != vmi.vmi:
			t.Errorf("%s: controller %+v is not VMI %s", key, owner, vmi.vmi)
		case pod.Namespace != vmi.namespace || pod.Spec.NodeName != vmi.node:
			t.Errorf("%s on %s, its VMI %s/%s on %s", key, pod.Spec.NodeName, vmi.namespace, vmi.vmi, vmi.node)
		case pod.Spec.NodeSelector["kubevirt.io/schedulable"] != "true" || pod.Status.Phase != corev1.PodRunning:
			t.Errorf("%s: nodeSelector %v, phase %s", key, pod.Spec.NodeSelector, pod.Status.Phase)
		}
		mem := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]
		if requested[pod.Spec.NodeName] == nil {
			requested[pod.Spec.NodeName] = resource.NewQuantity(0, resource.BinarySI)
		}
		requested[pod.Spec.NodeName].Add(mem)
		launcherMemory[vmi.namespace+"/"+vmi.vmi] = mem
	}

	free := map[string]int64{}
	for _, node := range state.Nodes {
		_, witness := node.Labels["node-role.cloudweavhci.io/witness"]
		if witness != (node.Name == "witness-1") {
			t.Errorf("%s: witness label %v", node.Name, witness)
		}
		if _, ok := node.Labels["licensing.example.com/oracle-db"]; ok != (node.Name == "node-1") {
			t.Errorf("%s: licensing label %v, want it on node-1 only", node.Name, ok)
		}
		allocatable := node.Status.Allocatable.Memory().Value()
		used := int64(0)
		if q := requested[node.Name]; q != nil {
			used = q.Value()
		}
		if used > allocatable {
			t.Errorf("%s: pods request %d bytes of memory, more than the %d allocatable", node.Name, used, allocatable)
		}
		free[node.Name] = allocatable - used
	}
	bigmem := launcherMemory["prod/bigmem-cache"]
	for _, node := range []string{"node-2", "node-3"} {
		if bigmem.Value() <= free[node] {
			t.Errorf("prod/bigmem-cache requests %s, which fits in the %dMi free on %s", bigmem.String(), free[node]>>20, node)
		}
	}
	// The VMs that can leave fit together on the other workers.
	web := launcherMemory["default/web-1"]
	web.Add(launcherMemory["default/web-2"])
	if web.Value() > free["node-2"] || web.Value() > free["node-3"] {
		t.Errorf("default/web-1 and default/web-2 (%s) do not fit on node-2 (%dMi free) or node-3 (%dMi free)",
			web.String(), free["node-2"]>>20, free["node-3"]>>20)
	}
	// The figures the file's header gives.
	gotFree := fmt.Sprintf("node-2 %dMi, node-3 %dMi, bigmem-cache %s", free["node-2"]>>20, free["node-3"]>>20, bigmem.String())
	if want := "node-2 44431Mi, node-3 44706Mi, bigmem-cache 49449Mi"; gotFree != want {
		t.Errorf("free memory: got %q, want %q as the header says", gotFree, want)
	}

	wantReasons := map[string][]string{
		"prod/ml-passthrough": {"HostDeviceNotLiveMigratable"},
		"prod/render-vgpu":    {"HostDeviceNotLiveMigratable"},
		"default/legacy-app":  {"DisksNotLiveMigratable"},
	}
	gotReasons := map[string][]string{}
	for _, vmi := range state.VMIs {
		for _, c := range vmi.Status.Conditions {
			if c.Type == kubevirtv1.VirtualMachineInstanceIsMigratable && c.Status == corev1.ConditionFalse {
				gotReasons[vmi.Namespace+"/"+vmi.Name] = append(gotReasons[vmi.Namespace+"/"+vmi.Name], c.Reason)
			}
		}
	}
	if diff := cmp.Diff(wantReasons, gotReasons); diff != "" {
		t.Errorf("LiveMigratable=False reasons (-want +got):\n%s", diff)
	}
}

func TestExampleUpgrade(t *testing.T) {
	// The file holds no kind that the detector reads, but it is read without error.
	state, err := FromFiles([]string{exampleUpgrade})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(detector.ClusterState{}, state); diff != "" {
		t.Errorf("cluster objects in %s:\n%s", exampleUpgrade, diff)
	}

	f, err := os.Open(exampleUpgrade)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var upgrade v1beta1.Upgrade
	var version v1beta1.Version
	for _, into := range []any{&upgrade, &version} {
		doc, err := docs.Read()
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatal(err)
		}
	}
	var repo struct {
		Release map[string]string `json:"release"`
	}
	if err := yaml.UnmarshalStrict([]byte(upgrade.Status.RepoInfo), &repo); err != nil {
		t.Fatalf("status.repoInfo: %v", err)
	}
	got := map[string]string{
		"upgrade":                      upgrade.Namespace + "/" + upgrade.Name,
		"upgrade kind":                 upgrade.APIVersion + " " + upgrade.Kind,
		"spec.version":                 upgrade.Spec.Version,
		"status.previousVersion":       upgrade.Status.PreviousVersion,
		"repoInfo cloudweav":           repo.Release["cloudweav"],
		"repoInfo minUpgradable":       repo.Release["minUpgradableVersion"],
		"version":                      version.Namespace + "/" + version.Name,
		"version kind":                 version.APIVersion + " " + version.Kind,
		"version minUpgradableVersion": version.Spec.MinUpgradableVersion,
	}
	want := map[string]string{
		"upgrade":                      "cloudweav-system/hvst-upgrade-gqbg5",
		"upgrade kind":                 "cloudweavhci.io/v1beta1 Upgrade",
		"spec.version":                 "v1.3.0",
		"status.previousVersion":       "v1.2.1",
		"repoInfo cloudweav":           "v1.3.0",
		"repoInfo minUpgradable":       "v1.2.0",
		"version":                      "cloudweav-system/v1.3.0",
		"version kind":                 "cloudweavhci.io/v1beta1 Version",
		"version minUpgradableVersion": "v1.2.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", exampleUpgrade, diff)
	}
	if version.Spec.ISOURL == "" || version.Spec.ISOChecksum == "" || version.Spec.ReleaseDate == "" {
		t.Errorf("version spec incomplete: %+v", version.Spec)
	}
}

// BenchmarkFromFilesExample reads examples/cluster.yaml (4 nodes, 11 VMs with their VMIs and
// launcher pods, about 4,000 lines).
func BenchmarkFromFilesExample(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromFiles([]string{exampleCluster}); err != nil {
			b.Fatal(err)
		}
	}
}
