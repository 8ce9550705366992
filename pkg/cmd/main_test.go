package cmd

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
)

// testEnv is the API server (with etcd and the CRDs) that every integration test of this
// package shares; TestMain starts it once.
var testEnv *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if testEnv, err = testenv.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start the test environment: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testEnv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop the test environment: %v\n", err)
	}
	os.Exit(code)
}

// runRoot runs the whole command tree with args, as main does, and returns what it printed on
// stdout and stderr and the error main would turn into the exit status.
func runRoot(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewRootCommand(streams)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}
