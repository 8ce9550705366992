package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a manifest file.
type document struct {
	// file is the path relative to the repository root, index the document's place in it.
	file  string
	index int
	obj   *unstructured.Unstructured
}

func (d document) String() string {
	return fmt.Sprintf("%s#%d %s %s", d.file, d.index, d.obj.GetKind(), d.obj.GetName())
}

// readManifests reads every document of every .yaml, .yml and .json file under deploy/,
// recursively. A document that is empty or only comments is skipped; one that does not parse
// (duplicate keys included) fails the test.
func readManifests(t *testing.T) []document {
	t.Helper()
	root := filepath.Join(env.RepoRoot, "deploy")
	var docs []document
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		rel, err := filepath.Rel(env.RepoRoot, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		objs, err := decodeDocuments(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for i, obj := range objs {
			docs = append(docs, document{file: filepath.ToSlash(rel), index: i, obj: obj})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read deploy/: %v", err)
	}
	return docs
}

// decodeDocuments splits a YAML stream into its objects.
func decodeDocuments(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for n := 0; ; n++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if trimmed := bytes.TrimSpace(js); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("document %d: a %T, not one object", n, obj)
		}
		objs = append(objs, u)
	}
}

// resourceFor maps obj to its resource client, scoped to its namespace when it is namespaced.
// A namespaced object must name its namespace: a manifest may not depend on kubectl's default.
func resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := env.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		if obj.GetNamespace() != "" {
			return nil, fmt.Errorf("%s is cluster-scoped but names namespace %q", gvk.Kind, obj.GetNamespace())
		}
		return dyn.Resource(mapping.Resource), nil
	}
	if obj.GetNamespace() == "" {
		return nil, fmt.Errorf("%s is namespaced but names no namespace", gvk.Kind)
	}
	return dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
}

// dryRunApply sends obj to the API server as a server-side dry run with strict field
// validation (an unknown or duplicate field is an error): a create, or an update of the
// stored object when it exists. Nothing is stored.
func dryRunApply(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, err := resourceFor(obj)
	if err != nil {
		return err
	}
	obj = obj.DeepCopy()
	_, err = ri.Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	existing, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	obj.SetResourceVersion(existing.GetResourceVersion())
	_, err = ri.Update(ctx, obj, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
	return err
}

// TestManifestsAccepted applies every document under deploy/ to the API server (dry run), so
// that a typo in a manifest cannot ship.
func TestManifestsAccepted(t *testing.T) {
	docs := readManifests(t)
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[d.obj.GetKind()]++
	}
	// What deploy/ must hold: the two CRDs, the ServiceAccount with its roles and bindings,
	// and the three example Jobs.
	want := map[string]int{
		"CustomResourceDefinition": 2, "ServiceAccount": 1,
		"ClusterRole": 3, "ClusterRoleBinding": 3, "Role": 3, "RoleBinding": 3,
		"Job": 3,
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("documents under deploy/ by kind (-want +got):\n%s", diff)
	}
	ctx := context.Background()
	for _, d := range docs {
		t.Run(d.String(), func(t *testing.T) {
			if err := dryRunApply(ctx, d.obj); err != nil {
				t.Errorf("the API server rejects %s: %v", d, err)
			}
		})
	}
}

// TestDryRunApplyRejectsMistakes shows that the check above can fail: the mistakes a hand
// edit makes are rejected.
func TestDryRunApplyRejectsMistakes(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{
			name: "misspelled field",
			manifest: `apiVersion: v1
kind: ServiceAccount
metadata:
  name: upgrade-helper
  namespace: cloudweav-system
automountServiceAcountToken: false
`,
			want: `unknown field "automountServiceAcountToken"`,
		},
		{
			name: "field at the wrong level",
			manifest: `apiVersion: batch/v1
kind: Job
metadata:
  name: wrong-level
  namespace: cloudweav-system
spec:
  serviceAccountName: upgrade-helper
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: c
          image: example.invalid/c:v1
`,
			want: `unknown field "spec.serviceAccountName"`,
		},
		{
			name: "invalid value",
			manifest: `apiVersion: batch/v1
kind: Job
metadata:
  name: bad-restart-policy
  namespace: cloudweav-system
spec:
  template:
    spec:
      restartPolicy: Always
      containers:
        - name: c
          image: example.invalid/c:v1
`,
			want: `spec.template.spec.restartPolicy`,
		},
		{
			name: "namespaced object without a namespace",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: no-namespace
rules: []
`,
			want: "names no namespace",
		},
		{
			name: "unknown kind",
			manifest: `apiVersion: cloudweavhci.io/v1beta1
kind: Upgrad
metadata:
  name: typo
  namespace: cloudweav-system
`,
			want: "no matches for kind",
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := decodeDocuments([]byte(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 {
				t.Fatalf("%d documents, want 1", len(objs))
			}
			err = dryRunApply(ctx, objs[0])
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("dryRunApply() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeDocuments(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		want    []string
		wantErr string
	}{
		{"one", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", []string{"ConfigMap/a"}, ""},
		{"empty and comment-only documents are skipped",
			"# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n---\n# only\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n",
			[]string{"ConfigMap/a", "Secret/b"}, ""},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n", nil, "already set"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", nil, "Kind' is missing"},
		{"not YAML", "apiVersion: [v1\n", nil, "document 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := decodeDocuments([]byte(tt.stream))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decodeDocuments() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decodeDocuments() (-want +got):\n%s", diff)
			}
		})
	}
}

// manifestsOfKind returns the documents of kind under deploy/, sorted by file.
func manifestsOfKind(t *testing.T, kind string) []document {
	t.Helper()
	var out []document
	for _, d := range readManifests(t) {
		if d.obj.GetKind() == kind {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// fromUnstructured converts a document to its typed object, failing on unknown fields.
func fromUnstructured(t *testing.T, d document, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(d.obj.Object, into, true); err != nil {
		t.Fatalf("%s: %v", d, err)
	}
}
