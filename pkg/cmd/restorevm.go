package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/events"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
	"github.com/cloudweav/upgrade-helper/pkg/record"
	"github.com/cloudweav/upgrade-helper/pkg/restore"
)

// RestoreVMOptions are the options of restore-vm.
type RestoreVMOptions struct {
	*GlobalOptions

	Node        string
	Upgrade     string
	Namespace   string
	Output      string
	Timeout     time.Duration
	Concurrency int
	DryRun      bool
	// HealthBackoff is the first wait between KubeVirt health checks (tests shorten it).
	HealthBackoff time.Duration
}

// NewRestoreVMCommand builds restore-vm.
func NewRestoreVMCommand(g *GlobalOptions) *cobra.Command {
	o := &RestoreVMOptions{GlobalOptions: g, Output: "text", Namespace: DefaultNamespace, Timeout: 30 * time.Minute, Concurrency: 4}
	cmd := &cobra.Command{
		Use:   "restore-vm --node NODE --upgrade UPGRADE",
		Short: "Start again the VMs that the upgrade stopped on a node",
		Long: `Start again the VMs that vm-live-migrate-detector --shutdown --upgrade stopped on a node,
as the upgrade's restore record names them. It waits for KubeVirt's API to be healthy first,
counts a VM that already runs as started, skips one that no longer exists, and is safe to
run again.`,
		Example: `  upgrade-helper restore-vm --node node-1 --upgrade hvst-upgrade-gqbg5`,
		Args:    exactArgs(0, "no arguments (use --node and --upgrade)"),
		RunE:    runOptions(o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Node, "node", "", "the node whose VMs to start again (required)")
	fs.StringVar(&o.Upgrade, "upgrade", "", "the Upgrade that stopped them (required)")
	fs.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of the Upgrade and its restore record")
	fs.StringVarP(&o.Output, "output", "o", o.Output, "report format: text, json or yaml")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for KubeVirt's API to be healthy")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "how many VMs to start at once")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would be started, change nothing")
	fs.DurationVar(&o.HealthBackoff, "health-backoff", time.Second, "first wait between KubeVirt health checks")
	_ = fs.MarkHidden("health-backoff")
	return cmd
}

// Complete has nothing to fill in: restore-vm takes no arguments, only flags.
func (o *RestoreVMOptions) Complete(*cobra.Command, []string) error { return nil }

// Validate checks the options before anything is read.
func (o *RestoreVMOptions) Validate() error {
	if o.Node == "" || o.Upgrade == "" {
		return exitstatus.Usagef("restore-vm needs --node and --upgrade\nRun 'upgrade-helper restore-vm --help' for usage")
	}
	if err := validateObjectName("node", o.Node); err != nil {
		return err
	}
	if err := validateObjectName("upgrade", o.Upgrade); err != nil {
		return err
	}
	if err := OutputFormat(o.Output).Validate(); err != nil {
		return err
	}
	return validateWorkers(o.Concurrency, o.Timeout)
}

// Run restores the node's VMs and prints the outcome.
func (o *RestoreVMOptions) Run(ctx context.Context) error {
	ctx, cancel := withDeadline(ctx, readDeadline+o.Timeout+actionDeadline)
	defer cancel()
	o.Log.Infof("Starting VM Restore for node %s of upgrade %s", o.Node, o.Upgrade)
	clients, err := o.Clients()
	if err != nil {
		return err
	}
	// A node name with a typo would otherwise find nothing to restore and leave the VMs stopped.
	if _, err := clients.Kube.CoreV1().Nodes().Get(ctx, o.Node, metav1.GetOptions{}); err != nil {
		return exitstatus.ForAPIError(err, fmt.Sprintf("get node %s", o.Node))
	}
	up := &cloudweavv1beta1.Upgrade{}
	if err := clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Upgrade}, up); err != nil {
		return exitstatus.ForAPIError(err, fmt.Sprintf("get upgrade %s in namespace %s", o.Upgrade, o.Namespace))
	}
	kv, err := kubevirt.New(clients.Config)
	if err != nil {
		return err
	}
	r := &restore.Restore{
		Config: restore.Config{
			Node: o.Node, Upgrade: up, Timeout: o.Timeout, Concurrency: o.Concurrency, DryRun: o.DryRun,
			HealthBackoff: o.HealthBackoff,
		},
		KubeVirt:       kv,
		AlreadyRunning: kubevirt.IsAlreadyRunning,
		Records:        record.Store{Kube: clients.Kube},
		Events:         &events.Recorder{Kube: clients.Kube, Upgrade: up, Host: o.Node},
		Log:            o.Log,
	}
	res, runErr := r.Run(ctx)
	if runErr != nil && !res.RecordFound {
		return runErr // the record could not be read: there is nothing to report
	}
	if err := o.print(o.Out, res); err != nil {
		return err
	}
	return runErr
}

func (o *RestoreVMOptions) print(w io.Writer, res *restore.Result) error {
	if OutputFormat(o.Output) != OutputText {
		return printStructured(w, OutputFormat(o.Output), res)
	}
	var b strings.Builder
	if !res.RecordFound {
		fmt.Fprintf(&b, "no restore record for upgrade %s: nothing to restore on node %s\n", res.Upgrade, res.Node)
	}
	for _, st := range res.Steps {
		fmt.Fprintf(&b, "%s/%s: %s", st.Namespace, st.Name, st.Outcome)
		if st.Message != "" {
			fmt.Fprintf(&b, ": %s", st.Message)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Restored VM(s): %d of %d\n", countRestored(res.Steps), len(res.Steps))
	_, err := io.WriteString(w, b.String())
	return err
}

func countRestored(steps []restore.Step) int {
	n := 0
	for _, st := range steps {
		if st.Outcome == restore.OutcomeStarted || st.Outcome == restore.OutcomeAlreadyRunning {
			n++
		}
	}
	return n
}
