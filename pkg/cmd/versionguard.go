package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/versionguard"
)

// VersionGuardOptions are the options of version-guard.
type VersionGuardOptions struct {
	*GlobalOptions

	// Upgrade is the name of the Upgrade to check (live form).
	Upgrade string
	// Namespace holds the Upgrade.
	Namespace string
	// Current and Target are the path to check without a cluster (offline form).
	Current string
	Target  string
	// MinUpgradableVersion overrides the Upgrade's release.minUpgradableVersion when set.
	MinUpgradableVersion string
	// Strict rejects upgrades from a dev version.
	Strict bool
	Output OutputFormat

	offline    bool
	currentSet bool
	targetSet  bool
	minimumSet bool
	args       []string
}

// guardInput is the guard's input with, for each field, where the value came from.
type guardInput struct {
	versionguard.Input
	source map[versionguard.Field]string
}

// NewVersionGuardCommand builds version-guard.
func NewVersionGuardCommand(g *GlobalOptions) *cobra.Command {
	o := &VersionGuardOptions{GlobalOptions: g, Namespace: DefaultNamespace, Strict: true, Output: OutputText}
	cmd := &cobra.Command{
		Use:   "version-guard {UPGRADENAME | --current VERSION --target VERSION}",
		Short: "Tell whether an upgrade path is allowed, and why",
		Long: `Check whether the cluster may be upgraded from the version it runs to the version an upgrade
installs.

With UPGRADENAME it reads that Upgrade: the current version is its status.previousVersion, the
target is release.cloudweav from its status.repoInfo (spec.version when repoInfo has none), and
the minimum upgradable version is release.minUpgradableVersion from status.repoInfo unless
--min-upgradable-version is given. With --current and --target it checks that path without
contacting a cluster.

The rules, in order; the first that applies decides:
  1. TargetDev               the target is a dev version: allowed
  2. CurrentDev              the current version is a dev version: rejected in strict mode, allowed otherwise
  3. SameVersion             current and target are the same version: allowed
  4. Downgrade               the target is lower than the current version: rejected
  5. BelowMinimum            the current version is lower than the minimum: rejected
  6. PrereleaseCrossRelease  the current version is a prerelease and the target belongs to another release: rejected
  7. Allowed                 anything else: allowed
A version is a dev version unless it is a strict semantic version after an optional leading v.

Exit status: 0 allowed; 1 rejected; 2 bad usage or input (unknown Upgrade, unparsable version,
malformed repoInfo or kubeconfig); 3 the cluster could not be asked.`,
		Example: `  # Check the upgrade the controller is about to run
  upgrade-helper version-guard hvst-upgrade-gqbg5

  # Check a path without a cluster, as JSON
  upgrade-helper version-guard --current v1.2.1 --target v1.3.0 --min-upgradable-version v1.2.0 -o json

  # Allow upgrading from a dev build
  upgrade-helper version-guard hvst-upgrade-gqbg5 --strict=false`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exitstatus.Usagef("%s expects at most one UPGRADENAME, got %d arguments\nRun '%s --help' for usage", c.CommandPath(), len(args), c.CommandPath())
			}
			return nil
		},
		RunE: runOptions(o),
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.Strict, "strict", o.Strict, "reject upgrades from a dev version")
	fs.StringVar(&o.MinUpgradableVersion, "min-upgradable-version", "", "the minimum version the cluster must run, instead of the Upgrade's release.minUpgradableVersion (empty: no minimum)")
	fs.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of the Upgrade")
	fs.StringVarP((*string)(&o.Output), "output", "o", string(o.Output), "report format: text, json or yaml")
	fs.StringVar(&o.Current, "current", "", "check the path from this version, without a cluster (needs --target)")
	fs.StringVar(&o.Target, "target", "", "check the path to this version, without a cluster (needs --current)")
	return cmd
}

// Complete fills the options from the arguments and notes which flags were given.
func (o *VersionGuardOptions) Complete(cmd *cobra.Command, args []string) error {
	o.args = args
	if len(args) == 1 {
		o.Upgrade = args[0]
	}
	fs := cmd.Flags()
	o.currentSet = fs.Changed("current")
	o.targetSet = fs.Changed("target")
	o.minimumSet = fs.Changed("min-upgradable-version")
	o.offline = o.currentSet || o.targetSet
	return nil
}

// Validate checks the options before anything is read.
func (o *VersionGuardOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.offline {
		switch {
		case len(o.args) > 0:
			return exitstatus.Usagef("give either UPGRADENAME or --current and --target, not both")
		case !o.currentSet:
			return exitstatus.Usagef("--target needs --current: give both to check a path without a cluster")
		case !o.targetSet:
			return exitstatus.Usagef("--current needs --target: give both to check a path without a cluster")
		}
		return nil
	}
	if len(o.args) != 1 {
		return exitstatus.Usagef("version-guard needs the name of an Upgrade, or --current and --target to check a path without a cluster\nRun 'upgrade-helper version-guard --help' for usage")
	}
	if err := validateObjectName("Upgrade", o.Upgrade); err != nil {
		return err
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return exitstatus.Usagef("%q is not a valid namespace: %s", o.Namespace, strings.Join(errs, "; "))
	}
	return nil
}

