package source

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// itemAt turns a document into a YAML sequence entry whose "-" is at column n.
func itemAt(doc string, n int) string {
	s := indent(doc, n+2)
	return strings.Repeat(" ", n) + "- " + s[n+2:]
}

const nodeWithNotesYAML = `apiVersion: v1
kind: Node
metadata:
  name: node-9
  annotations:
    notes: |
      first line
      - not an entry

      kind: not a key
    folded: >-
      one
      two
`

func TestFromFilesSplitsLists(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		want  []string
		notes string // node-9's "notes" annotation, when read
	}{
		{
			name: "kubectl style: kind and metadata after the items",
			file: "apiVersion: v1\nitems:\n" + item(nodeYAML) + item(vmYAML) + item(podYAML) +
				"kind: List\nmetadata:\n  resourceVersion: \"\"\n",
			want: []string{"Node node-1", "VirtualMachine default/vm-a", "Pod default/virt-launcher-vm-a-abcde"},
		},
		{
			name: "indented entries",
			file: "apiVersion: v1\nkind: List\nitems:\n" + itemAt(nodeYAML, 2) + itemAt(vmiYAML, 2) + "metadata: {}\n",
			want: []string{"Node node-1", "VirtualMachineInstance default/vm-a"},
		},
		{
			name: "comments and blank lines around and between entries",
			file: "# a dump\napiVersion: v1\nkind: List\nitems: # all of them\n\n# first the node\n" +
				item(nodeYAML) + "\n# then the pod\n  # indented comment\n\n" + item(podYAML) + "# the end\n",
			want: []string{"Node node-1", "Pod default/virt-launcher-vm-a-abcde"},
		},
		{
			name:  "block scalars inside an entry, with lines like entries and keys",
			file:  "apiVersion: v1\nkind: List\nitems:\n" + item(nodeWithNotesYAML) + item(nodeYAML),
			want:  []string{"Node node-9", "Node node-1"},
			notes: "first line\n- not an entry\n\nkind: not a key\n",
		},
		{
			name:  "block scalars inside indented entries",
			file:  "kind: List\nitems:\n" + itemAt(nodeWithNotesYAML, 4) + "apiVersion: v1\n",
			want:  []string{"Node node-9"},
			notes: "first line\n- not an entry\n\nkind: not a key\n",
		},
		{
			name: "items followed by another top-level key holding a sequence",
			file: "apiVersion: v1\nkind: List\nitems:\n" + item(nodeYAML) + "extra:\n- a\n- b\n---\n" + podYAML,
			want: []string{"Node node-1", "Pod default/virt-launcher-vm-a-abcde"},
		},
		{
			name: "entry whose dash is alone on its line",
			file: "kind: List\nitems:\n-\n" + indent(nodeYAML, 2) + "-   " + strings.TrimPrefix(indent(podYAML, 4), "    "),
			want: []string{"Node node-1", "Pod default/virt-launcher-vm-a-abcde"},
		},
		{
			name: "typed list whose kind comes after items without their kind",
			file: "apiVersion: v1\nitems:\n- metadata:\n    name: node-1\n- metadata:\n    name: node-2\nkind: NodeList\nmetadata: {}\n",
			want: []string{"Node node-1", "Node node-2"},
		},
		{
			name: "empty items, flow and block",
			file: "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: PodList\nitems:\nmetadata: {}\n---\n" +
				"apiVersion: v1\nkind: List\nitems:\n# nothing\n---\n" + nodeYAML,
			want: []string{"Node node-1"},
		},
		{
			name: "flow items read whole",
			file: "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Node, metadata: {name: node-1}},\n" +
				"  {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default}}]\n",
			want: []string{"Node node-1", "Pod default/p"},
		},
		{
			name: "items of an object that is not a list are ignored, before or after its kind",
			file: "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\nitems:\n- 1\n- kind: Pod\n---\n" +
				"apiVersion: v1\nitems:\n- 1\n" + item(podYAML) + "kind: Node\nmetadata:\n  name: node-2\n",
			want: []string{"Node node-1", "Node node-2"},
		},
		{
			name: "an anchor in one entry, an alias in the next",
			file: "kind: List\nitems:\n" + item(podYAML) + "- &n {apiVersion: v1, kind: Node, metadata: {name: node-1}}\n- *n\n" +
				"- {apiVersion: v1, kind: Node, metadata: {name: node-2}}\n",
			want: []string{"Node node-1", "Node node-2", "Pod default/virt-launcher-vm-a-abcde"},
		},
		{
			name:  "CRLF line breaks",
			file:  strings.ReplaceAll("apiVersion: v1\nitems:\n"+item(nodeWithNotesYAML)+item(podYAML)+"kind: List\n", "\n", "\r\n"),
			want:  []string{"Node node-9", "Pod default/virt-launcher-vm-a-abcde"},
			notes: "first line\n- not an entry\n\nkind: not a key\n",
		},
		{
			name: "last line without a line break",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "- {apiVersion: v1, kind: Node, metadata: {name: node-2}}",
			want: []string{"Node node-1", "Node node-2"},
		},
		{
			name: "JSON List whose kind comes after its items",
			file: `{"apiVersion":"v1","items":[{"metadata":{"name":"node-1"}},{"metadata":{"name":"node-2"}}],"kind":"NodeList","metadata":{}}` +
				"\n" + `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-3"},"items":{"x":[1,{"y":2}]}}` +
				"\n" + `{"items":null,"kind":"List"} null`,
			want: []string{"Node node-1", "Node node-2", "Node node-3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"dump.yaml": tt.file})
			got, err := FromFiles([]string{filepath.Join(dir, "dump.yaml")})
			if err != nil {
				t.Fatalf("FromFiles: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("objects read (-want +got):\n%s", diff)
			}
			if tt.notes == "" {
				return
			}
			for _, n := range got.Nodes {
				if n.Name != "node-9" {
					continue
				}
				if diff := cmp.Diff(tt.notes, n.Annotations["notes"]); diff != "" {
					t.Errorf("notes annotation (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff("one two", n.Annotations["folded"]); diff != "" {
					t.Errorf("folded annotation (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestFromFilesSplitListErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string // "DIR" stands for the temporary directory
	}{
		{
			name: "item without kind, kind after the items",
			file: "apiVersion: v1\nitems:\n" + item(nodeYAML) + "- metadata:\n    name: n\nkind: List\n",
			want: "DIR/x.yaml: document 1: item 2: missing kind",
		},
		{
			name: "item that is not an object, kind after the items",
			file: "apiVersion: v1\nitems:\n" + item(nodeYAML) + "- 1\nkind: List\n",
			want: "DIR/x.yaml: document 1: item 2: not a Kubernetes object",
		},
		{
			name: "wrong field type in an item",
			file: "---\n" + nodeYAML + "---\nkind: List\nitems:\n" + item(nodeYAML) + item("apiVersion: v1\nkind: Pod\nspec: 3\n"),
			want: "DIR/x.yaml: document 2: item 2: ",
		},
		{
			name: "YAML syntax error in an item",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "- metadata: [\n",
			want: "DIR/x.yaml: document 1: item 2: yaml: ",
		},
		{
			name: "YAML syntax error in the header after the items",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "metadata: {\n",
			want: "DIR/x.yaml: document 1: yaml: ",
		},
		{
			name: "items given twice",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "items: []\n",
			want: `DIR/x.yaml: document 1: duplicate key "items"`,
		},
		{
			name: "kind given twice",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "kind: Node\n",
			want: "DIR/x.yaml: document 1: kind or apiVersion given twice",
		},
		{
			name: "bad apiVersion of a typed list",
			file: "apiVersion: a/b/c\nkind: NodeList\nitems:\n- metadata:\n    name: n\n",
			want: "DIR/x.yaml: document 1: apiVersion: ",
		},
		{
			name: "items not a sequence",
			file: "kind: List\nitems:\n  a: 1\n",
			want: "DIR/x.yaml: document 1: items: ",
		},
		{
			name: "separator with text inside the items",
			file: "kind: List\nitems:\n" + item(nodeYAML) + "--- x\n",
			want: "DIR/x.yaml: document 1: invalid Yaml document separator: x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"x.yaml": tt.file})
			got, err := FromFiles([]string{filepath.Join(dir, "x.yaml")})
			if err == nil {
				t.Fatalf("FromFiles succeeded with %v, want an error", summary(got))
			}
			if code := exitstatus.Code(err); code != exitstatus.Usage {
				t.Errorf("exit status %d, want %d (%v)", code, exitstatus.Usage, err)
			}
			if want := strings.ReplaceAll(tt.want, "DIR", dir); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

// TestYAMLDocumentHoldsOnlyTheHeader checks that a List's items are decoded one at a time and
// not kept in the document: what is held at the end is the header, whatever the number of
// items.
func TestYAMLDocumentHoldsOnlyTheHeader(t *testing.T) {
	for _, style := range []struct {
		name   string
		indent int
		kind   string // before or after the items
	}{
		{name: "kubectl", indent: 0, kind: "after"},
		{name: "indented", indent: 2, kind: "before"},
	} {
		t.Run(style.name, func(t *testing.T) {
			header := "apiVersion: v1\nkind: List\n"
			text := "items:\n"
			if style.kind == "before" {
				text = header + text
			}
			for range 200 {
				text += itemAt(nodeWithNotesYAML, style.indent)
			}
			if style.kind == "after" {
				text += header
			}
			r := newFileReader()
			d := newYAMLDocument(r)
			longest := 0
			for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if err := d.line([]byte(line)); err != nil {
					t.Fatal(err)
				}
				longest = max(longest, d.head.Len(), d.entry.Len())
			}
			if err := d.finish(); err != nil {
				t.Fatal(err)
			}
			if got := len(r.state.Nodes); got != 1 { // 200 times node-9, kept once
				t.Errorf("kept %d nodes, want 1", got)
			}
			if got, want := r.found, 200; got != want {
				t.Errorf("read %d objects, want %d", got, want)
			}
			if limit := 2 * len(itemAt(nodeWithNotesYAML, style.indent)); longest > limit {
				t.Errorf("held up to %d bytes of a %d-byte document, want at most %d (one item)", longest, len(text), limit)
			}
		})
	}
}
