package deploy

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/internal/testenv"
)

// systemNamespace is the contract's namespace, which every namespaced manifest must name.
const systemNamespace = "cloudweav-system"

var (
	// env is the API server the tests share (CRDs installed, RBAC on).
	env *testenv.Env
	// kubevirt is the stand-in for KubeVirt's subresource API in front of env.
	kubevirt *standin.Server
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	started, err := testenv.StartWithKubeVirt()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the test environment: %v\n", err)
		return 1
	}
	defer func() {
		if err := started.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the test environment: %v\n", err)
		}
	}()
	env, kubevirt = started.Env, started.KubeVirt
	if err := env.EnsureNamespace(context.Background(), systemNamespace); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
