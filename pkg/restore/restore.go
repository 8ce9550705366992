package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
	"github.com/cloudweav/upgrade-helper/pkg/parallel"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

// KubeVirtAPI is the part of KubeVirt's subresource API that restore uses.
type KubeVirtAPI interface {
	Healthz(ctx context.Context) error
	Start(ctx context.Context, namespace, name string) error
}

// Outcome is what happened to one VM.
type Outcome string

const (
	OutcomeStarted        Outcome = "Started"
	OutcomeAlreadyRunning Outcome = "AlreadyRunning"
	OutcomeNotFound       Outcome = "NotFound"
	OutcomeFailed         Outcome = "Failed"
	OutcomeNotStarted     Outcome = "NotStarted"
	OutcomeDryRun         Outcome = "DryRun"
)

// Step is the outcome for one recorded VM.
type Step struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Outcome   Outcome `json:"outcome"`
	Message   string  `json:"message,omitempty"`

	// err is why the start failed, when it did.
	err error
}

// Result is the outcome of a restore.
type Result struct {
	Node        string `json:"node"`
	Upgrade     string `json:"upgrade"`
	RecordFound bool   `json:"recordFound"`
	Steps       []Step `json:"steps"`
}

// Config is what the restore is asked to do.
type Config struct {
	Node    string
	Upgrade *cloudweavv1beta1.Upgrade
	// Timeout bounds the wait for KubeVirt's API to be healthy.
	Timeout     time.Duration
	Concurrency int
	DryRun      bool
	// HealthBackoff is the first wait between health checks (default 1s), doubling up to 30s.
	HealthBackoff time.Duration
	// StartBackoff spaces the retries of a start that failed transiently.
	StartBackoff wait.Backoff
}

// Restore runs a Config against a cluster.
type Restore struct {
	Config
	KubeVirt KubeVirtAPI
	// AlreadyRunning recognises the error KubeVirt gives for starting a running VM.
	AlreadyRunning func(error) bool
	Records        record.Store
	Events         *events.Recorder
	Log            logrus.FieldLogger
}

// DefaultStartBackoff gives a start that still fails transiently after the transport's own
// retries (pkg/kube) one more round, a few seconds later.
var DefaultStartBackoff = wait.Backoff{Steps: 2, Duration: 3 * time.Second, Factor: 2, Jitter: 0.2}

// Run restores the node's recorded VMs. It returns an error with exit status 3 when KubeVirt's
// API stays unhealthy past the timeout and 1 when any start failed.
func (r *Restore) Run(ctx context.Context) (*Result, error) {
	up := r.Upgrade
	res := &Result{Node: r.Node, Upgrade: up.Name, Steps: []Step{}}
	keys, found, err := r.Records.Read(ctx, up.Namespace, up.Name, r.Node)
	if err != nil {
		return res, exitstatus.ForAPIError(err, "read the restore record")
	}
	res.RecordFound = found
	if !found {
		msg := fmt.Sprintf("no restore record %s/%s: nothing to restore on node %s", up.Namespace, record.ConfigMapName(up.Name), r.Node)
		r.Log.Warn(msg)
		if !r.DryRun {
			r.event(ctx, true, events.ReasonRestoreVMFailed, msg)
		}
		return res, nil
	}
	for _, key := range keys {
		ns, name, ok := splitKey(key)
		if !ok {
			res.Steps = append(res.Steps, Step{Name: key, Outcome: OutcomeFailed, Message: "not a namespace/name entry"})
			continue
		}
		res.Steps = append(res.Steps, Step{Namespace: ns, Name: name})
	}
	r.Log.Infof("VM(s) to restore on node %s: %v", r.Node, keys)
	if len(keys) == 0 {
		return res, nil
	}
	if r.DryRun {
		for i := range res.Steps {
			if res.Steps[i].Outcome == "" {
				res.Steps[i].Outcome = OutcomeDryRun
			}
		}
		return res, nil
	}
	if err := r.waitHealthy(ctx); err != nil {
		return res, err
	}
	r.startAll(ctx, res.Steps)
	return res, r.finish(ctx, res)
}

func splitKey(key string) (string, string, bool) {
	ns, name, ok := strings.Cut(key, "/")
	return ns, name, ok && ns != "" && name != ""
}

