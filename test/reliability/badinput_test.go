package reliability

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// badInputFiles writes the broken inputs the bad-input tests use and returns their paths.
func badInputFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	example, err := os.ReadFile(examplePath("cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(6, 6))
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	// Cut the example in the middle of a line, inside its list of items.
	cut := len(example) / 2
	files := map[string][]byte{
		"malformed.yaml":       []byte("apiVersion: v1\nkind: Node\nmetadata:\n  name: [node-1\n"),
		"truncated.yaml":       example[:cut],
		"truncated.json":       []byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"`),
		"wrong-type.yaml":      []byte("apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\nspec:\n  unschedulable: \"maybe\"\n"),
		"scalar.yaml":          []byte("just a string\n"),
		"no-kind.yaml":         []byte("apiVersion: v1\nmetadata:\n  name: node-1\n"),
		"garbage.yaml":         garbage,
		"nul.json":             append([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Node\"\x00"), garbage[:100]...),
		"empty/comments.yaml":  []byte("# nothing here\n---\n# nor here\n"),
		"empty/README.md":      []byte("apiVersion: v1\nkind: Node\n"),
		"kubeconfig-garbage":   garbage,
		"kubeconfig-malformed": []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: [\n"),
		"kubeconfig-empty":     nil,
	}
	paths := map[string]string{"missing": filepath.Join(dir, "missing.yaml"), "empty-dir": filepath.Join(dir, "empty")}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	if err := os.Mkdir(filepath.Join(dir, "no-files"), 0o755); err != nil {
		t.Fatal(err)
	}
	paths["no-files"] = filepath.Join(dir, "no-files")
	return paths
}

// badInput is one bad command line: it must exit with code (2 unless said) and an error
// message holding every part of says, and never panic.
type badInput struct {
	name string
	args []string
	code int
	says []string
}

func runBadInputs(t *testing.T, cases []badInput) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, tc.args...)
			want := tc.code
			if want == 0 {
				want = exitstatus.Usage
			}
			if res.code != want {
				t.Errorf("exit %d, want %d: %v", res.code, want, res)
			}
			wantContains(t, "error", res.message(), tc.says...)
			if len(res.message()) > 2000 {
				t.Errorf("error message of %d bytes: want a short one", len(res.message()))
			}
			if strings.Contains(res.stderr+res.stdout, "goroutine ") {
				t.Errorf("a stack trace was printed:\n%s", res.stderr)
			}
		})
	}
}

// kubeconfigCases are the bad connection settings every live subcommand must reject with
// exit 2 before asking anything.
func kubeconfigCases(files map[string]string, args ...string) []badInput {
	with := func(extra ...string) []string { return append(append([]string(nil), args...), extra...) }
	return []badInput{
		{name: "missing kubeconfig", args: with("--kubeconfig", files["missing"]), says: []string{files["missing"], "no such file", "check --kubeconfig"}},
		{name: "malformed kubeconfig", args: with("--kubeconfig", files["kubeconfig-malformed"]), says: []string{"load the kubeconfig", files["kubeconfig-malformed"]}},
		{name: "binary garbage kubeconfig", args: with("--kubeconfig", files["kubeconfig-garbage"]), says: []string{"load the kubeconfig", files["kubeconfig-garbage"]}},
		{name: "empty kubeconfig", args: with("--kubeconfig", files["kubeconfig-empty"]), says: []string{"kubeconfig"}},
		{name: "unknown context", args: with("--kubeconfig", adminKubeconfig, "--context", "no-such-context"), says: []string{"no-such-context", "check --kubeconfig, $KUBECONFIG and --context"}},
		{name: "negative request timeout", args: with("--kubeconfig", adminKubeconfig, "--request-timeout", "-5s"), says: []string{"--request-timeout must not be negative"}},
		{name: "request timeout not a duration", args: with("--kubeconfig", adminKubeconfig, "--request-timeout", "soon"), says: []string{"timeout"}},
	}
}

