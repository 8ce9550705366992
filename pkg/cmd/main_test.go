package cmd

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/internal/testenv"
)

// testEnv is the API server (with etcd and the CRDs) that every integration test of this
// package shares; TestMain starts it once.
var testEnv *testenv.Env

// kubeVirt is the KubeVirt stand-in in front of testEnv's API server, and kubeVirtConfig a
// kubeconfig file that talks to it; tests that stop or start VMs go through it.
var (
	kubeVirt       *standin.Server
	kubeVirtConfig string
)

func TestMain(m *testing.M) {
	env, err := testenv.StartWithKubeVirt()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the test environment: %v\n", err)
		os.Exit(1)
	}
	testEnv, kubeVirt, kubeVirtConfig = env.Env, env.KubeVirt, env.KubeVirtKubeconfig
	code := m.Run()
	if err := env.Stop(); err != nil {
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
	if args == nil {
		args = []string{} // nil would make cobra read the test binary's own arguments
	}
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}
