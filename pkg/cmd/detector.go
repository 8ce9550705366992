package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
	"github.com/cloudweav/upgrade-helper/pkg/logging"
	"github.com/cloudweav/upgrade-helper/pkg/record"
	"github.com/cloudweav/upgrade-helper/pkg/shutdown"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

// DetectorOptions are the options of vm-live-migrate-detector.
type DetectorOptions struct {
	*GlobalOptions

	Node        string
	Output      string
	FromFiles   []string
	Shutdown    bool
	Upgrade     string
	Namespace   string
	DryRun      bool
	Wait        bool
	Timeout     time.Duration
	Concurrency int
	PageSize    int64

	// BeforeStop is a test hook passed to the shutdown (see shutdown.Shutdown.BeforeStop).
	BeforeStop func()

	clients *kube.Clients
}

// DetectorReport is the detector's report, with the shutdown's steps when --shutdown ran.
type DetectorReport struct {
	*detector.Report `json:",inline"`
	Shutdown         *shutdown.Result `json:"shutdown,omitempty"`
}

// NewDetectorCommand builds vm-live-migrate-detector.
func NewDetectorCommand(g *GlobalOptions) *cobra.Command {
	o := &DetectorOptions{GlobalOptions: g, Output: "text", Namespace: DefaultNamespace, Timeout: 10 * time.Minute, Concurrency: 4, PageSize: 500}
	cmd := &cobra.Command{
		Use:   "vm-live-migrate-detector NODENAME",
		Short: "Tell which VMs on a node cannot live-migrate, and why; stop them on request",
		Long: `A VM detector and executor for Cloudweav upgrades.

The detector takes a node name and works out where each VM running on the node could be live
migrated to. A VM cannot leave when it has a node selector, host devices or vGPUs, when KubeVirt
says it is not live-migratable, when no other node may take it, or when there is no room left
for it once the VMs that can leave are placed. Every reason that holds is reported.

With --shutdown it stops the VMs that cannot leave through KubeVirt's stop API; with --upgrade it
first records them for restore-vm in the upgrade's restore record.`,
		Example: `  # Analyse node-1 of the cluster in $KUBECONFIG
  upgrade-helper vm-live-migrate-detector node-1

  # Analyse a cluster dump, as JSON
  upgrade-helper vm-live-migrate-detector node-1 --from-file dump/ -o json

  # Stop what cannot leave, recording it for restore-vm
  upgrade-helper vm-live-migrate-detector node-1 --shutdown --upgrade hvst-upgrade-gqbg5`,
		Args: exactArgs(1, "exactly one node name"),
		RunE: runOptions(o),
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Output, "output", "o", o.Output, "report format: text, json or yaml")
	fs.StringArrayVar(&o.FromFiles, "from-file", nil, "read the cluster state from this file or directory instead of a cluster (repeatable)")
	fs.BoolVar(&o.Shutdown, "shutdown", false, "Shutdown non-migratable VMs")
	fs.StringVar(&o.Upgrade, "upgrade", "", "the Upgrade to record stopped VMs for (restore record and events); needs --shutdown")
	fs.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of the Upgrade and its restore record")
	fs.BoolVar(&o.DryRun, "dry-run", false, "with --shutdown: print what would be recorded and stopped, change nothing")
	fs.BoolVar(&o.Wait, "wait", false, "with --shutdown: wait until each stopped VM's VMI is gone")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "with --wait: how long to wait for the VMs to stop")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "with --shutdown: how many VMs to stop at once")
	fs.Int64Var(&o.PageSize, "page-size", o.PageSize, "objects per page when listing from the cluster")
	_ = fs.MarkHidden("page-size")
	return cmd
}

// Complete fills the options from the arguments.
func (o *DetectorOptions) Complete(_ *cobra.Command, args []string) error {
	o.Node = args[0]
	return nil
}

// Validate checks the options before anything is read.
func (o *DetectorOptions) Validate() error {
	if err := validateObjectName("node", o.Node); err != nil {
		return err
	}
	if err := OutputFormat(o.Output).Validate(); err != nil {
		return err
	}
	if len(o.FromFiles) > 0 && o.Shutdown {
		return exitstatus.Usagef("--shutdown stops VMs in a cluster and cannot be used with --from-file")
	}
	for _, check := range []struct {
		set  bool
		flag string
	}{
		{o.Upgrade != "", "--upgrade"}, {o.DryRun, "--dry-run"}, {o.Wait, "--wait"},
	} {
		if err := requireFlagWith(check.set && !o.Shutdown, check.flag, "--shutdown"); err != nil {
			return err
		}
	}
	if err := validateWorkers(o.Concurrency, o.Timeout); err != nil {
		return err
	}
	if o.PageSize < 1 {
		return exitstatus.Usagef("--page-size must be at least 1, got %d", o.PageSize)
	}
	return nil
}

