package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/pkg/cmd"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// TestPluginName checks the name help and usage give the tool, by the name the binary was run
// by: kubectl runs the plugin file kubectl-upgrade_helper as "kubectl upgrade-helper" (a dash
// separates words, an underscore stands for a dash); any other name is upgrade-helper.
func TestPluginName(t *testing.T) {
	for _, tc := range []struct {
		argv0 string
		want  string
	}{
		{"/usr/local/bin/kubectl-upgrade_helper", "kubectl upgrade-helper"},
		{"kubectl-upgrade_helper", "kubectl upgrade-helper"},
		{"kubectl-upgrade_helper.exe", "kubectl upgrade-helper"},
		{"/home/op/.krew/bin/kubectl-cloudweav-upgrade_helper", "kubectl cloudweav upgrade-helper"},
		{"/usr/local/bin/upgrade-helper", "upgrade-helper"},
		{"./bin/upgrade-helper", "upgrade-helper"},
		{"/tmp/go-build1/b001/cli.test", "upgrade-helper"},
		{"kubectl-", "upgrade-helper"},
		{"kubectl", "upgrade-helper"},
	} {
		t.Run(tc.argv0, func(t *testing.T) {
			c := newCommand(tc.argv0)
			out, err := c.run(t, "--help")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"Usage:\n  " + tc.want + " [flags]\n  " + tc.want + " [command]\n",
				"help for " + tc.want + "\n",
				`Use "` + tc.want + ` [command] --help" for more information about a command.`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q:\n%s", want, out)
				}
			}
			if got := c.root.CommandPath(); got != tc.want {
				t.Errorf("CommandPath() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPluginSubcommands checks that, run as the plugin, each subcommand's usage line, its
// error hints and its exit statuses name it as kubectl does.
func TestPluginSubcommands(t *testing.T) {
	const argv0 = "/usr/local/bin/kubectl-upgrade_helper"
	for _, sub := range []string{"version", "version-guard", "vm-live-migrate-detector", "restore-vm"} {
		t.Run(sub, func(t *testing.T) {
			out, err := newCommand(argv0).run(t, sub, "--help")
			if err != nil {
				t.Fatal(err)
			}
			if want := "Usage:\n  kubectl upgrade-helper " + sub; !strings.Contains(out, want) {
				t.Errorf("help lacks %q:\n%s", want, out)
			}
		})
	}

	_, err := newCommand(argv0).run(t, "vm-live-migrate-detector")
	if got, want := exitstatus.Code(err), exitstatus.Usage; got != want {
		t.Errorf("exit status %d, want %d (%v)", got, want, err)
	}
	if want := "Run 'kubectl upgrade-helper vm-live-migrate-detector --help' for usage"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}

	_, err = newCommand(argv0).run(t, "version-guard", "--no-such-flag")
	if want := "Run 'kubectl upgrade-helper version-guard --help' for usage"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
}

// TestPluginWorks runs a real check as the plugin: the name changes nothing but the words.
func TestPluginWorks(t *testing.T) {
	args := []string{"version-guard", "--current", "v1.2.1", "--target", "v1.3.0", "-o", "json"}
	asPlugin, pluginErr := newCommand("kubectl-upgrade_helper").run(t, args...)
	asTool, toolErr := newCommand("upgrade-helper").run(t, args...)
	if pluginErr != nil || toolErr != nil {
		t.Fatalf("version-guard: as the plugin %v, as the tool %v", pluginErr, toolErr)
	}
	if diff := cmp.Diff(asTool, asPlugin); diff != "" {
		t.Errorf("the plugin's report differs from the tool's (-tool +plugin):\n%s", diff)
	}
	if !strings.Contains(asPlugin, `"allowed": true`) {
		t.Errorf("report does not say allowed:\n%s", asPlugin)
	}
}

// TestNewRootCommandReadsArgv0 checks that NewRootCommand, what main calls, names the tool
// after os.Args[0].
func TestNewRootCommandReadsArgv0(t *testing.T) {
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	for _, tc := range []struct{ argv0, want string }{
		{"/usr/local/bin/kubectl-upgrade_helper", "kubectl upgrade-helper"},
		{"/usr/local/bin/upgrade-helper", "upgrade-helper"},
	} {
		os.Args = append([]string{tc.argv0}, saved[1:]...)
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		if got := cmd.NewRootCommand(streams).CommandPath(); got != tc.want {
			t.Errorf("os.Args[0] %q: CommandPath() = %q, want %q", tc.argv0, got, tc.want)
		}
	}
}
