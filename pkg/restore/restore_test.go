package restore

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

var errAlreadyRunning = errors.New("vm is already running")

type fakeKubeVirt struct {
	mu sync.Mutex
	// unhealthy is how many health checks fail before one succeeds (-1: never healthy).
	unhealthy    int
	healthChecks int
	// failures maps a VM to the errors its starts return, one per call, before it succeeds.
	failures map[string][]error
	started  []string
}

func (f *fakeKubeVirt) Healthz(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healthChecks++
	if f.unhealthy < 0 || f.healthChecks <= f.unhealthy {
		return errors.New("virt-api is not ready")
	}
	return nil
}

func (f *fakeKubeVirt) Start(_ context.Context, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := ns + "/" + name
	if errs := f.failures[key]; len(errs) > 0 {
		f.failures[key] = errs[1:]
		return errs[0]
	}
	f.started = append(f.started, key)
	return nil
}

func newRestore(kube *fake.Clientset, kv *fakeKubeVirt) *Restore {
	log, _ := logtest.NewNullLogger()
	up := &cloudweavv1beta1.Upgrade{ObjectMeta: metav1.ObjectMeta{Namespace: "cloudweav-system", Name: "up-1", UID: "u-1"}}
	return &Restore{
		Config: Config{
			Node: "node-1", Upgrade: up, Timeout: time.Second, Concurrency: 2, HealthBackoff: time.Millisecond,
			StartBackoff: wait.Backoff{Steps: 3, Duration: time.Millisecond},
		},
		KubeVirt:       kv,
		AlreadyRunning: func(err error) bool { return errors.Is(err, errAlreadyRunning) },
		Records:        record.Store{Kube: kube},
		Events:         &events.Recorder{Kube: kube, Upgrade: up},
		Log:            log,
	}
}

func withRecord(entry string) *fake.Clientset {
	return fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cloudweav-system", Name: "up-1-restore-vm"},
		Data:       map[string]string{"node-1": entry, "node-2": "other/vm"},
	})
}

func outcomes(res *Result) map[string]Outcome {
	got := map[string]Outcome{}
	for _, s := range res.Steps {
		got[s.Namespace+"/"+s.Name] = s.Outcome
	}
	return got
}

func reasons(t *testing.T, kube *fake.Clientset) []string {
	t.Helper()
	list, err := kube.CoreV1().Events("cloudweav-system").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Type+" "+e.Reason)
	}
	sort.Strings(out)
	return out
}

func TestRun(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "kubevirt.io", Resource: "virtualmachines"}, "gone")
	tests := []struct {
		name         string
		kube         *fake.Clientset
		kv           *fakeKubeVirt
		wantCode     int
		wantOutcomes map[string]Outcome
		wantEvents   []string
	}{
		{
			name:         "no record: warning, nothing to do",
			kube:         fake.NewClientset(),
			kv:           &fakeKubeVirt{},
			wantCode:     exitstatus.OK,
			wantOutcomes: map[string]Outcome{},
			wantEvents:   []string{"Warning RestoreVMFailed"},
		},
		{
			name:         "empty entry",
			kube:         withRecord(""),
			kv:           &fakeKubeVirt{},
			wantCode:     exitstatus.OK,
			wantOutcomes: map[string]Outcome{},
		},
		{
			name: "unhealthy for a while, then every kind of start",
			kube: withRecord("default/a,default/running,default/gone,default/flaky"),
			kv: &fakeKubeVirt{unhealthy: 3, failures: map[string][]error{
				"default/running": {errAlreadyRunning},
				"default/gone":    {notFound},
				"default/flaky":   {apierrors.NewServiceUnavailable("busy"), apierrors.NewInternalError(errors.New("x"))},
			}},
			wantCode: exitstatus.OK,
			wantOutcomes: map[string]Outcome{
				"default/a": OutcomeStarted, "default/running": OutcomeAlreadyRunning,
				"default/gone": OutcomeNotFound, "default/flaky": OutcomeStarted,
			},
			wantEvents: []string{"Normal RestoreVMCompleted", "Warning RestoreVMFailed"},
		},
		{
			name: "a start that keeps failing",
			kube: withRecord("default/a,default/b"),
			kv: &fakeKubeVirt{failures: map[string][]error{
				"default/b": {apierrors.NewBadRequest("invalid"), nil},
			}},
			wantCode:     exitstatus.No,
			wantOutcomes: map[string]Outcome{"default/a": OutcomeStarted, "default/b": OutcomeFailed},
			wantEvents:   []string{"Normal RestoreVMCompleted", "Warning RestoreVMFailed"},
		},
		{
			name:         "KubeVirt never healthy: exit 3",
			kube:         withRecord("default/a"),
			kv:           &fakeKubeVirt{unhealthy: -1},
			wantCode:     exitstatus.Cluster,
			wantOutcomes: map[string]Outcome{"default/a": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := newRestore(tt.kube, tt.kv).Run(context.Background())
			if got := exitstatus.Code(err); got != tt.wantCode {
				t.Errorf("exit status = %d (%v), want %d", got, err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantOutcomes, outcomes(res)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEvents, reasons(t, tt.kube)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunTwiceIsSafe(t *testing.T) {
	kube := withRecord("default/a")
	kv := &fakeKubeVirt{}
	if _, err := newRestore(kube, kv).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	kv.failures = map[string][]error{"default/a": {errAlreadyRunning}}
	res, err := newRestore(kube, kv).Run(context.Background())
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if diff := cmp.Diff(map[string]Outcome{"default/a": OutcomeAlreadyRunning}, outcomes(res)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
}
