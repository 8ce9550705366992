package standin_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
)

var (
	env *testenv.Env
	srv *standin.Server
)

// The cluster's nodes: by name, a witness and a tainted node come before the first node a
// VM may be placed on, node-1.
const (
	firstFitNode = "node-1"
	otherNode    = "node-2"
)

// standinHour is an AsyncDelay no test waits out: RunPending ends it.
const standinHour = time.Hour

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	ctx := context.Background()
	tainted := testenv.NewNode("node-0-tainted")
	tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	notReady := testenv.NewNode("node-0-unready")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	for _, n := range []*corev1.Node{testenv.NewWitnessNode("a-witness"), tainted, notReady,
		testenv.NewNode(firstFitNode), testenv.NewNode(otherNode)} {
		if _, err := env.CreateNode(ctx, n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if srv, err = standin.Start(env.Config); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// fresh empties the stand-in's log and faults for a test and clears them again after it.
func fresh(t *testing.T) {
	t.Helper()
	srv.ResetLog()
	srv.ClearFaults()
	srv.SetHealthy(true)
	srv.SetAsyncDelay(0)
	t.Cleanup(func() {
		srv.ClearFaults()
		srv.SetHealthy(true)
		srv.SetAsyncDelay(0)
		srv.RunPending()
	})
}

func kubevirtClient(t *testing.T) *kubevirt.Client {
	t.Helper()
	c, err := kubevirt.New(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// makeVM creates a VM with the run strategy; with node set, also its Running VMI and launcher
// pod there (2 CPUs, 4Gi).
func makeVM(t *testing.T, ns, name string, strategy kubevirtv1.VirtualMachineRunStrategy, node string) *testenv.RunningVM {
	t.Helper()
	vm := testenv.NewVM(ns, name)
	vm.Spec.RunStrategy = &strategy
	rv, err := env.CreateVM(context.Background(), vm, node, "2", "4Gi", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func getVM(t *testing.T, ns, name string) *kubevirtv1.VirtualMachine {
	t.Helper()
	vm := &kubevirtv1.VirtualMachine{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, vm); err != nil {
		t.Fatal(err)
	}
	return vm
}

// getVMI returns the VMI, nil when there is none.
func getVMI(t *testing.T, ns, name string) *kubevirtv1.VirtualMachineInstance {
	t.Helper()
	vmi := &kubevirtv1.VirtualMachineInstance{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, vmi); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil
		}
		t.Fatal(err)
	}
	return vmi
}

func launcherPods(t *testing.T, ns string, vmiUID string) []corev1.Pod {
	t.Helper()
	pods, err := env.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: kubevirtv1.CreatedByLabel + "=" + vmiUID})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func strategyOf(vm *kubevirtv1.VirtualMachine) kubevirtv1.VirtualMachineRunStrategy {
	s, _ := vm.RunStrategy()
	return s
}

var nsSeq atomic.Int64

// testNS returns a namespace name of its own for each test run (go test -count=N reuses the
// API server).
func testNS(base string) string {
	return fmt.Sprintf("%s-%d", base, nsSeq.Add(1))
}
