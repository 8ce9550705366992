package shutdown

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/parallel"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

// VMStopper stops a VM through KubeVirt's stop subresource.
type VMStopper interface {
	Stop(ctx context.Context, namespace, name string) error
}

// Config is what the shutdown is asked to do.
type Config struct {
	Node string
	// Upgrade, when set, is the upgrade to record the stopped VMs for and to write events on.
	Upgrade *cloudweavv1beta1.Upgrade
	// DryRun plans and reports but changes nothing.
	DryRun bool
	// Concurrency bounds the stops in flight (at least 1).
	Concurrency int
	// Wait waits up to Timeout until each stopped VM's VMI is gone.
	Wait    bool
	Timeout time.Duration
	// PollInterval is how often Wait looks at the VMIs (default 1s).
	PollInterval time.Duration
}

// Shutdown runs a Config against a cluster.
type Shutdown struct {
	Config
	// Stopper stops VMs (KubeVirt's subresource API).
	Stopper VMStopper
	// AlreadyStopped recognises the error KubeVirt gives for stopping a stopped VM.
	AlreadyStopped func(error) bool
	// Records writes the restore record.
	Records record.Store
	// Events writes events on the Upgrade; nil without an Upgrade.
	Events *events.Recorder
	// Client reads VMIs while waiting.
	Client client.Client
	Log    logrus.FieldLogger
	// BeforeStop, when set, is called after the record is written and before the first stop
	// (tests use it to observe the order of writes).
	BeforeStop func()
	// Progress, when set, is told each time --wait sees a stopped VM's VMI gone (a progress bar
	// on a terminal); without it each such VM gets a log line.
	Progress func(key string, done, total int)
}

// Result is the outcome of a shutdown.
type Result struct {
	Steps []Step `json:"steps"`
	// Recorded is the node's entry in the restore record after the run.
	Recorded []string `json:"recorded,omitempty"`
}

// Counts summarises the outcomes.
func (r *Result) Counts() map[Outcome]int {
	counts := map[Outcome]int{}
	for _, s := range r.Steps {
		counts[s.Outcome]++
	}
	return counts
}

// Run plans and carries out the shutdown of report's non-migratable VMs. It returns an error
// with exit status 1 when any VM could not be stopped (or was still running at the wait's
// timeout), and the Result in every case.
func (s *Shutdown) Run(ctx context.Context, report *detector.Report) (*Result, error) {
	res := &Result{Steps: Plan(report, s.Upgrade != nil)}
	if len(res.Steps) == 0 && s.Upgrade == nil {
		return res, nil
	}
	if s.DryRun {
		for i := range res.Steps {
			if res.Steps[i].Action != ActionCannotStop {
				res.Steps[i].Outcome = OutcomeDryRun
			} else {
				res.Steps[i].Outcome = OutcomeFailed
			}
		}
		res.Recorded = RecordKeys(res.Steps)
		return res, nil
	}

	if s.Upgrade != nil {
		written, err := s.Records.Add(ctx, s.Upgrade, s.Node, RecordKeys(res.Steps))
		if err != nil {
			for i := range res.Steps {
				res.Steps[i].Outcome = OutcomeNotStarted
				res.Steps[i].Message = "the restore record could not be written, so nothing was stopped"
			}
			s.warn(ctx, events.ReasonRestoreVMConfigMapFailed, fmt.Sprintf("node %s: %v", s.Node, err))
			return res, exitstatus.ForAPIError(err, "nothing was stopped")
		}
		res.Recorded = written.Entry
		if written.Changed {
			s.normal(ctx, events.ReasonRestoreVMConfigMapCreated, fmt.Sprintf("restore record %s holds %d VM(s) for node %s: %v",
				record.ConfigMapName(s.Upgrade.Name), len(written.Entry), s.Node, written.Entry))
		}
		s.Log.Infof("restore record %s/%s for node %s: %v", s.Upgrade.Namespace, record.ConfigMapName(s.Upgrade.Name), s.Node, written.Entry)
	}
	if s.BeforeStop != nil {
		s.BeforeStop()
	}

	s.stopAll(ctx, res.Steps)
	var waitErr error
	if s.Wait && ctx.Err() == nil {
		waitErr = s.waitGone(ctx, res.Steps)
	}
	err := s.finish(ctx, res)
	switch {
	case waitErr == nil:
		return res, err
	case err == nil:
		return res, waitErr
	}
	return res, exitstatus.WithCode(exitstatus.Cluster, errors.Join(err, waitErr))
}

// stopAll stops the steps' VMs, at most Concurrency at once. Once ctx is done no new stop is
// started; the stops in flight run to their end.
func (s *Shutdown) stopAll(ctx context.Context, steps []Step) {
	for i := range steps {
		if steps[i].Action == ActionCannotStop {
			steps[i].Outcome = OutcomeFailed
		}
	}
	notStarted := parallel.ForEach(ctx, len(steps), s.Concurrency,
		func(i int) bool { return steps[i].Action != ActionCannotStop },
		func(ctx context.Context, i int) { s.stopOne(ctx, &steps[i]) })
	for _, i := range notStarted {
		steps[i].Outcome = OutcomeNotStarted
		steps[i].Message = "interrupted before this VM was stopped"
	}
}

