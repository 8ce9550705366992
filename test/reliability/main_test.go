package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/cmd"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
	"github.com/cloudweav/upgrade-helper/pkg/record"
	"github.com/cloudweav/upgrade-helper/pkg/restore"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

// The example cluster and upgrade every live test loads (examples/cluster.yaml,
// examples/upgrade.yaml).
const (
	exampleUpgrade = "hvst-upgrade-gqbg5"
	sourceNode     = "node-1"
	systemNS       = testenv.SystemNamespace
)

// node1Stopped are the VMs of node-1 that cannot leave it: what --shutdown --upgrade records
// and stops, and restore-vm starts again.
var node1Stopped = []string{
	"default/legacy-app", "prod/bigmem-cache", "prod/erp-db", "prod/ml-passthrough", "prod/oracle-licensed", "prod/render-vgpu",
}

var (
	// env is the API server (etcd, CRDs, RBAC on) the tests share.
	env *testenv.Env
	// kv is the KubeVirt stand-in in front of env: every test talks to it, so that its faults
	// and request log apply.
	kv *standin.Server
	// adminKubeconfig talks to kv as the upstream admin.
	adminKubeconfig string
	// workDir holds the package's shared files.
	workDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The production waits (kube.DefaultRetryPolicy: 250ms doubling to 4s over 6 tries;
	// restore.DefaultStartBackoff: 2 rounds 3s apart, each round the transport's 6 tries)
	// would make the permanent-fault cases take minutes. The tests keep the transport's
	// 6 tries and its doubling and shorten the first wait; Max stays at 2s so that a
	// Retry-After of 1s is honoured as it is. restore-vm's own rounds of starts are cut to 2.
	kube.DefaultRetryPolicy = kube.RetryPolicy{Attempts: 6, Initial: 20 * time.Millisecond, Max: 2 * time.Second}
	restore.DefaultStartBackoff = wait.Backoff{Steps: 2, Duration: 20 * time.Millisecond, Factor: 2, Jitter: 0.2}

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
	env, kv, adminKubeconfig = started.Env, started.KubeVirt, started.KubeVirtKubeconfig
	if workDir, err = os.MkdirTemp("", "upgrade-helper-reliability-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	return m.Run()
}

// result is what one run of the command tree gave.
type result struct {
	stdout, stderr string
	err            error
	code           int
}

// message is the error main would print ("" for none).
func (r result) message() string {
	if r.err == nil {
		return ""
	}
	return r.err.Error()
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, error %q\nstdout:\n%s\nstderr:\n%s", r.code, r.message(), r.stdout, r.stderr)
}

// runCLI runs the whole command tree with args, in-process, as main does.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCLITB(t, args...)
}

func runCLITB(tb testing.TB, args ...string) result {
	tb.Helper()
	var out, errOut bytes.Buffer
	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return result{stdout: out.String(), stderr: errOut.String(), err: err, code: exitstatus.Code(err)}
}

// writeKubeconfig writes a kubeconfig for cfg in the test's temporary folder.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// userKubeconfig writes a kubeconfig that talks to the stand-in with userCfg's own client
// certificate (from env.AddUser), so that RBAC applies to the user.
func userKubeconfig(t *testing.T, userCfg *rest.Config) string {
	t.Helper()
	return writeKubeconfig(t, kv.Via(userCfg))
}

// examplePath is the path of a file under examples/.
func examplePath(name string) string { return filepath.Join(env.RepoRoot, "examples", name) }

// exampleLoaded is true while the cluster holds the example as loadExample left it.
var exampleLoaded bool

// loadExample makes the cluster hold examples/cluster.yaml and examples/upgrade.yaml, with
// no fault injected and an empty request log. Loading takes seconds, so it is done once and
// each test's cleanup brings the cluster back (starts again what the test stopped, deletes
// the restore record and the events); when that fails the next test loads it afresh.
func loadExample(t *testing.T) {
	t.Helper()
	kv.ClearFaults()
	kv.SetHealthy(true)
	if !exampleLoaded {
		resetCluster(t)
		ctx := context.Background()
		state, err := source.FromFiles([]string{examplePath("cluster.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.LoadClusterState(ctx, state); err != nil {
			t.Fatalf("load the example cluster: %v", err)
		}
		if err := env.EnsureNamespace(ctx, systemNS); err != nil {
			t.Fatal(err)
		}
		if err := env.LoadUpgradeFile(ctx, examplePath("upgrade.yaml")); err != nil {
			t.Fatalf("load the example upgrade: %v", err)
		}
		exampleLoaded = true
	}
	kv.ResetLog()
	t.Cleanup(func() { backToExample(t) })
}

// backToExample undoes what a test did to the example cluster.
func backToExample(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	kv.ClearFaults()
	kv.SetHealthy(true)
	kv.WaitIdle()
	exampleLoaded = false
	starter, err := kubevirt.New(kv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	stopped := node1Stopped
	if still := running(t, node1Stopped); len(still) == len(node1Stopped) {
		stopped = nil
	}
	errs := make([]error, len(stopped))
	var wg sync.WaitGroup
	for i, key := range stopped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, name, _ := strings.Cut(key, "/")
			if err := starter.Start(ctx, ns, name); err != nil && !kubevirt.IsAlreadyRunning(err) {
				errs[i] = fmt.Errorf("start %s again: %w", key, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
		return
	}
	kv.WaitIdle()
	if got := running(t, node1Stopped); len(got) != len(node1Stopped) {
		t.Errorf("after starting them again, running: %v", got)
		return
	}
	err = env.Kube.CoreV1().ConfigMaps(systemNS).Delete(ctx, record.ConfigMapName(exampleUpgrade), metav1.DeleteOptions{})
	if client.IgnoreNotFound(err) != nil {
		t.Error(err)
		return
	}
	if err := env.Client.DeleteAllOf(ctx, &corev1.Event{}, client.InNamespace(systemNS)); err != nil {
		t.Error(err)
		return
	}
	kv.ResetLog()
	exampleLoaded = true
}

func resetCluster(t *testing.T) {
	t.Helper()
	kv.ClearFaults()
	kv.SetHealthy(true)
	kv.WaitIdle()
	exampleLoaded = false
	if err := env.Reset(context.Background()); err != nil {
		t.Fatalf("reset the cluster: %v", err)
	}
	kv.ResetLog()
}

// shutdownNode1 runs the pre-drain step for node-1 as the admin, without faults, and checks
// that it stopped and recorded node1Stopped; restore-vm tests start from there.
func shutdownNode1(t *testing.T) {
	t.Helper()
	res := runCLI(t, "vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade, "--kubeconfig", adminKubeconfig)
	if res.code != 0 {
		t.Fatalf("pre-drain shutdown: %v", res)
	}
	assertRecord(t, node1Stopped)
	kv.ResetLog()
}

// recorded returns node-1's entry in the example upgrade's restore record, and whether the
// record exists.
func recorded(t *testing.T) ([]string, bool) {
	t.Helper()
	keys, found, err := record.Store{Kube: env.Kube}.Read(context.Background(), systemNS, exampleUpgrade, sourceNode)
	if err != nil {
		t.Fatal(err)
	}
	return keys, found
}

// assertRecord checks that node-1's entry names exactly want.
func assertRecord(t *testing.T, want []string) {
	t.Helper()
	got, found := recorded(t)
	if !found {
		t.Fatalf("no restore record %s", record.ConfigMapName(exampleUpgrade))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("restore record for %s = %v, want %v", sourceNode, got, want)
	}
}

// running returns which of keys (namespace/name) have a VMI.
func running(t *testing.T, keys []string) []string {
	t.Helper()
	var out []string
	for _, key := range keys {
		ns, name, _ := strings.Cut(key, "/")
		var vmi kubevirtv1.VirtualMachineInstance
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &vmi)
		if err == nil {
			out = append(out, key)
		} else if client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	return out
}

// requests counts the stand-in's logged requests that match.
func requests(match func(standin.Request) bool) int { return kv.CountMatching(match) }

// wantContains reports each part missing from s.
func wantContains(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not say %q:\n%s", what, p, s)
		}
	}
}
