package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// summary names what a ClusterState holds, in order: "Kind namespace/name".
func summary(s detector.ClusterState) []string {
	var out []string
	for _, n := range s.Nodes {
		out = append(out, "Node "+n.Name)
	}
	for _, vm := range s.VMs {
		out = append(out, "VirtualMachine "+vm.Namespace+"/"+vm.Name)
	}
	for _, vmi := range s.VMIs {
		out = append(out, "VirtualMachineInstance "+vmi.Namespace+"/"+vmi.Name)
	}
	for _, p := range s.Pods {
		out = append(out, "Pod "+p.Namespace+"/"+p.Name)
	}
	return out
}

// writeFiles writes files (relative path to content) under a new temporary directory and
// returns the directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	nodeYAML = `apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels:
    kubernetes.io/hostname: node-1
status:
  allocatable:
    cpu: "32"
    memory: 128Gi
`
	vmYAML = `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-a
  namespace: default
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices: {}
`
	vmiYAML = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: vm-a
  namespace: default
  labels:
    kubevirt.io/nodeName: node-1
spec:
  domain:
    devices: {}
status:
  phase: Running
  nodeName: node-1
`
	podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: virt-launcher-vm-a-abcde
  namespace: default
spec:
  nodeName: node-1
  containers:
  - name: compute
    image: virt-launcher
status:
  phase: Running
`
	configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  a: b
`
)

// indent indents every line of s by n spaces, to nest a document under "items:".
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// item turns a document into a YAML list item.
func item(doc string) string {
	s := indent(doc, 2)
	return "- " + s[2:]
}

func yamlList(kind string, docs ...string) string {
	s := "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  resourceVersion: \"\"\nitems:\n"
	for _, d := range docs {
		s += item(d)
	}
	return s
}