func TestBadInputVersionGuard(t *testing.T) {
	loadExample(t)
	files := badInputFiles(t)
	huge := "v1." + strings.Repeat("9", 1<<20) + ".0"
	kc := []string{"--kubeconfig", adminKubeconfig}
	cases := append(kubeconfigCases(files, "version-guard", exampleUpgrade),
		badInput{name: "unknown upgrade", args: append([]string{"version-guard", "no-such-upgrade"}, kc...), says: []string{`upgrade "no-such-upgrade" not found`, "--namespace"}},
		badInput{name: "unknown namespace", args: append([]string{"version-guard", exampleUpgrade, "-n", "elsewhere"}, kc...), says: []string{"not found in namespace elsewhere"}},
		badInput{name: "upgrade name not a name", args: []string{"version-guard", "Not_A_Name"}, says: []string{`"Not_A_Name" is not a valid Upgrade name`}},
		badInput{name: "upgrade name too long", args: []string{"version-guard", strings.Repeat("u", 300)}, says: []string{"is not a valid Upgrade name", "253"}},
		badInput{name: "namespace not a name", args: []string{"version-guard", exampleUpgrade, "-n", "Not A Namespace"}, says: []string{"not a valid namespace"}},
		badInput{name: "two upgrades", args: []string{"version-guard", "a", "b"}, says: []string{"at most one UPGRADENAME"}},
		badInput{name: "no upgrade", args: []string{"version-guard"}, says: []string{"needs the name of an Upgrade"}},
		badInput{name: "empty current version", args: []string{"version-guard", "--current", "", "--target", "v1.3.0"}, says: []string{"--current", "empty"}},
		badInput{name: "empty target version", args: []string{"version-guard", "--current", "v1.2.1", "--target", ""}, says: []string{"--target", "empty"}},
		badInput{name: "huge current version", args: []string{"version-guard", "--current", huge, "--target", "v1.3.0"}, says: []string{"--current", "longer than"}},
		badInput{name: "huge target version", args: []string{"version-guard", "--current", "v1.2.1", "--target", huge}, says: []string{"--target", "longer than"}},
		badInput{name: "binary version", args: []string{"version-guard", "--current", "v1.2.1\x00\xff", "--target", "v1.3.0"}, says: []string{"--current"}},
		badInput{name: "minimum not semantic", args: []string{"version-guard", "--current", "v1.2.1", "--target", "v1.3.0", "--min-upgradable-version", "v1.2"}, says: []string{"--min-upgradable-version", "not a semantic version"}},
		badInput{name: "current without target", args: []string{"version-guard", "--current", "v1.2.1"}, says: []string{"--current needs --target"}},
		badInput{name: "offline and an upgrade", args: []string{"version-guard", exampleUpgrade, "--current", "v1.2.1", "--target", "v1.3.0"}, says: []string{"not both"}},
		badInput{name: "unknown output", args: []string{"version-guard", "--current", "v1.2.1", "--target", "v1.3.0", "-o", "xml"}, says: []string{`unknown output format "xml"`}},
		badInput{name: "unknown flag", args: []string{"version-guard", "--nope"}, says: []string{"unknown flag: --nope", "--help"}},
		badInput{name: "strict not a boolean", args: []string{"version-guard", "--current", "v1.2.1", "--target", "v1.3.0", "--strict=perhaps"}, says: []string{"--strict"}},
	)
	runBadInputs(t, cases)
}

