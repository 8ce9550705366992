package cmd

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/internal/testenv"
	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

const shutdownUpgrade = "hvst-upgrade-test"

// shutdownCluster builds a small cluster: nodes sd-1 and sd-2; on sd-1 the VMs pinned-a and
// pinned-b (node selectors), upgrade-repo (pinned, created by the upgrade) and mobile (can
// leave); on sd-2 the VM pinned-c (node selector). It also creates the Upgrade.
func shutdownCluster(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := testEnv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	kubeVirt.ClearFaults()
	kubeVirt.SetHealthy(true)
	t.Cleanup(func() {
		kubeVirt.ClearFaults()
		kubeVirt.SetHealthy(true)
		if err := testEnv.Reset(context.Background()); err != nil {
			t.Errorf("reset: %v", err)
		}
	})
	for _, n := range []string{"sd-1", "sd-2"} {
		if _, err := testEnv.CreateNode(ctx, testenv.NewNode(n)); err != nil {
			t.Fatal(err)
		}
	}
	pin := func(node string) func(*kubevirtv1.VirtualMachineInstance) {
		return func(vmi *kubevirtv1.VirtualMachineInstance) {
			vmi.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
		}
	}
	repo := testenv.NewVM("cloudweav-system", "upgrade-repo")
	repo.Labels = map[string]string{testenv.UpgradeLabel: shutdownUpgrade}
	vms := []struct {
		vm     *kubevirtv1.VirtualMachine
		node   string
		mutate func(*kubevirtv1.VirtualMachineInstance)
	}{
		{testenv.NewVM("default", "pinned-a"), "sd-1", pin("sd-1")},
		{testenv.NewVM("prod", "pinned-b"), "sd-1", pin("sd-1")},
		{repo, "sd-1", pin("sd-1")},
		{testenv.NewVM("default", "mobile"), "sd-1", nil},
		{testenv.NewVM("default", "pinned-c"), "sd-2", pin("sd-2")},
	}
	for _, v := range vms {
		if _, err := testEnv.CreateVM(ctx, v.vm, v.node, "1", "2Gi", v.mutate); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := testEnv.CreateUpgrade(ctx, testenv.NewUpgrade(shutdownUpgrade, "v1.2.1", "v1.3.0", "v1.2.0")); err != nil {
		t.Fatal(err)
	}
	kubeVirt.ResetLog()
}

func vmiExists(t *testing.T, ns, name string) bool {
	t.Helper()
	err := testEnv.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &kubevirtv1.VirtualMachineInstance{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func restoreRecord(t *testing.T) map[string]string {
	t.Helper()
	cm, err := testEnv.Kube.CoreV1().ConfigMaps(testenv.SystemNamespace).Get(context.Background(), record.ConfigMapName(shutdownUpgrade), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

func upgradeEvents(t *testing.T) []string {
	t.Helper()
	list, err := testEnv.Kube.CoreV1().Events(testenv.SystemNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Upgrade" && e.InvolvedObject.Name == shutdownUpgrade {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	sort.Strings(out)
	return out
}

func isStop(r standin.Request) bool {
	return r.Group == standin.SubresourceGroup && r.Subresource == "stop"
}

func isMutation(r standin.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func shutdownArgs(node string, extra ...string) []string {
	return append([]string{"vm-live-migrate-detector", node, "--shutdown", "--upgrade", shutdownUpgrade,
		"--kubeconfig", kubeVirtConfig}, extra...)
}

func TestShutdownAndRestoreRoundTrip(t *testing.T) {
	shutdownCluster(t)

	stdout, stderr, err := runRoot(t, shutdownArgs("sd-1", "--wait", "--timeout", "1m")...)
	if err != nil {
		t.Fatalf("shutdown: exit %d: %v\n%s", exitstatus.Code(err), err, stderr)
	}
	if !strings.Contains(stdout, "Non-migratable VM(s): [cloudweav-system/upgrade-repo default/pinned-a prod/pinned-b]") {
		t.Errorf("report:\n%s", stdout)
	}
	for _, vm := range []string{"default/pinned-a", "prod/pinned-b", "cloudweav-system/upgrade-repo"} {
		if !strings.Contains(stderr, "vm "+vm+" was administratively stopped") {
			t.Errorf("stderr lacks the seed's stop line for %s:\n%s", vm, stderr)
		}
	}

	// Exactly the non-migratable VMs were stopped, each once, and only after the record
	// held them.
	var stopped []string
	firstStop, recordWrite := -1, -1
	for _, r := range kubeVirt.Requests() {
		if isStop(r) {
			stopped = append(stopped, r.Namespace+"/"+r.Name)
			if firstStop < 0 {
				firstStop = r.Seq
			}
		}
		if r.Resource == "configmaps" && isMutation(r) && r.Code < 300 {
			recordWrite = r.Seq
			if firstStop >= 0 {
				t.Errorf("the restore record was written (request %d) after a stop was sent (request %d)", r.Seq, firstStop)
			}
		}
	}
	sort.Strings(stopped)
	if diff := cmp.Diff([]string{"cloudweav-system/upgrade-repo", "default/pinned-a", "prod/pinned-b"}, stopped); diff != "" {
		t.Errorf("stop requests (-want +got):\n%s", diff)
	}
	if recordWrite < 0 {
		t.Error("no restore record write was seen")
	}
	for _, vm := range [][2]string{{"default", "pinned-a"}, {"prod", "pinned-b"}, {"cloudweav-system", "upgrade-repo"}} {
		if vmiExists(t, vm[0], vm[1]) {
			t.Errorf("the VMI of %s/%s is still there after --wait", vm[0], vm[1])
		}
	}
	if !vmiExists(t, "default", "mobile") || !vmiExists(t, "default", "pinned-c") {
		t.Error("a VM that can leave, or one on another node, was stopped")
	}
	// The upgrade's own VM is stopped but never recorded.
	if diff := cmp.Diff(map[string]string{"sd-1": "default/pinned-a,prod/pinned-b"}, restoreRecord(t)); diff != "" {
		t.Errorf("restore record (-want +got):\n%s", diff)
	}
	wantEvents := []string{"Normal RestoreVMConfigMapCreated", "Normal VMShutdownCompleted"}
	if diff := cmp.Diff(wantEvents, upgradeEvents(t)); diff != "" {
		t.Errorf("events after the shutdown (-want +got):\n%s", diff)
	}

	// A second detector run no longer sees the stopped VMs and must keep the record whole.
	if _, stderr, err := runRoot(t, shutdownArgs("sd-1")...); err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr)
	}
	if diff := cmp.Diff(map[string]string{"sd-1": "default/pinned-a,prod/pinned-b"}, restoreRecord(t)); diff != "" {
		t.Errorf("restore record after a rerun (-want +got):\n%s", diff)
	}

	// restore-vm brings back exactly the recorded VMs.
	kubeVirt.ResetLog()
	stdout, stderr, err = runRoot(t, "restore-vm", "--node", "sd-1", "--upgrade", shutdownUpgrade, "--kubeconfig", kubeVirtConfig)
	if err != nil {
		t.Fatalf("restore: exit %d: %v\n%s", exitstatus.Code(err), err, stderr)
	}
	if !vmiExists(t, "default", "pinned-a") || !vmiExists(t, "prod", "pinned-b") {
		t.Errorf("the recorded VMs were not started again:\n%s", stdout)
	}
	if vmiExists(t, "cloudweav-system", "upgrade-repo") {
		t.Error("the upgrade's own VM was started again")
	}
	var started []string
	for _, r := range kubeVirt.Requests() {
		if r.Group == standin.SubresourceGroup && r.Subresource == "start" {
			started = append(started, r.Namespace+"/"+r.Name)
		}
	}
	sort.Strings(started)
	if diff := cmp.Diff([]string{"default/pinned-a", "prod/pinned-b"}, started); diff != "" {
		t.Errorf("start requests (-want +got):\n%s", diff)
	}
	// The rerun found nothing to stop and said so; restore-vm adds its completion.
	wantEvents = append(wantEvents, "Normal VMShutdownCompleted", "Normal RestoreVMCompleted")
	sort.Strings(wantEvents)
	if diff := cmp.Diff(wantEvents, upgradeEvents(t)); diff != "" {
		t.Errorf("events after the restore (-want +got):\n%s", diff)
	}

	// Running it again is safe: both already run.
	stdout, _, err = runRoot(t, "restore-vm", "--node", "sd-1", "--upgrade", shutdownUpgrade, "--kubeconfig", kubeVirtConfig, "-o", "json")
	if err != nil {
		t.Fatalf("restore rerun: %v", err)
	}
	if strings.Count(stdout, `"outcome": "AlreadyRunning"`) != 2 {
		t.Errorf("rerun outcome:\n%s", stdout)
	}
}

func TestShutdownTwoNodesAtOnceKeepBothEntries(t *testing.T) {
	shutdownCluster(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, node := range []string{"sd-1", "sd-2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = runRoot(t, shutdownArgs(node)...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	want := map[string]string{"sd-1": "default/pinned-a,prod/pinned-b", "sd-2": "default/pinned-c"}
	if diff := cmp.Diff(want, restoreRecord(t)); diff != "" {
		t.Errorf("restore record (-want +got):\n%s", diff)
	}
}

func TestShutdownOneStopFails(t *testing.T) {
	shutdownCluster(t)
	kubeVirt.InjectFault(standin.Fault{Group: standin.SubresourceGroup, Subresource: "stop", Name: "pinned-b", Status: http.StatusConflict, Message: "injected: a migration of this VM is in progress"})
	_, _, err := runRoot(t, shutdownArgs("sd-1")...)
	if got := exitstatus.Code(err); got != exitstatus.No {
		t.Fatalf("exit status = %d (%v), want 1", got, err)
	}
	if !strings.Contains(err.Error(), "prod/pinned-b") {
		t.Errorf("error %q does not name the VM", err)
	}
	if vmiExists(t, "default", "pinned-a") {
		t.Error("one failure stopped the others")
	}
	if !vmiExists(t, "prod", "pinned-b") {
		t.Error("the VM whose stop failed is gone")
	}
	list, err := testEnv.Kube.CoreV1().Events(testenv.SystemNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, e := range list.Items {
		if e.Reason == "VMShutdownFailed" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "prod/pinned-b") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no VMShutdownFailed warning names prod/pinned-b; events: %v", upgradeEvents(t))
	}
}

func TestShutdownRecordWriteFailsStopsNothing(t *testing.T) {
	shutdownCluster(t)
	kubeVirt.InjectFault(standin.Fault{Resource: "configmaps", Method: http.MethodPost, Status: http.StatusForbidden, Message: "injected: no writes"})
	_, _, err := runRoot(t, shutdownArgs("sd-1")...)
	if got := exitstatus.Code(err); got != exitstatus.Cluster {
		t.Errorf("exit status = %d (%v), want 3", got, err)
	}
	if n := kubeVirt.CountMatching(isStop); n != 0 {
		t.Errorf("%d stop request(s) reached the stand-in although the record was not written", n)
	}
	if !vmiExists(t, "default", "pinned-a") {
		t.Error("a VM was stopped")
	}
	if diff := cmp.Diff([]string{"Warning RestoreVMConfigMapFailed"}, upgradeEvents(t)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestShutdownDryRunSendsNoMutation(t *testing.T) {
	shutdownCluster(t)
	stdout, _, err := runRoot(t, shutdownArgs("sd-1", "--dry-run", "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range kubeVirt.Requests() {
		if isMutation(r) {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
	if strings.Count(stdout, `"outcome": "DryRun"`) != 3 {
		t.Errorf("dry-run report:\n%s", stdout)
	}
}

func TestShutdownUnknownUpgrade(t *testing.T) {
	shutdownCluster(t)
	_, _, err := runRoot(t, "vm-live-migrate-detector", "sd-1", "--shutdown", "--upgrade", "no-such-upgrade", "--kubeconfig", kubeVirtConfig)
	if got := exitstatus.Code(err); got != exitstatus.Usage {
		t.Errorf("exit status = %d (%v), want 2", got, err)
	}
	if n := kubeVirt.CountMatching(isStop); n != 0 {
		t.Errorf("%d stops sent for an unknown upgrade", n)
	}
}

func TestRestoreVM(t *testing.T) {
	restoreArgs := []string{"restore-vm", "--node", "sd-1", "--upgrade", shutdownUpgrade, "--kubeconfig", kubeVirtConfig, "--health-backoff", "10ms"}

	t.Run("no record: warning event, exit 0", func(t *testing.T) {
		shutdownCluster(t)
		if _, _, err := runRoot(t, restoreArgs...); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Warning RestoreVMFailed"}, upgradeEvents(t)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})

	t.Run("KubeVirt unhealthy for a while, a deleted VM, an already running VM", func(t *testing.T) {
		shutdownCluster(t)
		if _, _, err := runRoot(t, shutdownArgs("sd-1")...); err != nil {
			t.Fatal(err)
		}
		// prod/pinned-b was deleted since; default/mobile runs and is added to the record.
		if err := testEnv.Client.Delete(context.Background(), &kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "pinned-b"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := (record.Store{Kube: testEnv.Kube}).Add(context.Background(), mustUpgrade(t), "sd-1", []string{"default/mobile"}); err != nil {
			t.Fatal(err)
		}
		healthFault := kubeVirt.InjectFault(standin.Fault{Group: standin.SubresourceGroup, PathContains: "/healthz", Status: http.StatusInternalServerError, Times: 3})
		stdout, stderr, err := runRoot(t, append(restoreArgs, "-o", "json")...)
		if err != nil {
			t.Fatalf("exit %d: %v\n%s", exitstatus.Code(err), err, stderr)
		}
		if hits := kubeVirt.FaultHits(healthFault); hits != 3 {
			t.Errorf("health checks failed %d times, want 3 before it went on", hits)
		}
		if !strings.Contains(stderr, "waiting for KubeVirt's API to be healthy") {
			t.Errorf("stderr does not show the wait:\n%s", stderr)
		}
		for _, want := range []string{`"name": "pinned-a",` + "\n      \"outcome\": \"Started\"", `"outcome": "NotFound"`, `"outcome": "AlreadyRunning"`} {
			if !strings.Contains(stdout, want) {
				t.Errorf("report lacks %q:\n%s", want, stdout)
			}
		}
		if !vmiExists(t, "default", "pinned-a") {
			t.Error("default/pinned-a was not started")
		}
	})

	t.Run("unknown node: exit 2, nothing started", func(t *testing.T) {
		shutdownCluster(t)
		_, _, err := runRoot(t, "restore-vm", "--node", "sd-9", "--upgrade", shutdownUpgrade, "--kubeconfig", kubeVirtConfig)
		if got := exitstatus.Code(err); got != exitstatus.Usage || !strings.Contains(err.Error(), "sd-9") {
			t.Errorf("exit status = %d (%v), want 2 naming the node", got, err)
		}
	})

	t.Run("KubeVirt never healthy: exit 3", func(t *testing.T) {
		shutdownCluster(t)
		if _, _, err := runRoot(t, shutdownArgs("sd-1")...); err != nil {
			t.Fatal(err)
		}
		kubeVirt.SetHealthy(false)
		_, _, err := runRoot(t, append(restoreArgs, "--timeout", "300ms")...)
		if got := exitstatus.Code(err); got != exitstatus.Cluster {
			t.Errorf("exit status = %d (%v), want 3", got, err)
		}
	})
}

func mustUpgrade(t *testing.T) *cloudweavv1beta1.Upgrade {
	t.Helper()
	up := &cloudweavv1beta1.Upgrade{}
	if err := testEnv.Client.Get(context.Background(), client.ObjectKey{Namespace: testenv.SystemNamespace, Name: shutdownUpgrade}, up); err != nil {
		t.Fatal(fmt.Errorf("get upgrade: %w", err))
	}
	return up
}

func TestShutdownForbiddenStopIsExit3(t *testing.T) {
	shutdownCluster(t)
	kubeVirt.InjectFault(standin.Fault{Group: standin.SubresourceGroup, Subresource: "stop", Status: http.StatusForbidden, Message: "injected: not allowed"})
	_, _, err := runRoot(t, shutdownArgs("sd-1")...)
	if got := exitstatus.Code(err); got != exitstatus.Cluster {
		t.Fatalf("exit status = %d (%v), want 3", got, err)
	}
	if !strings.Contains(err.Error(), "RBAC") {
		t.Errorf("error %q does not say what to check", err)
	}
}
