package shutdown

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

var errAlreadyStopped = errors.New("vm is not running")

// fakeStopper records the stops and fails those named in fail.
type fakeStopper struct {
	mu      sync.Mutex
	stopped []string
	fail    map[string]error
	// onStop runs before each stop is answered.
	onStop func(key string)
}

func (f *fakeStopper) Stop(_ context.Context, ns, name string) error {
	key := ns + "/" + name
	if f.onStop != nil {
		f.onStop(key)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[key]; err != nil {
		return err
	}
	f.stopped = append(f.stopped, key)
	return nil
}

func testUpgrade() *cloudweavv1beta1.Upgrade {
	return &cloudweavv1beta1.Upgrade{ObjectMeta: metav1.ObjectMeta{Namespace: "cloudweav-system", Name: "up-1", UID: "u-1"}}
}

func nonMigratable(names ...string) *detector.Report {
	r := &detector.Report{}
	for _, n := range names {
		r.VMs = append(r.VMs, detector.VMVerdict{Namespace: "default", Name: n, Owned: true})
	}
	return r
}

func eventReasons(t *testing.T, kube *fake.Clientset) []string {
	t.Helper()
	list, err := kube.CoreV1().Events("cloudweav-system").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range list.Items {
		reasons = append(reasons, e.Type+" "+e.Reason)
	}
	sort.Strings(reasons)
	return reasons
}

func newShutdown(kube *fake.Clientset, stopper *fakeStopper) *Shutdown {
	log, _ := logtest.NewNullLogger()
	up := testUpgrade()
	return &Shutdown{
		Config:         Config{Node: "node-1", Upgrade: up, Concurrency: 2},
		Stopper:        stopper,
		AlreadyStopped: func(err error) bool { return errors.Is(err, errAlreadyStopped) },
		Records:        record.Store{Kube: kube},
		Events:         &events.Recorder{Kube: kube, Upgrade: up},
		Log:            log,
	}
}

func TestRunRecordsBeforeStopping(t *testing.T) {
	kube := fake.NewClientset()
	stopper := &fakeStopper{}
	stopper.onStop = func(key string) {
		entry, found, err := record.Store{Kube: kube}.Read(context.Background(), "cloudweav-system", "up-1", "node-1")
		if err != nil || !found {
			t.Errorf("stop of %s sent before the record existed (found=%v, err=%v)", key, found, err)
		}
		if !cmp.Equal(entry, []string{"default/a", "default/b", "default/c"}) {
			t.Errorf("stop of %s sent while the record held %v", key, entry)
		}
	}
	s := newShutdown(kube, stopper)
	res, err := s.Run(context.Background(), nonMigratable("a", "b", "c"))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sort.Strings(stopper.stopped)
	if diff := cmp.Diff([]string{"default/a", "default/b", "default/c"}, stopper.stopped); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[Outcome]int{OutcomeStopped: 3}, res.Counts()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	want := []string{"Normal RestoreVMConfigMapCreated", "Normal VMShutdownCompleted"}
	if diff := cmp.Diff(want, eventReasons(t, kube)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	cm, err := kube.CoreV1().ConfigMaps("cloudweav-system").Get(context.Background(), "up-1-restore-vm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].Kind != "Upgrade" || cm.OwnerReferences[0].UID != "u-1" {
		t.Errorf("record owner = %+v, want the Upgrade", cm.OwnerReferences)
	}
}

func TestRunOneFailureDoesNotStopTheOthers(t *testing.T) {
	kube := fake.NewClientset()
	stopper := &fakeStopper{fail: map[string]error{
		"default/b": apierrors.NewInternalError(errors.New("boom")),
		"default/c": errAlreadyStopped,
	}}
	res, err := newShutdown(kube, stopper).Run(context.Background(), nonMigratable("a", "b", "c", "d"))
	if got := exitstatus.Code(err); got != exitstatus.No {
		t.Fatalf("exit status = %d (%v), want 1", got, err)
	}
	if diff := cmp.Diff(map[Outcome]int{OutcomeStopped: 2, OutcomeFailed: 1, OutcomeAlreadyStopped: 1}, res.Counts()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	want := []string{"Normal RestoreVMConfigMapCreated", "Normal VMShutdownCompleted", "Warning VMShutdownFailed"}
	if diff := cmp.Diff(want, eventReasons(t, kube)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestRunRecordFailureStopsNothing(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "up-1-restore-vm", errors.New("no"))
	})
	stopper := &fakeStopper{}
	res, err := newShutdown(kube, stopper).Run(context.Background(), nonMigratable("a", "b"))
	if got := exitstatus.Code(err); got != exitstatus.Cluster {
		t.Errorf("exit status = %d (%v), want 3", got, err)
	}
	if len(stopper.stopped) != 0 {
		t.Errorf("stopped %v although the record was not written", stopper.stopped)
	}
	if diff := cmp.Diff(map[Outcome]int{OutcomeNotStarted: 2}, res.Counts()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Warning RestoreVMConfigMapFailed"}, eventReasons(t, kube)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestRunRerunKeepsEarlierRecord(t *testing.T) {
	kube := fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cloudweav-system", Name: "up-1-restore-vm"},
		Data:       map[string]string{"node-1": "default/a,default/b", "node-2": "prod/x"},
	})
	res, err := newShutdown(kube, &fakeStopper{}).Run(context.Background(), nonMigratable("c"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"default/a", "default/b", "default/c"}, res.Recorded); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	cm, _ := kube.CoreV1().ConfigMaps("cloudweav-system").Get(context.Background(), "up-1-restore-vm", metav1.GetOptions{})
	if diff := cmp.Diff(map[string]string{"node-1": "default/a,default/b,default/c", "node-2": "prod/x"}, cm.Data); diff != "" {
		t.Errorf("record data (-want +got):\n%s", diff)
	}
}

func TestRunDryRunChangesNothing(t *testing.T) {
	kube := fake.NewClientset()
	stopper := &fakeStopper{}
	s := newShutdown(kube, stopper)
	s.DryRun = true
	res, err := s.Run(context.Background(), nonMigratable("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			t.Errorf("dry run sent %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if len(stopper.stopped) != 0 {
		t.Errorf("dry run stopped %v", stopper.stopped)
	}
	if diff := cmp.Diff([]string{"default/a"}, res.Recorded); diff != "" {
		t.Errorf("would record (-want +got):\n%s", diff)
	}
}

func TestRunInterruptedStartsNoNewStop(t *testing.T) {
	kube := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	stopper := &fakeStopper{}
	stopper.onStop = func(string) { cancel() }
	s := newShutdown(kube, stopper)
	s.Concurrency = 1
	res, err := s.Run(ctx, nonMigratable("a", "b", "c"))
	if got := exitstatus.Code(err); got != exitstatus.No {
		t.Errorf("exit status = %d (%v), want 1", got, err)
	}
	if diff := cmp.Diff(map[Outcome]int{OutcomeStopped: 1, OutcomeNotStarted: 2}, res.Counts()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"default/a", "default/b", "default/c"}, res.Recorded); diff != "" {
		t.Errorf("the record must name every VM, stopped or not (-want +got):\n%s", diff)
	}
}

func TestRunForbiddenStopsAreAClusterProblem(t *testing.T) {
	kube := fake.NewClientset()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "subresources.kubevirt.io", Resource: "virtualmachines/stop"}, "a", errors.New("no"))
	stopper := &fakeStopper{fail: map[string]error{"default/a": forbidden, "default/b": forbidden}}
	_, err := newShutdown(kube, stopper).Run(context.Background(), nonMigratable("a", "b"))
	if got := exitstatus.Code(err); got != exitstatus.Cluster {
		t.Errorf("exit status = %d (%v), want 3", got, err)
	}
}

func TestRunEventsForbiddenIsReported(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("no"))
	})
	stopper := &fakeStopper{}
	_, err := newShutdown(kube, stopper).Run(context.Background(), nonMigratable("a"))
	if got := exitstatus.Code(err); got != exitstatus.Cluster {
		t.Errorf("exit status = %d (%v), want 3", got, err)
	}
	if len(stopper.stopped) != 1 {
		t.Errorf("stopped %v, want the VM stopped all the same", stopper.stopped)
	}
}
