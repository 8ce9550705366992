package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/cmd"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// The names the example Jobs use.
const (
	exampleUpgrade = "hvst-upgrade-gqbg5"
	exampleNode    = "node-1"
	imagePrefix    = "registry.cloudweav.io/cloudweav/upgrade-helper:"
)

// exampleJobs are the example Jobs, in the order the upgrade controller runs them, with the
// contract's command line for each and the subcommand (of the table in rbac_test.go) whose
// roles it needs.
var exampleJobs = []struct {
	file       string
	args       []string
	subcommand string
}{
	{"deploy/jobs/version-guard.yaml", []string{"version-guard", exampleUpgrade}, "version-guard"},
	{"deploy/jobs/pre-drain-node-1.yaml", []string{"vm-live-migrate-detector", exampleNode, "--shutdown", "--upgrade", exampleUpgrade},
		"vm-live-migrate-detector --shutdown --wait --upgrade"},
	{"deploy/jobs/restore-vm-node-1.yaml", []string{"restore-vm", "--node", exampleNode, "--upgrade", exampleUpgrade}, "restore-vm"},
}

// loadJob reads the Job of file.
func loadJob(t *testing.T, file string) batchv1.Job {
	t.Helper()
	for _, d := range manifestsOfKind(t, "Job") {
		if d.file == file {
			var job batchv1.Job
			fromUnstructured(t, d, &job)
			return job
		}
	}
	t.Fatalf("no Job in %s", file)
	return batchv1.Job{}
}

// TestExampleJobs checks what the upgrade controller relies on in each example Job: the
// contract's command line, which the CLI accepts; the namespace and ServiceAccount; a
// non-root, locked-down container; no retry of a bad-input exit.
func TestExampleJobs(t *testing.T) {
	jobs := manifestsOfKind(t, "Job")
	if len(jobs) != len(exampleJobs) {
		t.Errorf("%d Jobs under deploy/, want %d", len(jobs), len(exampleJobs))
	}
	for _, ex := range exampleJobs {
		t.Run(filepath.Base(ex.file), func(t *testing.T) {
			job := loadJob(t, ex.file)
			pod := job.Spec.Template.Spec
			if job.Namespace != systemNamespace {
				t.Errorf("namespace %q, want %q", job.Namespace, systemNamespace)
			}
			if pod.ServiceAccountName != "upgrade-helper" {
				t.Errorf("serviceAccountName %q, want upgrade-helper", pod.ServiceAccountName)
			}
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never (a pod failure policy needs it)", pod.RestartPolicy)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if !strings.HasPrefix(c.Image, imagePrefix) {
				t.Errorf("image %q, want %s...", c.Image, imagePrefix)
			}
			if len(c.Command) != 0 {
				t.Errorf("command %v overrides the image's entrypoint", c.Command)
			}
			if diff := cmp.Diff(ex.args, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if err := parseArgs(c.Args); err != nil {
				t.Errorf("the CLI does not accept the Job's args %v: %v", c.Args, err)
			}
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
				t.Errorf("the pod must run as a non-root user: %+v", psc)
			}
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("the container must be locked down (no privilege escalation, read-only root, no capabilities): %+v", sc)
			}
			if !failsJobOnExit(job, c.Name, 2) {
				t.Errorf("exit status 2 (bad input) must fail the Job at once, not be retried")
			}
			if failsJobOnExit(job, c.Name, 3) {
				t.Errorf("exit status 3 (the cluster could not be asked) must be retried")
			}
		})
	}
}

// failsJobOnExit says whether the Job's pod failure policy fails the Job on exit code.
func failsJobOnExit(job batchv1.Job, container string, code int32) bool {
	if job.Spec.PodFailurePolicy == nil {
		return false
	}
	for _, rule := range job.Spec.PodFailurePolicy.Rules {
		req := rule.OnExitCodes
		if req == nil || (req.ContainerName != nil && *req.ContainerName != container) {
			continue
		}
		in := false
		for _, v := range req.Values {
			in = in || v == code
		}
		if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
			return rule.Action == batchv1.PodFailurePolicyActionFailJob
		}
	}
	return false
}

// parseArgs parses args as the CLI does, without running anything: the subcommand must exist
// and accept the flags and the positional arguments.
func parseArgs(args []string) error {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := cmd.NewRootCommand(streams)
	sub, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if sub == root {
		return errNoSubcommand
	}
	if err := sub.ParseFlags(rest); err != nil {
		return err
	}
	return sub.ValidateArgs(sub.Flags().Args())
}