func TestBadInputDetector(t *testing.T) {
	loadExample(t)
	files := badInputFiles(t)
	kc := []string{"--kubeconfig", adminKubeconfig}
	det := func(extra ...string) []string {
		return append([]string{"vm-live-migrate-detector", sourceNode}, extra...)
	}
	fromFile := func(name string) []string { return det("--from-file", files[name]) }
	cases := append(kubeconfigCases(files, det()...),
		badInput{name: "unknown node", args: append([]string{"vm-live-migrate-detector", "node-9"}, kc...), says: []string{`node "node-9" not found`}},
		badInput{name: "unknown node in a file", args: []string{"vm-live-migrate-detector", "node-9", "--from-file", examplePath("cluster.yaml")}, says: []string{`node "node-9"`}},
		badInput{name: "unknown upgrade", args: append(det("--shutdown", "--upgrade", "no-such-upgrade"), kc...), says: []string{"get upgrade no-such-upgrade", "not found"}},
		badInput{name: "node name with capitals", args: []string{"vm-live-migrate-detector", "Node_1"}, says: []string{`"Node_1" is not a valid node name`}},
		badInput{name: "node name with a slash", args: []string{"vm-live-migrate-detector", "../node-1"}, says: []string{"is not a valid node name"}},
		badInput{name: "empty node name", args: []string{"vm-live-migrate-detector", ""}, says: []string{`"" is not a valid node name`}},
		badInput{name: "node name too long", args: []string{"vm-live-migrate-detector", strings.Repeat("n", 254)}, says: []string{"is not a valid node name"}},
		badInput{name: "no node", args: []string{"vm-live-migrate-detector"}, says: []string{"expects exactly one node name"}},
		badInput{name: "concurrency 0", args: det("--shutdown", "--concurrency", "0"), says: []string{"--concurrency must be at least 1"}},
		badInput{name: "negative concurrency", args: det("--shutdown", "--concurrency", "-3"), says: []string{"--concurrency must be at least 1"}},
		badInput{name: "concurrency not a number", args: det("--concurrency", "many"), says: []string{"--concurrency"}},
		badInput{name: "negative timeout", args: det("--shutdown", "--wait", "--timeout", "-1m"), says: []string{"--timeout must be positive"}},
		badInput{name: "zero timeout", args: det("--shutdown", "--wait", "--timeout", "0s"), says: []string{"--timeout must be positive"}},
		badInput{name: "page size 0", args: det("--page-size", "0"), says: []string{"--page-size must be at least 1"}},
		badInput{name: "upgrade without shutdown", args: det("--upgrade", exampleUpgrade), says: []string{"--upgrade only works together with --shutdown"}},
		badInput{name: "shutdown from a file", args: det("--shutdown", "--from-file", examplePath("cluster.yaml")), says: []string{"cannot be used with --from-file"}},
		badInput{name: "missing file", args: fromFile("missing"), says: []string{"cannot read " + files["missing"], "no such file"}},
		badInput{name: "malformed file", args: fromFile("malformed.yaml"), says: []string{files["malformed.yaml"], "document 1"}},
		badInput{name: "truncated file", args: fromFile("truncated.yaml"), says: []string{files["truncated.yaml"], "document 1"}},
		badInput{name: "truncated JSON", args: fromFile("truncated.json"), says: []string{files["truncated.json"], "document 1"}},
		badInput{name: "field of the wrong type", args: fromFile("wrong-type.yaml"), says: []string{files["wrong-type.yaml"], "document 1", "unschedulable"}},
		badInput{name: "a scalar document", args: fromFile("scalar.yaml"), says: []string{"not a Kubernetes object"}},
		badInput{name: "an object without kind", args: fromFile("no-kind.yaml"), says: []string{"missing kind"}},
		badInput{name: "binary garbage", args: fromFile("garbage.yaml"), says: []string{files["garbage.yaml"]}},
		badInput{name: "NUL bytes in JSON", args: fromFile("nul.json"), says: []string{files["nul.json"], "document 1"}},
		badInput{name: "directory of comments", args: fromFile("empty-dir"), says: []string{"no Kubernetes objects found in " + files["empty-dir"]}},
		badInput{name: "empty directory", args: fromFile("no-files"), says: []string{"no Kubernetes objects found in " + files["no-files"]}},
		badInput{name: "unknown output", args: det("-o", "xml", "--from-file", examplePath("cluster.yaml")), says: []string{`unknown output format "xml"`}},
	)
	runBadInputs(t, cases)
}

func TestBadInputRestoreVM(t *testing.T) {
	loadExample(t)
	files := badInputFiles(t)
	kc := []string{"--kubeconfig", adminKubeconfig}
	rv := func(extra ...string) []string {
		return append([]string{"restore-vm", "--node", sourceNode, "--upgrade", exampleUpgrade}, extra...)
	}
	cases := append(kubeconfigCases(files, rv()...),
		badInput{name: "unknown upgrade", args: append([]string{"restore-vm", "--node", sourceNode, "--upgrade", "no-such-upgrade"}, kc...), says: []string{"get upgrade no-such-upgrade", "not found"}},
		badInput{name: "no node", args: []string{"restore-vm", "--upgrade", exampleUpgrade}, says: []string{"needs --node and --upgrade"}},
		badInput{name: "no upgrade", args: []string{"restore-vm", "--node", sourceNode}, says: []string{"needs --node and --upgrade"}},
		badInput{name: "node name not a name", args: []string{"restore-vm", "--node", "Node_1", "--upgrade", exampleUpgrade}, says: []string{`"Node_1" is not a valid node name`}},
		badInput{name: "upgrade name not a name", args: []string{"restore-vm", "--node", sourceNode, "--upgrade", "Up/Grade"}, says: []string{`"Up/Grade" is not a valid upgrade name`}},
		badInput{name: "a positional argument", args: rv("node-2"), says: []string{"expects no arguments"}},
		badInput{name: "concurrency 0", args: rv("--concurrency", "0"), says: []string{"--concurrency must be at least 1"}},
		badInput{name: "negative timeout", args: rv("--timeout", "-30s"), says: []string{"--timeout must be positive"}},
		badInput{name: "unknown output", args: rv("-o", "xml"), says: []string{`unknown output format "xml"`}},
	)
	runBadInputs(t, cases)
}
