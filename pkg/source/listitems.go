package source

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// listItems takes the items of a list one at a time, as the YAML and JSON readers split them
// off the document, so that a huge list is never held whole.
//
// The list's kind may come after its items ("kubectl get -o yaml" writes apiVersion, items,
// kind, metadata). Until it is known the items are decoded on speculation and held, not kept:
// the document may turn out to be an object whose "items" field means nothing here, in which
// case they are dropped, errors included. An item that needs the list's kind and apiVersion
// (an item of a typed list without its own) is held as JSON until they are known.
type listItems struct {
	r *fileReader
	// known is true when the list's kind and apiVersion were read before its items: items are
	// then kept as they come, with defaults, and their errors returned at once.
	known            bool
	kind, apiVersion string
	defaults         *schema.GroupVersionKind
	count            int
	pending          []pendingItem
	pendingErr       error
}

// pendingItem is an item read before the list's kind: a decoded object (nil for a kind
// FromFiles does not keep), or the JSON of an object without its kind or apiVersion.
type pendingItem struct {
	index int
	obj   runtime.Object
	data  []byte
}

// newListItems starts the items of a document whose header, so far, gave kind and apiVersion
// (empty when not given yet). It returns nil when the kind is known and not a list: the
// document is then an object, to be read whole.
func newListItems(r *fileReader, kind, apiVersion string) (*listItems, error) {
	l := &listItems{r: r, kind: kind, apiVersion: apiVersion}
	switch {
	case kind == "":
	case !isListKind(kind):
		return nil, nil
	case kind == "List" || apiVersion != "":
		defaults, err := listDefaults(kind, apiVersion)
		if err != nil {
			return nil, err
		}
		l.known, l.defaults = true, defaults
	}
	return l, nil
}

// isListKind tells a list from an object, given that the document has items.
func isListKind(kind string) bool {
	return strings.HasSuffix(kind, "List")
}

// add reads the next item, in JSON.
func (l *listItems) add(data []byte) error {
	l.count++
	index := l.count
	if !l.known && l.pendingErr != nil {
		return nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return l.fail(fmt.Errorf("item %d: %w", index, errNotObject))
	}
	if l.known {
		if err := l.r.readObject(data, l.defaults); err != nil {
			return fmt.Errorf("item %d: %w", index, err)
		}
		return nil
	}
	obj, err := l.r.decodeObject(data, nil)
	switch {
	case err == nil:
		l.pending = append(l.pending, pendingItem{index: index, obj: obj})
	case errors.Is(err, errMissingKind) || errors.Is(err, errMissingVersion):
		l.pending = append(l.pending, pendingItem{index: index, data: data})
	default:
		return l.fail(fmt.Errorf("item %d: %w", index, err))
	}
	return nil
}

// fail returns err at once for a known list, or holds it until the kind is known.
func (l *listItems) fail(err error) error {
	if l.known {
		return err
	}
	l.pendingErr = err
	return nil
}

// finish ends the document, given its header in JSON: everything but the items.
func (l *listItems) finish(header []byte) error {
	header = bytes.TrimSpace(header)
	if len(header) == 0 || bytes.Equal(header, []byte("null")) {
		header = []byte("{}")
	}
	if header[0] != '{' {
		return errNotObject
	}
	var head listHeader
	if err := utiljson.Unmarshal(header, &head); err != nil {
		return err
	}
	if head.Items != nil {
		return errors.New(`duplicate key "items"`)
	}
	if l.known {
		// Only a key given twice can change them after the items.
		if head.Kind != l.kind || (l.defaults != nil && head.APIVersion != l.apiVersion) {
			return errors.New("kind or apiVersion given twice, with different values")
		}
		return nil
	}
	if !isListKind(head.Kind) {
		return l.r.readObject(header, nil)
	}
	defaults, err := listDefaults(head.Kind, head.APIVersion)
	if err != nil {
		return err
	}
	for _, item := range l.pending {
		obj := item.obj
		if item.data != nil {
			if obj, err = l.r.decodeObject(item.data, defaults); err != nil {
				return fmt.Errorf("item %d: %w", item.index, err)
			}
		}
		if err := l.r.keepObject(obj); err != nil {
			return fmt.Errorf("item %d: %w", item.index, err)
		}
	}
	l.pending = nil
	return l.pendingErr
}