func TestFromFiles(t *testing.T) {
	all := []string{
		"Node node-1",
		"VirtualMachine default/vm-a",
		"VirtualMachineInstance default/vm-a",
		"Pod default/virt-launcher-vm-a-abcde",
	}
	tests := []struct {
		name          string
		files         map[string]string
		paths         []string // relative to the temporary directory; "." is the directory
		want          []string
		wantPodsKnown bool
	}{
		{
			name:          "kind List",
			files:         map[string]string{"dump.yaml": yamlList("List", nodeYAML, vmYAML, vmiYAML, podYAML)},
			paths:         []string{"dump.yaml"},
			want:          all,
			wantPodsKnown: true,
		},
		{
			name: "several documents, empty and comment-only ones included",
			files: map[string]string{"dump.yaml": "---\n" + nodeYAML + "---\n# only a comment\n---\n" + vmYAML +
				"---\n---\n" + vmiYAML + "---\n" + podYAML + "...\n"},
			paths:         []string{"dump.yaml"},
			want:          all,
			wantPodsKnown: true,
		},
		{
			name: "directory read recursively, other extensions skipped",
			files: map[string]string{
				"b/vmi.yml":         vmiYAML,
				"a.yaml":            nodeYAML,
				"b/c/pod.json":      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"virt-launcher-vm-a-abcde","namespace":"default"}}`,
				"b/README.md":       "# not read\n\x00\x01",
				"b/vm.YAML":         vmYAML,
				"b/notes.txt":       "garbage: [",
				"b/c/empty.yaml":    "",
				"b/z/settings.yaml": configMapYAML,
			},
			paths:         []string{"."},
			want:          all,
			wantPodsKnown: true,
		},
		{
			name: "JSON object",
			files: map[string]string{"node.json": `{"apiVersion": "v1", "kind": "Node",
				"metadata": {"name": "node-1"}, "status": {"allocatable": {"cpu": "4"}}}`},
			paths: []string{"node.json"},
			want:  []string{"Node node-1"},
		},
		{
			name: "JSON stream of objects and a List",
			files: map[string]string{"dump.json": `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}}
{"apiVersion":"v1","kind":"List","items":[
  {"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"vm-a","namespace":"default"}},
  {"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"vm-a","namespace":"default"}}]}
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"virt-launcher-vm-a-abcde","namespace":"default"}}`},
			paths:         []string{"dump.json"},
			want:          all,
			wantPodsKnown: true,
		},
		{
			name: "typed lists whose items leave out apiVersion and kind",
			files: map[string]string{
				"nodes.yaml": "apiVersion: v1\nkind: NodeList\nitems:\n- metadata:\n    name: node-1\n- metadata:\n    name: node-2\n",
				"vmis.json": `{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceList","metadata":{},
					"items":[{"metadata":{"name":"vm-a","namespace":"default"}}]}`,
				"pods.yaml": "apiVersion: v1\nkind: PodList\nitems: []\n",
			},
			paths: []string{"nodes.yaml", "vmis.json"},
			want:  []string{"Node node-1", "Node node-2", "VirtualMachineInstance default/vm-a"},
		},
		{
			name: "other kinds ignored, kubevirt.io/v1alpha3 read",
			files: map[string]string{"dump.yaml": configMapYAML + "---\n" +
				"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: default\n---\n" +
				"apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstanceMigration\nmetadata:\n  name: m\n---\n" +
				"apiVersion: v1\nkind: ServiceList\nitems:\n- metadata:\n    name: s\n---\n" +
				"apiVersion: kubevirt.io/v1alpha3\nkind: VirtualMachine\nmetadata:\n  name: old\n  namespace: default\n---\n" +
				nodeYAML},
			paths: []string{"dump.yaml"},
			want:  []string{"Node node-1", "VirtualMachine default/old"},
		},
		{
			name:  "only ignored kinds is not an error",
			files: map[string]string{"cm.yaml": configMapYAML},
			paths: []string{"cm.yaml"},
		},
		{
			name: "unknown fields of a newer cluster ignored",
			files: map[string]string{"vmi.yaml": vmiYAML + "  futureField:\n    x: 1\n" +
				"---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-2\nspec:\n  newThing: true\n"},
			paths: []string{"vmi.yaml"},
			want:  []string{"Node node-2", "VirtualMachineInstance default/vm-a"},
		},
		{
			name: "an object read twice is kept once",
			files: map[string]string{
				"dir/node.yaml": nodeYAML,
				"dir/pod.yaml":  podYAML,
			},
			paths:         []string{"dir", "dir/node.yaml", "dir/pod.yaml"},
			want:          []string{"Node node-1", "Pod default/virt-launcher-vm-a-abcde"},
			wantPodsKnown: true,
		},
		{
			name: "several paths in order",
			files: map[string]string{
				"one.yaml": podYAML,
				"two.yaml": nodeYAML,
			},
			paths:         []string{"two.yaml", "one.yaml"},
			want:          []string{"Node node-1", "Pod default/virt-launcher-vm-a-abcde"},
			wantPodsKnown: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(dir, p))
			}
			got, err := FromFiles(paths)
			if err != nil {
				t.Fatalf("FromFiles: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("objects read (-want +got):\n%s", diff)
			}
			if got.PodsKnown != tt.wantPodsKnown {
				t.Errorf("PodsKnown = %v, want %v", got.PodsKnown, tt.wantPodsKnown)
			}
		})
	}
}

func TestFromFilesKeepsTheLastReading(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": nodeYAML,
		"b.yaml": strings.Replace(nodeYAML, "cpu: \"32\"", "cpu: \"16\"", 1),
	})
	got, err := FromFiles([]string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 1 {
		t.Fatalf("read %d nodes, want 1", len(got.Nodes))
	}
	if cpu := got.Nodes[0].Status.Allocatable.Cpu().String(); cpu != "16" {
		t.Errorf("allocatable cpu = %s, want 16 from the last file", cpu)
	}
}

func TestFromFilesErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		paths []string
		// want are substrings of the error; "DIR" stands for the temporary directory.
		want []string
	}{
		{
			name:  "missing file",
			paths: []string{"nope.yaml"},
			want:  []string{"cannot read DIR/nope.yaml: no such file or directory"},
		},
		{
			name:  "path below a file",
			files: map[string]string{"x.yaml": nodeYAML},
			paths: []string{"x.yaml/below"},
			want:  []string{"cannot read DIR/x.yaml/below: not a directory"},
		},
		{
			name:  "YAML syntax error names file and document",
			files: map[string]string{"x.yaml": nodeYAML + "---\n" + vmYAML + "---\nkind: Pod\nmetadata: [\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 3: "},
		},
		{
			name:  "wrong field type",
			files: map[string]string{"x.yaml": nodeYAML + "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n\nspec: hello\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 2: ", "cannot unmarshal"},
		},
		{
			name:  "missing kind",
			files: map[string]string{"x.yaml": "apiVersion: v1\nmetadata:\n  name: n\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: missing kind"},
		},
		{
			name:  "missing apiVersion",
			files: map[string]string{"x.yaml": "kind: Node\nmetadata:\n  name: n\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: missing apiVersion"},
		},
		{
			name:  "list item without kind",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + strings.TrimPrefix(indent(nodeYAML, 2), "  ") + "- metadata:\n    name: n\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: item 2: missing kind"},
		},
		{
			name:  "list items that are not objects",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: List\nitems:\n- 1\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: item 1: not a Kubernetes object"},
		},
		{
			name:  "items not a list",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: List\nitems: 3\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: items: "},
		},
		{
			name:  "a scalar document",
			files: map[string]string{"x.yaml": nodeYAML + "---\njust some words\n"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 2: not a Kubernetes object"},
		},
		{
			name:  "bad document separator",
			files: map[string]string{"x.yaml": nodeYAML + "--- trailing\n" + vmYAML},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: invalid Yaml document separator"},
		},
		{
			name:  "malformed file in a directory is named",
			files: map[string]string{"d/a.yaml": nodeYAML, "d/sub/b.json": `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 3}}`},
			paths: []string{"d"},
			want:  []string{"DIR/d/sub/b.json: document 1: "},
		},
		{
			name:  "empty directory",
			files: map[string]string{"d/.keep": ""},
			paths: []string{"d"},
			want:  []string{"no Kubernetes objects found in DIR/d"},
		},
		{
			name:  "directory without any object",
			files: map[string]string{"d/a.yaml": "# nothing\n", "d/b.txt": nodeYAML},
			paths: []string{"d"},
			want:  []string{"no Kubernetes objects found in DIR/d"},
		},
		{
			name:  "empty file",
			files: map[string]string{"x.yaml": ""},
			paths: []string{"x.yaml"},
			want:  []string{"no Kubernetes objects found in DIR/x.yaml"},
		},
		{
			name:  "an empty List",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: List\nitems: []\n"},
			paths: []string{"x.yaml"},
			want:  []string{"no Kubernetes objects found in DIR/x.yaml"},
		},
		{
			name:  "second path empty",
			files: map[string]string{"x.yaml": nodeYAML, "y.yaml": "---\n"},
			paths: []string{"x.yaml", "y.yaml"},
			want:  []string{"no Kubernetes objects found in DIR/y.yaml"},
		},
		{
			name:  "binary garbage",
			files: map[string]string{"x.yaml": "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00\x01\x00\x00\x00\xff\xfe\x00\x10"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 1: "},
		},
		{
			name:  "truncated YAML",
			files: map[string]string{"x.yaml": nodeYAML + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"virt-launcher-"},
			paths: []string{"x.yaml"},
			want:  []string{"DIR/x.yaml: document 2: "},
		},
		{
			name:  "truncated JSON",
			files: map[string]string{"x.json": `{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"}} {"apiVersion":"v1","kind":"Node","meta`},
			paths: []string{"x.json"},
			want:  []string{"DIR/x.json: document 2: unexpected EOF"},
		},
		{
			name:  "JSON followed by garbage",
			files: map[string]string{"x.json": `{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"}} ]`},
			paths: []string{"x.json"},
			want:  []string{"DIR/x.json: document 2: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(dir, p))
			}
			got, err := FromFiles(paths)
			if err == nil {
				t.Fatalf("FromFiles succeeded with %v, want an error", summary(got))
			}
			if code := exitstatus.Code(err); code != exitstatus.Usage {
				t.Errorf("exit status %d, want %d (%v)", code, exitstatus.Usage, err)
			}
			for _, want := range tt.want {
				want = strings.ReplaceAll(want, "DIR", dir)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if diff := cmp.Diff(detector.ClusterState{}, got); diff != "" {
				t.Errorf("a failed read returned objects (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzFromFiles(f *testing.F) {
	f.Add([]byte(yamlList("List", nodeYAML, vmYAML, vmiYAML, podYAML)))
	f.Add([]byte(nodeYAML + "---\n" + podYAML))
	f.Add([]byte(`{"apiVersion":"v1","kind":"NodeList","items":[{"metadata":{"name":"a"}}]}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"x"}}]}`))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- 1\n- {kind: Pod, apiVersion: v1, spec: {containers: 3}}\n"))
	f.Add([]byte("--- x\n"))
	f.Add([]byte("\x00\x01\x02\xff"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: v1\nitems:\n- metadata:\n    name: a\n    annotations:\n      x: |\n        - y\nkind: NodeList\n"))
	f.Add([]byte("kind: List\nitems: # c\n  - {apiVersion: v1, kind: Node}\r  - &a {kind: Pod}\n  - *a\nmetadata: {}\n"))
	f.Add([]byte(`{"apiVersion":"v1","items":[{"metadata":{"name":"a"}},3],"kind":"NodeList","x":{"items":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "input.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		state, err := FromFiles([]string{path})
		if err != nil {
			if code := exitstatus.Code(err); code != exitstatus.Usage {
				t.Fatalf("exit status %d for %v, want %d", code, err, exitstatus.Usage)
			}
			return
		}
		if state.PodsKnown != (len(state.Pods) > 0) {
			t.Fatalf("PodsKnown = %v with %d pods", state.PodsKnown, len(state.Pods))
		}
	})
}
