package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// readYAMLStream reads a stream of YAML documents separated by "---" lines, line by line, as
// k8s.io/apimachinery/pkg/util/yaml.YAMLReader splits them (the same separators, the same
// document numbers, the same error for a separator followed by text).
//
// A document is read whole and decoded, except the sequence under a top-level "items:" key,
// which is split into its entries while reading: each entry is decoded on its own and
// dropped, so that a huge "kind: List" is never held whole (see yamlDocument).
func (r *fileReader) readYAMLStream(path string, in *bufio.Reader) error {
	lines := lineReader{in: in}
	index := 1
	doc := newYAMLDocument(r)
	for {
		line, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readError(path, err)
		}
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			rest = bytes.TrimSpace(rest)
			if len(rest) > 0 && rest[0] != '#' {
				return documentError(path, index, fmt.Errorf("invalid Yaml document separator: %s", rest))
			}
			if doc.started {
				if err := doc.finish(); err != nil {
					return documentError(path, index, err)
				}
				index++
				doc = newYAMLDocument(r)
			}
			continue
		}
		if err := doc.line(line); err != nil {
			return documentError(path, index, err)
		}
	}
	if doc.started {
		if err := doc.finish(); err != nil {
			return documentError(path, index, err)
		}
	}
	return nil
}

// lineReader reads lines without their line break ("\n" or "\r\n"), however long.
type lineReader struct {
	in   *bufio.Reader
	line []byte
}

// next returns the next line, valid until the next call, or io.EOF at the end.
func (l *lineReader) next() ([]byte, error) {
	l.line = l.line[:0]
	for {
		chunk, err := l.in.ReadSlice('\n')
		l.line = append(l.line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(l.line) > 0 {
			return l.line, nil // a last line without a line break
		}
		if err != nil {
			return nil, err
		}
		line := l.line[:len(l.line)-1]
		return bytes.TrimSuffix(line, []byte("\r")), nil
	}
}

// Where a yamlDocument is in its document.
type yamlState int

const (
	// inHeader: top-level keys other than items.
	inHeader yamlState = iota
	// afterItemsKey: after a block "items:" key, before its first entry.
	afterItemsKey
	// inItems: in the entries of the items sequence.
	inItems
	// whole: the document is read whole, as it cannot be split safely.
	whole
)

// yamlDocument splits one YAML document while it is read, line by line.
//
// Everything but the block sequence under a top-level "items:" key goes into head: a list's
// header (apiVersion, kind, metadata) is small. The entries of that sequence are recognised by
// the indentation of the first "-" after "items:" (kubectl writes "items:\n- apiVersion: v1",
// other tools indent "  - "): a line starting with "-" at that column starts an entry; a more
// indented, blank or comment line continues it (block scalars included, whose lines are
// indented more than their entry); the next line at column 0 ends the sequence. Each entry is
// decoded on its own, with its lines as they are under an "items:" key, then dropped.
//
// Anything else (a flow sequence "items: [...]", items that are not a sequence, a kind read
// before the items that is not a list) is read whole, as any other document: memory is then
// bounded by the document's size.
type yamlDocument struct {
	r       *fileReader
	started bool
	state   yamlState
	head    bytes.Buffer
	// itemsAt is the length of head before the "items:" line, cut off when the items are split.
	itemsAt int
	// entryIndent is the column of the entries' "-".
	entryIndent int
	// brk is the line break of the line being read.
	brk []byte
	// entry is the entry being read, or from the first entry that may define an anchor (which
	// later entries may refer to) all the rest, decoded together.
	entry   bytes.Buffer
	anchors bool
	items   *listItems
}

func newYAMLDocument(r *fileReader) *yamlDocument {
	return &yamlDocument{r: r}
}

// line reads the next line of the document, as split by "\n" (and "\r\n"). Other line
// breaks to YAML ("\r", and U+0085, U+2028, U+2029) split it further, kept as they are.
func (d *yamlDocument) line(line []byte) error {
	d.started = true
	for {
		i, size := nextBreak(line)
		if i < 0 {
			d.brk = newline
			return d.segment(line)
		}
		d.brk = line[i : i+size]
		if err := d.segment(line[:i]); err != nil {
			return err
		}
		line = line[i+size:]
	}
}

var newline = []byte("\n")

// nextBreak finds the first line break other than "\n" in line: its index (-1 if none) and
// size.
func nextBreak(line []byte) (int, int) {
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\r':
			return i, 1
		case line[i] == 0xc2 && i+1 < len(line) && line[i+1] == 0x85:
			return i, 2
		case line[i] == 0xe2 && i+2 < len(line) && line[i+1] == 0x80 && (line[i+2] == 0xa8 || line[i+2] == 0xa9):
			return i, 3
		}
	}
	return -1, 0
}

