package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/pkg/cmd"
)

// command is a command tree with the buffers its output goes to.
type command struct {
	root        *cobra.Command
	out, errOut *bytes.Buffer
}

// newCommand builds the command tree of a binary run as argv0.
func newCommand(argv0 string) command {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	return command{root: cmd.NewRootCommandAs(streams, argv0), out: out, errOut: errOut}
}

// run executes the tree with args as main does and returns its stdout and the error.
func (c command) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c.root.SetArgs(args)
	err := c.root.ExecuteContext(context.Background())
	return c.out.String(), err
}
