package cmd

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// OutputFormat is the format of a command's report, chosen with -o.
type OutputFormat string

// The report formats.
const (
	// OutputText is the human-readable report.
	OutputText OutputFormat = "text"
	// OutputJSON is the report as JSON, indented two spaces.
	OutputJSON OutputFormat = "json"
	// OutputYAML is the report as YAML.
	OutputYAML OutputFormat = "yaml"
)

// Validate fails with the usage exit status for a format other than text, json and yaml.
func (f OutputFormat) Validate() error {
	switch f {
	case OutputText, OutputJSON, OutputYAML:
		return nil
	}
	return exitstatus.Usagef("unknown output format %q: use text, json or yaml", string(f))
}

// printStructured writes v to w as JSON (indented two spaces, ending with a newline) or YAML.
func printStructured(w io.Writer, format OutputFormat, v any) error {
	var data []byte
	var err error
	switch format {
	case OutputJSON:
		data, err = json.MarshalIndent(v, "", "  ")
		data = append(data, '\n')
	case OutputYAML:
		data, err = yaml.Marshal(v)
	default:
		return fmt.Errorf("print %s: not a structured output format", format)
	}
	if err != nil {
		return fmt.Errorf("encode the report as %s: %w", format, err)
	}
	_, err = w.Write(data)
	return err
}
