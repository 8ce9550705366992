package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readJSONStream reads a stream of JSON documents. An object's fields are read one at a time
// and a list's "items" array one item at a time, so that a huge list is never held whole.
func (r *fileReader) readJSONStream(path string, in io.Reader) error {
	dec := json.NewDecoder(in)
	dec.UseNumber()
	for index := 1; ; index++ {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return documentError(path, index, err)
		}
		switch tok {
		case nil: // a null document, nothing
		case json.Delim('{'):
			if err := r.readJSONObject(dec); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return documentError(path, index, err)
			}
		default:
			return documentError(path, index, errNotObject)
		}
	}
}

// readJSONObject reads the rest of an object whose "{" was read. Its fields but "items" are
// collected into a header; "items", when it is an array and the object may be a list, is read
// item by item.
func (r *fileReader) readJSONObject(dec *json.Decoder) error {
	var header bytes.Buffer
	header.WriteByte('{')
	var kind, apiVersion string
	var items *listItems
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("unexpected %v, want a key", tok)
		}
		var value []byte
		if key == "items" {
			if items != nil {
				return errors.New(`duplicate key "items"`)
			}
			if items, err = newListItems(r, kind, apiVersion); err != nil {
				return err
			}
		}
		if key == "items" && items != nil {
			streamed, v, err := readJSONItems(dec, items)
			if err != nil {
				return err
			}
			if streamed {
				continue
			}
			items, value = nil, v
		} else {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			value = raw
		}
		switch key {
		case "kind":
			kind = jsonString(value)
		case "apiVersion":
			apiVersion = jsonString(value)
		}
		if header.Len() > 1 {
			header.WriteByte(',')
		}
		k, err := json.Marshal(key)
		if err != nil {
			return err
		}
		header.Write(k)
		header.WriteByte(':')
		header.Write(value)
	}
	if _, err := dec.Token(); err != nil { // the closing "}"
		return err
	}
	header.WriteByte('}')
	if items == nil {
		return r.readDocument(header.Bytes())
	}
	return items.finish(header.Bytes())
}

// readJSONItems reads the value of "items": an array, item by item into items (streamed is
// then true), or anything else, returned in JSON for the header. An object is returned as
// "{}": only its type matters (it is an error in a list, ignored in an object).
func readJSONItems(dec *json.Decoder, items *listItems) (streamed bool, value []byte, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, nil, err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return false, nil, err
			}
			if err := items.add(raw); err != nil {
				return false, nil, err
			}
		}
		_, err := dec.Token() // the closing "]"
		return true, nil, err
	case json.Delim('{'):
		for depth := 1; depth > 0; {
			tok, err := dec.Token()
			if err != nil {
				return false, nil, err
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
		}
		return false, []byte("{}"), nil
	default:
		value, err := json.Marshal(tok)
		return false, value, err
	}
}

// jsonString is the string a JSON value holds, or "" when it is not a string.
func jsonString(value []byte) string {
	var s string
	if err := json.Unmarshal(value, &s); err != nil {
		return ""
	}
	return s
}
