package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/logging"
	"github.com/cloudweav/upgrade-helper/pkg/version"
)

// DefaultNamespace is Cloudweav's system namespace, where Upgrades and the restore record live.
const DefaultNamespace = "cloudweav-system"

// GlobalOptions are the flags every subcommand shares: logging and the connection to the cluster.
type GlobalOptions struct {
	Debug   bool
	Trace   bool
	NoColor bool

	// ConfigFlags are kubectl's own connection flags (--kubeconfig, --context, --request-timeout).
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	// Log is ready once the command's flags are parsed.
	Log *logrus.Logger
}

// NewGlobalOptions returns options that read their defaults from the environment: DEBUG and
// TRACE turn on those levels, NO_COLOR turns off colour.
func NewGlobalOptions(streams genericiooptions.IOStreams) *GlobalOptions {
	// Keep only the connection flags an operator of this tool needs (--kubeconfig, --context,
	// --request-timeout); the rest of kubectl's set (impersonation, server, token, ...) is left
	// out by leaving its field nil.
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.CacheDir, configFlags.ClusterName, configFlags.AuthInfoName = nil, nil, nil
	configFlags.Namespace, configFlags.APIServer, configFlags.TLSServerName = nil, nil, nil
	configFlags.Insecure, configFlags.CertFile, configFlags.KeyFile, configFlags.CAFile = nil, nil, nil, nil
	configFlags.BearerToken, configFlags.Impersonate, configFlags.ImpersonateUID = nil, nil, nil
	configFlags.ImpersonateGroup, configFlags.Username, configFlags.Password = nil, nil, nil
	configFlags.ImpersonateUserExtra, configFlags.DisableCompression = nil, nil
	return &GlobalOptions{
		Debug:       envBool("DEBUG"),
		Trace:       envBool("TRACE"),
		NoColor:     os.Getenv("NO_COLOR") != "",
		ConfigFlags: configFlags,
		IOStreams:   streams,
	}
}

func envBool(name string) bool {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b // any non-boolean word, like DEBUG=yes, means on
}

// AddFlags binds the global flags to the options.
func (g *GlobalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&g.Debug, "debug", g.Debug, "set logging level to debug (env DEBUG)")
	fs.BoolVar(&g.Trace, "trace", g.Trace, "set logging level to trace (env TRACE)")
	fs.BoolVar(&g.NoColor, "no-color", g.NoColor, "never colour the output (env NO_COLOR)")
	g.ConfigFlags.AddFlags(fs)
	fs.StringVar(g.ConfigFlags.Context, "kubecontext", "", "the name of the kubeconfig context to use")
	_ = fs.MarkHidden("kubecontext")
}

// NewRootCommand builds the upgrade-helper command tree, named after how the binary was run
// (os.Args[0]; see NewRootCommandAs).
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return NewRootCommandAs(streams, os.Args[0])
}

// NewRootCommandAs builds the command tree of a binary run as argv0. Installed as a kubectl
// plugin (a base name starting with "kubectl-", such as kubectl-upgrade_helper), help and usage
// name it the way kubectl runs it: "kubectl upgrade-helper" (kubectl's plugin naming, where a
// dash in the file name separates words and an underscore stands for a dash).
func NewRootCommandAs(streams genericiooptions.IOStreams, argv0 string) *cobra.Command {
	g := NewGlobalOptions(streams)
	root := &cobra.Command{
		Use:   "upgrade-helper",
		Short: "Helpers that keep Cloudweav upgrades safe",
		Long: `upgrade-helper is a collection of helpers for Cloudweav upgrades:
it tells which VMs on a node cannot live-migrate and why (and stops them on request),
whether an upgrade path is allowed, and starts again what an upgrade stopped.

Exit status: 0 done; 1 the answer is no or an action partly failed; 2 bad usage or input;
3 the cluster could not be asked.`,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With no subcommand the root prints its help; an unknown one is bad usage.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitstatus.Usagef("unknown command %q for %q\nRun '%s --help' for usage", args[0], c.CommandPath(), c.CommandPath())
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			g.Log = logging.New(g.ErrOut, logging.Options{Debug: g.Debug, Trace: g.Trace, NoColor: g.NoColor})
		},
	}
	root.SetVersionTemplate(version.String() + "\n")
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitstatus.WithCode(exitstatus.Usage, fmt.Errorf("%w\nRun '%s --help' for usage", err, c.CommandPath()))
	})
	g.AddFlags(root.PersistentFlags())
	if name, ok := kubectlPluginName(argv0); ok {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}

	root.AddCommand(
		NewVersionCommand(g),
		NewVersionGuardCommand(g),
		NewDetectorCommand(g),
		NewRestoreVMCommand(g),
	)
	return root
}

// kubectlPluginName returns the command line kubectl runs a plugin binary argv0 by ("kubectl
// upgrade-helper" for kubectl-upgrade_helper), and false when argv0 is not a kubectl plugin.
func kubectlPluginName(argv0 string) (string, bool) {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	plugin, ok := strings.CutPrefix(base, "kubectl-")
	if !ok || plugin == "" {
		return "", false
	}
	words := strings.Split(plugin, "-")
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, "_", "-")
	}
	return "kubectl " + strings.Join(words, " "), true
}

// exactArgs is cobra.ExactArgs with the usage exit status and a hint naming what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return exitstatus.Usagef("%s expects %s, got %d argument(s)\nRun '%s --help' for usage", c.CommandPath(), what, len(args), c.CommandPath())
		}
		return nil
	}
}