// waitHealthy polls KubeVirt's healthz with exponential backoff until it answers or Timeout passes.
func (r *Restore) waitHealthy(ctx context.Context) error {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	first := r.HealthBackoff
	if first <= 0 {
		first = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := wait.Backoff{Duration: first, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 30 * time.Second}
	attempt := 0
	var lastErr error
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		attempt++
		if lastErr = r.KubeVirt.Healthz(kube.WithoutRetry(ctx)); lastErr != nil {
			if apierrors.IsForbidden(lastErr) || apierrors.IsUnauthorized(lastErr) {
				return false, lastErr // no wait makes a refused request allowed
			}
			r.Log.Infof("waiting for KubeVirt's API to be healthy (attempt %d): %v", attempt, lastErr)
			return false, nil
		}
		return true, nil
	})
	if err != nil && (apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)) {
		return exitstatus.ForAPIError(err, "check KubeVirt's health (GET /apis/subresources.kubevirt.io/v1/healthz)")
	}
	if err != nil {
		return exitstatus.Clusterf("KubeVirt's API was not healthy within %s (last answer: %v): check virt-api", timeout, lastErr)
	}
	return nil
}

func (r *Restore) startAll(ctx context.Context, steps []Step) {
	notStarted := parallel.ForEach(ctx, len(steps), r.Concurrency,
		func(i int) bool { return steps[i].Outcome == "" },
		func(ctx context.Context, i int) { r.startOne(ctx, &steps[i]) })
	for _, i := range notStarted {
		steps[i].Outcome = OutcomeNotStarted
		steps[i].Message = "interrupted before this VM was started"
	}
}

func (r *Restore) startOne(ctx context.Context, step *Step) {
	backoff := r.StartBackoff
	if backoff.Steps == 0 {
		backoff = DefaultStartBackoff
	}
	key := step.Namespace + "/" + step.Name
	err := retry.OnError(backoff, isTransient, func() error {
		return r.KubeVirt.Start(ctx, step.Namespace, step.Name)
	})
	switch {
	case err == nil:
		step.Outcome = OutcomeStarted
		r.Log.Infof("vm %s was started", key)
	case r.AlreadyRunning != nil && r.AlreadyRunning(err):
		step.Outcome = OutcomeAlreadyRunning
		r.Log.Infof("vm %s is already running", key)
	case apierrors.IsNotFound(err):
		step.Outcome = OutcomeNotFound
		step.Message = "the VirtualMachine no longer exists"
		r.Log.Warnf("vm %s no longer exists: skipped", key)
	default:
		step.Outcome = OutcomeFailed
		step.Message = err.Error()
		step.err = err
		r.Log.Errorf("vm %s could not be started: %v", key, err)
	}
}

// isTransient is true for failures worth another try: the server overloaded, failing or
// unreachable for a moment.
func isTransient(err error) bool {
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsInvalid(err) {
		return false
	}
	return exitstatus.IsClusterUnreachable(err)
}

func (r *Restore) finish(ctx context.Context, res *Result) error {
	counts := map[Outcome]int{}
	failed := map[string]error{}
	for _, st := range res.Steps {
		counts[st.Outcome]++
		key := st.Namespace + "/" + st.Name
		switch st.Outcome {
		case OutcomeFailed:
			failed[key] = st.err
			r.event(ctx, true, events.ReasonRestoreVMFailed, fmt.Sprintf("vm %s on node %s: %s", key, r.Node, st.Message))
		case OutcomeNotFound:
			r.event(ctx, true, events.ReasonRestoreVMFailed, fmt.Sprintf("vm %s on node %s no longer exists: skipped", key, r.Node))
		}
	}
	r.event(ctx, false, events.ReasonRestoreVMCompleted, fmt.Sprintf(
		"node %s: %d VM(s) to restore: %d started, %d already running, %d no longer exist, %d failed, %d not started",
		r.Node, len(res.Steps), counts[OutcomeStarted], counts[OutcomeAlreadyRunning], counts[OutcomeNotFound],
		counts[OutcomeFailed], counts[OutcomeNotStarted]))
	var errs []error
	code := exitstatus.No
	if err := exitstatus.ForFailedActions("started", "start through KubeVirt's subresource API", failed); err != nil {
		errs = append(errs, err)
		code = exitstatus.Code(err)
	}
	if n := counts[OutcomeNotStarted]; n > 0 {
		errs = append(errs, fmt.Errorf("interrupted (%v): %d VM(s) not started", context.Cause(ctx), n))
	}
	if len(errs) > 0 {
		return exitstatus.WithCode(code, errors.Join(errs...))
	}
	if err := r.Events.Err(); err != nil {
		return exitstatus.ForAPIError(err, "every VM was handled, but the Upgrade's events could not be written")
	}
	return nil
}

func (r *Restore) event(ctx context.Context, warning bool, reason, msg string) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if warning {
		err = r.Events.Warning(ctx, reason, msg)
	} else {
		err = r.Events.Normal(ctx, reason, msg)
	}
	if err != nil {
		r.Log.Warnf("%v", err)
	}
}