func (s *Shutdown) stopOne(ctx context.Context, step *Step) {
	err := s.Stopper.Stop(ctx, step.Namespace, step.Name)
	switch {
	case err == nil:
		step.Outcome = OutcomeStopped
		s.Log.Infof("vm %s was administratively stopped", step.Key())
	case s.AlreadyStopped != nil && s.AlreadyStopped(err):
		step.Outcome = OutcomeAlreadyStopped
		s.Log.Infof("vm %s was already stopped", step.Key())
	case apierrors.IsNotFound(err):
		step.Outcome = OutcomeFailed
		step.Message = "the VirtualMachine no longer exists, so its VMI cannot be stopped through it"
		s.Log.Warnf("vm %s: %s", step.Key(), step.Message)
	default:
		step.Outcome = OutcomeFailed
		step.Message = err.Error()
		step.err = err
		s.Log.Errorf("vm %s could not be stopped: %v", step.Key(), err)
	}
}

// waitGone polls until every stopped VM's VMI is gone or the timeout passes.
// A VMI read that is refused (forbidden, unauthorized) ends the wait at once with an error of
// exit status 3: no wait makes it allowed.
func (s *Shutdown) waitGone(ctx context.Context, steps []Step) error {
	pending := map[int]bool{}
	for i, st := range steps {
		if st.Outcome == OutcomeStopped || st.Outcome == OutcomeAlreadyStopped {
			pending[i] = true
		}
	}
	total := len(pending)
	interval := s.PollInterval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	var refused error
	_ = wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		for i := range pending {
			var vmi kubevirtv1.VirtualMachineInstance
			err := s.Client.Get(ctx, client.ObjectKey{Namespace: steps[i].Namespace, Name: steps[i].Name}, &vmi)
			if apierrors.IsNotFound(err) {
				delete(pending, i)
				steps[i].Outcome = OutcomeGone
				if s.Progress != nil {
					s.Progress(steps[i].Key(), total-len(pending), total)
				} else {
					s.Log.Infof("vm %s is down (%d/%d)", steps[i].Key(), total-len(pending), total)
				}
			} else if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				refused = err
				return false, err
			} else if err != nil {
				s.Log.Debugf("vm %s: %v", steps[i].Key(), err)
			}
		}
		return len(pending) == 0, nil
	})
	if refused != nil {
		for i := range pending {
			steps[i].Message = "stopped, but whether its VMI is gone could not be checked"
		}
		return exitstatus.ForAPIError(refused, "wait for the stopped VMs' VMIs to go (--wait)")
	}
	for i := range pending {
		steps[i].Outcome = OutcomeStillRunning
		steps[i].Message = fmt.Sprintf("its VMI was still there after %s", timeout)
	}
	return nil
}

// finish writes the events and turns failures into the error Run returns.
func (s *Shutdown) finish(ctx context.Context, res *Result) error {
	var stillRunning, notStarted []string
	failed := map[string]error{}
	for _, st := range res.Steps {
		switch st.Outcome {
		case OutcomeFailed:
			failed[st.Key()] = st.err
			s.warn(ctx, events.ReasonVMShutdownFailed, fmt.Sprintf("vm %s on node %s: %s", st.Key(), s.Node, st.Message))
		case OutcomeStillRunning:
			stillRunning = append(stillRunning, st.Key())
		case OutcomeNotStarted:
			notStarted = append(notStarted, st.Key())
		}
	}
	counts := res.Counts()
	s.normal(ctx, events.ReasonVMShutdownCompleted, fmt.Sprintf(
		"node %s: %d VM(s) to stop: %d stopped, %d already stopped, %d failed, %d not started",
		s.Node, len(res.Steps), counts[OutcomeStopped]+counts[OutcomeGone]+counts[OutcomeStillRunning],
		counts[OutcomeAlreadyStopped], len(failed), len(notStarted)))
	var errs []error
	code := exitstatus.No
	if err := exitstatus.ForFailedActions("stopped", "stop through KubeVirt's subresource API", failed); err != nil {
		errs = append(errs, err)
		code = exitstatus.Code(err)
	}
	if len(stillRunning) > 0 {
		sort.Strings(stillRunning)
		errs = append(errs, fmt.Errorf("%d VM(s) still running after %s: %v", len(stillRunning), s.Timeout, stillRunning))
	}
	if len(notStarted) > 0 {
		errs = append(errs, fmt.Errorf("interrupted (%v): %d VM(s) not stopped: %v", context.Cause(ctx), len(notStarted), notStarted))
	}
	if len(errs) > 0 {
		return exitstatus.WithCode(code, errors.Join(errs...))
	}
	if err := s.Events.Err(); err != nil {
		return exitstatus.ForAPIError(err, "every VM was handled, but the Upgrade's events could not be written")
	}
	return nil
}

func (s *Shutdown) normal(ctx context.Context, reason, msg string) {
	if err := s.Events.Normal(context.WithoutCancel(ctx), reason, msg); err != nil {
		s.Log.Warnf("%v", err)
	}
}

func (s *Shutdown) warn(ctx context.Context, reason, msg string) {
	if err := s.Events.Warning(context.WithoutCancel(ctx), reason, msg); err != nil {
		s.Log.Warnf("%v", err)
	}
}
