package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// fileExtensions are the extensions of the files read when a directory is given.
var fileExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// sniffSize is how far into a file FromFiles looks for the first non-blank byte, to tell a
// JSON stream from YAML.
const sniffSize = 4096

// FromFiles reads the cluster state from files instead of a cluster, as support engineers do
// with a cluster dump. Each path is a file or a directory; a directory is read recursively
// (its .yaml, .yml and .json files, in lexical order). A file holds one or more YAML documents
// separated by "---", or a stream of JSON objects. A document is an object, or a list with
// items: "kind: List" or any "...List", which is what "kubectl get -o yaml" writes; items of a
// typed list (NodeList, PodList...) may omit their apiVersion and kind.
//
// Nodes, Pods (v1), VirtualMachines and VirtualMachineInstances (kubevirt.io/v1 or v1alpha3)
// are kept, in the order read; other kinds are ignored. Fields unknown to this build's types
// are ignored too, so that a dump from a newer cluster still reads; a field of the wrong type is
// an error. An object read twice (same kind, namespace and name, as when a file is also in a
// given directory) is kept once, its last reading winning. PodsKnown is true when at least
// one Pod was read.
//
// Files are streamed one document at a time, and a list's items one item at a time (YAML
// lists in block style, as kubectl writes them, and JSON lists), so memory grows with the
// largest object (and the objects kept), not with the file or the list; a YAML list in flow
// style ("items: [...]") is read whole. Every error is bad input (exit status 2): a path that
// cannot be read, a malformed document (named by file and 1-based document index, and item
// index inside a list), or a path holding no Kubernetes object at all.
func FromFiles(paths []string) (detector.ClusterState, error) {
	r := newFileReader()
	for _, path := range paths {
		if err := r.readPath(path); err != nil {
			return detector.ClusterState{}, err
		}
	}
	return r.state, nil
}

// fileReader accumulates the objects read from files.
type fileReader struct {
	decoder runtime.Decoder
	state   detector.ClusterState
	// seen maps kind/namespace/name to the index of the object in its slice of state.
	seen map[string]int
	// found counts the objects read, kept or ignored, from the current path.
	found int
}

func newFileReader() *fileReader {
	return &fileReader{decoder: fileDecoder, seen: map[string]int{}}
}

// fileScheme knows only the kinds that FromFiles keeps: any other kind is "not registered"
// and ignored without being decoded.
var fileScheme = newFileScheme()

var fileDecoder = jsonserializer.NewSerializerWithOptions(
	jsonserializer.DefaultMetaFactory, fileScheme, fileScheme, jsonserializer.SerializerOptions{})

func newFileScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	s.AddKnownTypes(corev1.SchemeGroupVersion, &corev1.Node{}, &corev1.Pod{})
	for _, gv := range kubevirtv1.GroupVersions {
		s.AddKnownTypes(gv, &kubevirtv1.VirtualMachine{}, &kubevirtv1.VirtualMachineInstance{})
	}
	return s
}

func (r *fileReader) readPath(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return readError(path, err)
	}
	r.found = 0
	if !info.IsDir() {
		if err := r.readFile(path); err != nil {
			return err
		}
	} else {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return readError(p, err)
			}
			if d.IsDir() || !fileExtensions[strings.ToLower(filepath.Ext(p))] {
				return nil
			}
			return r.readFile(p)
		})
		if err != nil {
			return err
		}
	}
	if r.found == 0 {
		return exitstatus.Usagef("no Kubernetes objects found in %s", path)
	}
	return nil
}

// readError names the path once, whatever the error from the os package says.
func readError(path string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return exitstatus.Usagef("cannot read %s: %w", path, err)
}

func (r *fileReader) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return readError(path, err)
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, sniffSize)
	head, err := in.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return readError(path, err)
	}
	if startsWithBrace(head) {
		return r.readJSONStream(path, in)
	}
	return r.readYAMLStream(path, in)
}

// startsWithBrace reports whether the first non-blank byte is '{': a JSON stream. Anything
// else is read as YAML, of which JSON is a subset anyway.
func startsWithBrace(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func documentError(path string, index int, err error) error {
	return exitstatus.Usagef("%s: document %d: %w", path, index, err)
}

var errNotObject = errors.New("not a Kubernetes object: expected a mapping with apiVersion and kind")

// listHeader is what tells a list from an object.
type listHeader struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Items      json.RawMessage `json:"items"`
}