// Run gathers the path, decides it, prints the report and returns a "rejected" error (exit
// status 1) after the report when the path is not allowed.
func (o *VersionGuardOptions) Run(ctx context.Context) error {
	ctx, cancel := withDeadline(ctx, readDeadline)
	defer cancel()
	o.Log.Info("Starting Version Guard")
	var in guardInput
	var err error
	if o.offline {
		in = o.offlineInput()
	} else if in, err = o.liveInput(ctx); err != nil {
		return err
	}
	o.Log.Debugf("checking the path from %q to %q, minimum %q, strict %t", in.Current, in.Target, in.Minimum, in.Strict)
	decision, err := versionguard.Decide(in.Input)
	if err != nil {
		var ie *versionguard.InputError
		if errors.As(err, &ie) && in.source[ie.Field] != "" {
			return exitstatus.Usagef("%s: %w", in.source[ie.Field], err)
		}
		return err
	}
	if err := o.print(o.Out, decision); err != nil {
		return err
	}
	if !decision.Allowed {
		return exitstatus.Rejectedf("the upgrade from %s to %s is rejected (%s)", decision.Current, decision.Target, decision.Rule)
	}
	return nil
}

func (o *VersionGuardOptions) offlineInput() guardInput {
	return guardInput{
		Input: versionguard.Input{Current: o.Current, Target: o.Target, Minimum: o.MinUpgradableVersion, Strict: o.Strict},
		source: map[versionguard.Field]string{
			versionguard.FieldCurrent: "--current",
			versionguard.FieldTarget:  "--target",
			versionguard.FieldMinimum: "--min-upgradable-version",
		},
	}
}

// liveInput reads the path from the Upgrade.
func (o *VersionGuardOptions) liveInput(ctx context.Context) (guardInput, error) {
	clients, err := o.Clients()
	if err != nil {
		return guardInput{}, err
	}
	object := fmt.Sprintf("upgrade %s/%s", o.Namespace, o.Upgrade)
	var up cloudweavv1beta1.Upgrade
	if err := clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Upgrade}, &up); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			return guardInput{}, exitstatus.Usagef("upgrade %q not found in namespace %s (check the name and --namespace): %w", o.Upgrade, o.Namespace, err)
		case meta.IsNoMatchError(err):
			return guardInput{}, exitstatus.Usagef("get %s: %w (the cluster serves no %s Upgrades: is it a Cloudweav cluster?)", object, err, cloudweavv1beta1.SchemeGroupVersion)
		}
		return guardInput{}, exitstatus.ForAPIError(err, "get "+object)
	}
	if up.Status.PreviousVersion == "" {
		return guardInput{}, exitstatus.Usagef("%s has no status.previousVersion: the upgrade controller has not recorded the version the cluster runs yet", object)
	}
	repo, err := versionguard.ParseRepoInfo(up.Status.RepoInfo)
	if err != nil {
		return guardInput{}, exitstatus.Usagef("%s: status.repoInfo is not valid release metadata YAML: %w", object, err)
	}
	in := guardInput{
		Input: versionguard.Input{Current: up.Status.PreviousVersion, Strict: o.Strict},
		source: map[versionguard.Field]string{
			versionguard.FieldCurrent: "status.previousVersion of " + object,
		},
	}
	if repo.Release.Cloudweav != "" {
		in.Target = repo.Release.Cloudweav
		in.source[versionguard.FieldTarget] = "release.cloudweav in status.repoInfo of " + object
		o.Log.Debugf("target %s from release.cloudweav in status.repoInfo (spec.version is %q)", in.Target, up.Spec.Version)
	} else {
		in.Target = up.Spec.Version
		in.source[versionguard.FieldTarget] = "spec.version of " + object
		o.Log.Debugf("target %s from spec.version: status.repoInfo has no release.cloudweav", in.Target)
	}
	if o.minimumSet {
		in.Minimum = o.MinUpgradableVersion
		in.source[versionguard.FieldMinimum] = "--min-upgradable-version"
		o.Log.Debugf("minimum %q from --min-upgradable-version (release.minUpgradableVersion is %q)", in.Minimum, repo.Release.MinUpgradableVersion)
	} else {
		in.Minimum = repo.Release.MinUpgradableVersion
		in.source[versionguard.FieldMinimum] = "release.minUpgradableVersion in status.repoInfo of " + object
		o.Log.Debugf("minimum %q from release.minUpgradableVersion in status.repoInfo", in.Minimum)
	}
	return in, nil
}

func (o *VersionGuardOptions) print(w io.Writer, d versionguard.Decision) error {
	if o.Output != OutputText {
		return printStructured(w, o.Output, d)
	}
	return WriteVersionGuardText(w, d)
}

// WriteVersionGuardText writes the decision as one line: the verdict, why, and the rule's code.
func WriteVersionGuardText(w io.Writer, d versionguard.Decision) error {
	verdict := "rejected"
	if d.Allowed {
		verdict = "allowed"
	}
	_, err := fmt.Fprintf(w, "%s: %s [%s]\n", verdict, d.Message, d.Rule)
	return err
}