var errNoSubcommand = errors.New("the args name no subcommand")

func TestParseArgsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"version-guard", exampleUpgrade, "--no-such-flag"},
		{"vm-live-migrate-detector", "--shutdown"},
		{"restore-vm", "node-1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if err := parseArgs(args); err == nil {
				t.Errorf("parseArgs(%v) accepted them", args)
			}
		})
	}
}

// runAs runs the CLI with args as the user of cfg, through the KubeVirt stand-in, and returns
// the exit status main would give and what it printed.
func runAs(t *testing.T, cfg *rest.Config, args []string) (int, string) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(kubevirt.Via(cfg), kubeconfig); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := cmd.NewRootCommand(streams)
	root.SetArgs(append(append([]string(nil), args...), "--kubeconfig", kubeconfig))
	err := root.ExecuteContext(context.Background())
	output := out.String() + errOut.String()
	if err != nil {
		output += "Error: " + err.Error() + "\n"
	}
	return exitstatus.Code(err), output
}

// TestExampleJobsRunWithTheirRolesOnly runs the three example Jobs' command lines, in the
// order of an upgrade, each as a user bound only to its subcommand's roles from rbac.yaml:
// the guard allows the upgrade, the pre-drain run records and stops the VM that cannot leave
// node-1, and restore-vm starts it again.
func TestExampleJobsRunWithTheirRolesOnly(t *testing.T) {
	objs := loadRBAC(t)
	ctx := context.Background()
	// Start from, and leave, a cluster without nodes, VMs or upgrades.
	if err := env.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Reset(context.Background()); err != nil {
			t.Errorf("reset: %v", err)
		}
	})
	for _, name := range []string{exampleNode, "node-2"} {
		if _, err := env.CreateNode(ctx, testenv.NewNode(name)); err != nil {
			t.Fatal(err)
		}
	}
	// A VM pinned to node-1 by a node selector cannot live-migrate: the pre-drain Job stops it.
	pinned, err := env.CreateVM(ctx, testenv.NewVM("default", "pinned"), exampleNode, "1", "1Gi",
		func(vmi *kubevirtv1.VirtualMachineInstance) {
			vmi.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": exampleNode}
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.CreateUpgrade(ctx, testenv.NewUpgrade(exampleUpgrade, "v1.2.1", "v1.3.0", "v1.2.0")); err != nil {
		t.Fatal(err)
	}
	vmiKey := client.ObjectKeyFromObject(pinned.VMI)

	for i, ex := range exampleJobs {
		job := loadJob(t, ex.file)
		args := job.Spec.Template.Spec.Containers[0].Args
		var roles []string
		for _, sc := range subcommands {
			if sc.name == ex.subcommand {
				roles = sc.roles
			}
		}
		user := "job-" + job.Labels["app.kubernetes.io/component"]
		objs.bindUser(t, user, roles...)
		code, output := runAs(t, userConfig(t, user), args)
		if code != 0 {
			t.Fatalf("%s as %s (roles %v): exit %d, want 0\n%s", strings.Join(args, " "), user, roles, code, output)
		}
		var vmi kubevirtv1.VirtualMachineInstance
		err := env.Client.Get(ctx, vmiKey, &vmi)
		switch i {
		case 1:
			if !apierrors.IsNotFound(err) {
				t.Errorf("after the pre-drain Job the VMI of default/pinned still runs (get: %v)\n%s", err, output)
			}
			var cm corev1.ConfigMap
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: exampleUpgrade + "-restore-vm"}, &cm); err != nil {
				t.Fatalf("read the restore record: %v", err)
			}
			if got := cm.Data[exampleNode]; got != "default/pinned" {
				t.Errorf("restore record for %s = %q, want default/pinned", exampleNode, got)
			}
		case 2:
			if err != nil {
				t.Errorf("after the restore-vm Job default/pinned has no VMI: %v\n%s", err, output)
			}
		}
	}

	// The events of both runs were written: the roles allow it (a failure would only be logged).
	var events corev1.EventList
	if err := env.Client.List(ctx, &events, client.InNamespace(systemNamespace)); err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range events.Items {
		if e.InvolvedObject.Name == exampleUpgrade {
			reasons[e.Reason] = true
		}
	}
	for _, want := range []string{"RestoreVMConfigMapCreated", "VMShutdownCompleted", "RestoreVMCompleted"} {
		if !reasons[want] {
			t.Errorf("no %s event on the Upgrade (events: %v)", want, reasons)
		}
	}
}