// readDocument reads one document, in JSON: nothing (an empty or comment-only YAML document),
// an object, or a list of objects.
func (r *fileReader) readDocument(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil
	}
	if data[0] != '{' {
		return errNotObject
	}
	var head listHeader
	if err := utiljson.Unmarshal(data, &head); err != nil {
		return err
	}
	isList := head.Kind == "List" || (strings.HasSuffix(head.Kind, "List") && head.Items != nil)
	if !isList {
		return r.readObject(data, nil)
	}
	var items []json.RawMessage
	if err := utiljson.Unmarshal(head.Items, &items); err != nil {
		return fmt.Errorf("items: %w", err)
	}
	defaults, err := listDefaults(head.Kind, head.APIVersion)
	if err != nil {
		return err
	}
	for i, item := range items {
		item = bytes.TrimSpace(item)
		if len(item) == 0 || item[0] != '{' {
			return fmt.Errorf("item %d: %w", i+1, errNotObject)
		}
		if err := r.readObject(item, defaults); err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	return nil
}

// listDefaults is the kind and apiVersion of the items of a list: none for "kind: List", whose
// items must name their own; those of a typed list (NodeList...), whose items may leave them
// out, as the API server does.
func listDefaults(kind, apiVersion string) (*schema.GroupVersionKind, error) {
	if kind == "List" {
		return nil, nil
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("apiVersion: %w", err)
	}
	gvk := gv.WithKind(strings.TrimSuffix(kind, "List"))
	return &gvk, nil
}

// Errors of an object without its kind or apiVersion: an item of a typed list may leave them
// out, and be decoded once the list's own kind and apiVersion are known.
var (
	errMissingKind    = errors.New("missing kind")
	errMissingVersion = errors.New("missing apiVersion")
)

// readObject decodes one object into its Go type and keeps it, or ignores a kind it does not
// keep.
func (r *fileReader) readObject(data []byte, defaults *schema.GroupVersionKind) error {
	obj, err := r.decodeObject(data, defaults)
	if err != nil {
		return err
	}
	return r.keepObject(obj)
}

// decodeObject decodes one object into its Go type; it returns nil for a kind FromFiles does
// not keep.
func (r *fileReader) decodeObject(data []byte, defaults *schema.GroupVersionKind) (runtime.Object, error) {
	obj, _, err := r.decoder.Decode(data, defaults, nil)
	switch {
	case err == nil:
		return obj, nil
	case runtime.IsNotRegisteredError(err):
		return nil, nil
	case runtime.IsMissingKind(err):
		return nil, errMissingKind
	case runtime.IsMissingVersion(err):
		return nil, errMissingVersion
	default:
		return nil, err
	}
}

// keepObject keeps an object decoded by decodeObject, and counts it (nil, an ignored kind,
// is counted too).
func (r *fileReader) keepObject(obj runtime.Object) error {
	r.found++
	switch o := obj.(type) {
	case nil:
	case *corev1.Node:
		r.state.Nodes = keep(r, r.state.Nodes, "Node", o.Namespace, o.Name, *o)
	case *corev1.Pod:
		r.state.Pods = keep(r, r.state.Pods, "Pod", o.Namespace, o.Name, *o)
		r.state.PodsKnown = true
	case *kubevirtv1.VirtualMachine:
		r.state.VMs = keep(r, r.state.VMs, "VirtualMachine", o.Namespace, o.Name, *o)
	case *kubevirtv1.VirtualMachineInstance:
		r.state.VMIs = keep(r, r.state.VMIs, "VirtualMachineInstance", o.Namespace, o.Name, *o)
	default:
		return fmt.Errorf("unexpected object type %T", obj)
	}
	return nil
}

// keep appends obj to list, or replaces the object of the same kind, namespace and name read
// before. Objects without a name are always appended.
func keep[T any](r *fileReader, list []T, kind, namespace, name string, obj T) []T {
	if name == "" {
		return append(list, obj)
	}
	key := kind + "/" + namespace + "/" + name
	if i, ok := r.seen[key]; ok {
		list[i] = obj
		return list
	}
	r.seen[key] = len(list)
	return append(list, obj)
}
