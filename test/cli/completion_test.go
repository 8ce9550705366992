package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCompletionScripts runs `completion SHELL` for each shell cobra supports and checks that
// what it prints is that shell's completion script for upgrade-helper: its first line, and the
// hooks by which the shell calls back into the binary (`upgrade-helper __complete ...`).
func TestCompletionScripts(t *testing.T) {
	for _, tc := range []struct {
		shell string
		// firstLine is how the script's first line starts.
		firstLine string
		contains  []string
	}{
		{"bash", "# bash completion V2 for upgrade-helper", []string{
			"__start_upgrade-helper()", "__complete", "complete -o default -F __start_upgrade-helper upgrade-helper"}},
		{"zsh", "#compdef upgrade-helper", []string{
			"compdef _upgrade-helper upgrade-helper", "__complete"}},
		{"fish", "# fish completion for upgrade-helper", []string{
			"complete -c upgrade-helper", "__complete"}},
		{"powershell", "# powershell completion for upgrade-helper", []string{
			"Register-ArgumentCompleter -CommandName 'upgrade-helper'", "__complete"}},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			out, err := newCommand("upgrade-helper").run(t, "completion", tc.shell)
			if err != nil {
				t.Fatalf("completion %s: %v", tc.shell, err)
			}
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(first, tc.firstLine) {
				t.Errorf("first line %q, want it to start with %q", first, tc.firstLine)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out, want) {
					t.Errorf("the %s script lacks %q", tc.shell, want)
				}
			}
			// The other shells' scripts must not be what came out.
			for _, other := range []string{"# bash completion", "#compdef", "# fish completion", "# powershell completion"} {
				if !strings.HasPrefix(tc.firstLine, other) && strings.HasPrefix(out, other) {
					t.Errorf("the %s script starts like another shell's: %q", tc.shell, first)
				}
			}
		})
	}
}

// TestBashCompletionParses checks the bash script's syntax with bash -n (bash runs the
// Makefile, so it is there wherever the tests run).
func TestBashCompletionParses(t *testing.T) {
	out, err := newCommand("upgrade-helper").run(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "upgrade-helper.bash")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, msg)
	}
}

// TestCompletionRequests runs the requests the scripts make (`__complete ARGS... PARTIAL`)
// and checks the candidates and cobra's directive (the last line, ":4" meaning no file
// completion).
func TestCompletionRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"subcommands", []string{"__complete", ""}, []string{
			"completion\tGenerate the autocompletion script for the specified shell",
			"help\tHelp about any command",
			"restore-vm\tStart again the VMs that the upgrade stopped on a node",
			"version\tPrint the version and commit of upgrade-helper",
			"version-guard\tTell whether an upgrade path is allowed, and why",
			"vm-live-migrate-detector\tTell which VMs on a node cannot live-migrate, and why; stop them on request",
			":4",
		}},
		{"subcommand prefix", []string{"__complete", "ver"}, []string{
			"version\tPrint the version and commit of upgrade-helper",
			"version-guard\tTell whether an upgrade path is allowed, and why",
			":4",
		}},
		{"completion shells", []string{"__complete", "completion", ""}, []string{
			"bash\tGenerate the autocompletion script for bash",
			"fish\tGenerate the autocompletion script for fish",
			"powershell\tGenerate the autocompletion script for powershell",
			"zsh\tGenerate the autocompletion script for zsh",
			":4",
		}},
		{"detector flag", []string{"__complete", "vm-live-migrate-detector", "--outp"}, []string{
			"--output\treport format: text, json or yaml",
			":4",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := newCommand("upgrade-helper").run(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("__complete %q (-want +got):\n%s", tc.args[1:], diff)
			}
		})
	}
}