// Run analyses the node, stops what cannot leave when asked to, and prints the report.
func (o *DetectorOptions) Run(ctx context.Context) error {
	deadline := readDeadline
	if o.Shutdown {
		deadline += actionDeadline
		if o.Wait {
			deadline += o.Timeout
		}
	}
	ctx, cancel := withDeadline(ctx, deadline)
	defer cancel()
	o.Log.Info("Starting VM Live Migrate Detector")
	state, err := o.readState(ctx)
	if err != nil {
		return err
	}
	o.Log.Infof("Checking vms on node %s...", o.Node)
	report, err := detector.Analyze(o.Node, state)
	if err != nil {
		return err
	}
	out := DetectorReport{Report: report}
	var runErr error
	if o.Shutdown {
		out.Shutdown, runErr = o.shutdown(ctx, report)
	}
	if err := o.print(o.Out, out); err != nil {
		return err
	}
	return runErr
}

func (o *DetectorOptions) readState(ctx context.Context) (detector.ClusterState, error) {
	if len(o.FromFiles) > 0 {
		o.Log.Debugf("reading the cluster state from %v", o.FromFiles)
		return source.FromFiles(o.FromFiles)
	}
	clients, err := o.Clients()
	if err != nil {
		return detector.ClusterState{}, err
	}
	o.clients = clients
	return source.Live{Kube: clients.Kube, Client: clients.Client, PageSize: o.PageSize}.Read(ctx, o.Node)
}

func (o *DetectorOptions) shutdown(ctx context.Context, report *detector.Report) (*shutdown.Result, error) {
	kv, err := kubevirt.New(o.clients.Config)
	if err != nil {
		return nil, err
	}
	s := &shutdown.Shutdown{
		Config: shutdown.Config{
			Node: o.Node, DryRun: o.DryRun, Concurrency: o.Concurrency, Wait: o.Wait, Timeout: o.Timeout,
		},
		Stopper:        kv,
		AlreadyStopped: kubevirt.IsAlreadyStopped,
		Records:        record.Store{Kube: o.clients.Kube},
		Client:         o.clients.Client,
		Log:            o.Log,
		BeforeStop:     o.BeforeStop,
	}
	if logging.IsTerminal(o.ErrOut) {
		s.Progress = (&progressBar{w: o.ErrOut, what: "VMs down", width: 30}).update
	}
	if o.Upgrade != "" {
		up := &cloudweavv1beta1.Upgrade{}
		if err := o.clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Upgrade}, up); err != nil {
			return nil, exitstatus.ForAPIError(err, fmt.Sprintf("get upgrade %s in namespace %s", o.Upgrade, o.Namespace))
		}
		s.Upgrade = up
		s.Events = &events.Recorder{Kube: o.clients.Kube, Upgrade: up, Host: o.Node}
	}
	if o.DryRun {
		o.Log.Info("dry run: nothing will be recorded or stopped")
	}
	return s.Run(ctx, report)
}

func (o *DetectorOptions) print(w io.Writer, out DetectorReport) error {
	if OutputFormat(o.Output) != OutputText {
		return printStructured(w, OutputFormat(o.Output), out)
	}
	return WriteDetectorText(w, out)
}

// WriteDetectorText writes the text report: a block per VM that cannot leave with its reasons,
// a line per VM that can, skipped VMIs, warnings, the shutdown's steps, and last the seed's
// "Non-migratable VM(s): [...]" line.
func WriteDetectorText(w io.Writer, out DetectorReport) error {
	var b strings.Builder
	for _, vm := range out.VMs {
		if vm.Migratable {
			fmt.Fprintf(&b, "%s: can migrate to %s", vm.Key(), strings.Join(vm.Targets, ", "))
			if vm.Placement != "" {
				fmt.Fprintf(&b, " (placed on %s)", vm.Placement)
			}
			b.WriteString("\n")
			continue
		}
		reasons := make([]string, 0, len(vm.Reasons))
		for _, r := range vm.Reasons {
			reasons = append(reasons, fmt.Sprintf("%s: %s", r.Code, r.Message))
		}
		fmt.Fprintf(&b, "%s: cannot migrate: %s\n", vm.Key(), strings.Join(reasons, "; "))
	}
	for _, s := range out.Skipped {
		fmt.Fprintf(&b, "%s/%s: skipped, phase %s\n", s.Namespace, s.Name, s.Phase)
	}
	for _, warning := range out.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warning)
	}
	if out.Shutdown != nil {
		for _, st := range out.Shutdown.Steps {
			fmt.Fprintf(&b, "%s: %s, %s", st.Key(), st.Action, st.Outcome)
			if st.Message != "" {
				fmt.Fprintf(&b, ": %s", st.Message)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "Non-migratable VM(s): [%s]\n", strings.Join(out.NonMigratable, " "))
	_, err := io.WriteString(w, b.String())
	return err
}