// segment reads the next line of the document, as YAML splits lines; d.brk is its line break.
func (d *yamlDocument) segment(line []byte) error {
	switch d.state {
	case afterItemsKey:
		switch {
		case isBlankOrComment(line):
			d.write(line)
			return nil
		case isEntry(line, indentOf(line)):
			return d.startItems(line)
		case indentOf(line) == 0: // "items:" without a value, then the next key
			d.state = inHeader
		default: // a mapping or a scalar under "items:"
			d.state = whole
			d.write(line)
			return nil
		}
	case inItems:
		switch {
		case isEntry(line, d.entryIndent):
			if !d.anchors {
				if err := d.flushEntry(); err != nil {
					return err
				}
			}
			d.addEntryLine(line)
			return nil
		case isBlankOrComment(line) || indentOf(line) > 0:
			d.addEntryLine(line)
			return nil
		}
		if err := d.flushEntry(); err != nil {
			return err
		}
		d.state = inHeader
	case whole:
		d.write(line)
		return nil
	}
	// inHeader
	if value, ok := bytes.CutPrefix(line, []byte("items:")); ok && (len(value) == 0 || value[0] == ' ' || value[0] == '\t') {
		if d.items != nil {
			return errors.New(`duplicate key "items"`)
		}
		value = bytes.TrimLeft(value, " \t")
		if len(value) == 0 || value[0] == '#' {
			d.itemsAt = d.head.Len()
			d.state = afterItemsKey
		} else {
			d.state = whole // a flow sequence, an anchor, a tag, a scalar...
		}
	}
	d.write(line)
	return nil
}

// startItems starts the items sequence with its first entry, or reads the document whole when
// its kind, read before, is not a list.
func (d *yamlDocument) startItems(line []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	// A header that does not parse (yet) leaves the kind unknown; finish reports the error.
	_ = yaml.Unmarshal(d.head.Bytes()[:d.itemsAt], &head)
	items, err := newListItems(d.r, head.Kind, head.APIVersion)
	if err != nil {
		return err
	}
	// Items may refer to an anchor of the header: read such a document whole.
	if items == nil || mayDefineAnchor(d.head.Bytes()[:d.itemsAt]) {
		d.state = whole
		d.write(line)
		return nil
	}
	d.items = items
	d.head.Truncate(d.itemsAt)
	d.entryIndent = indentOf(line)
	d.state = inItems
	d.addEntryLine(line)
	return nil
}

func (d *yamlDocument) addEntryLine(line []byte) {
	if !d.anchors && mayDefineAnchor(line) {
		d.anchors = true
	}
	if d.entry.Len() == 0 {
		// In the document's own context, so that what cannot follow there fails here too.
		d.entry.WriteString("items:\n")
	}
	d.addLine(&d.entry, line)
}

// flushEntry decodes the entry (or entries) read so far, if any.
func (d *yamlDocument) flushEntry() error {
	if d.entry.Len() == 0 {
		return nil
	}
	defer d.entry.Reset()
	index := d.items.count + 1
	data, err := yaml.YAMLToJSON(d.entry.Bytes())
	if err != nil {
		return fmt.Errorf("item %d: %w", index, err)
	}
	var entries struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &entries); err != nil || len(entries.Items) == 0 {
		return fmt.Errorf("item %d: not a sequence entry", index)
	}
	for _, item := range entries.Items {
		if err := d.items.add(item); err != nil {
			return err
		}
	}
	return nil
}

// finish decodes what is left of the document once it is all read.
func (d *yamlDocument) finish() error {
	if d.state == inItems {
		if err := d.flushEntry(); err != nil {
			return err
		}
	}
	data, err := yaml.YAMLToJSON(d.head.Bytes())
	if err != nil {
		return err
	}
	if d.items == nil {
		return d.r.readDocument(data)
	}
	return d.items.finish(data)
}

func (d *yamlDocument) write(line []byte) {
	d.addLine(&d.head, line)
}

func (d *yamlDocument) addLine(buf *bytes.Buffer, line []byte) {
	buf.Write(line)
	buf.Write(d.brk)
}

// indentOf is the number of spaces a line starts with.
func indentOf(line []byte) int {
	n := 0
	for n < len(line) && line[n] == ' ' {
		n++
	}
	return n
}

// isBlankOrComment reports whether a line holds only blanks, or a comment.
func isBlankOrComment(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	return len(line) == 0 || line[0] == '#'
}

// mayDefineAnchor reports whether text may define a YAML anchor ("&name" where a node may
// start); it may also be a "&" inside a string, which only costs reading the rest of the
// items together.
func mayDefineAnchor(text []byte) bool {
	for i := bytes.IndexByte(text, '&'); i >= 0; {
		if i+1 < len(text) && !isSpace(text[i+1]) && (i == 0 || isSpace(text[i-1]) || bytes.IndexByte([]byte("[{,"), text[i-1]) >= 0) {
			return true
		}
		next := bytes.IndexByte(text[i+1:], '&')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// isEntry reports whether a line starts a block sequence entry at column indent: a "-" there,
// then a blank or the end of the line.
func isEntry(line []byte, indent int) bool {
	if indentOf(line) != indent || len(line) <= indent || line[indent] != '-' {
		return false
	}
	return len(line) == indent+1 || line[indent+1] == ' ' || line[indent+1] == '\t'
}
