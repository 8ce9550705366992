package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/cmd"
	"github.com/cloudweav/upgrade-helper/pkg/detector"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

// The live cluster's size and the node the detector analyses.
const (
	liveNodes   = 50
	livePerNode = 50
	liveNode    = "node-17"
	// loadWorkers is how many requests loading the fixture keeps in flight.
	loadWorkers = 8
)

// liveCluster is the API server holding the 50-node fixture, with the KubeVirt stand-in in
// front of it. It starts on first use, so that a go test without -bench starts nothing.
type liveCluster struct {
	*testenv.WithKubeVirt
	fixture *fixture
	setup   time.Duration
}

var (
	liveOnce sync.Once
	live     *liveCluster
	liveErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if live != nil {
		if err := live.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the test environment: %v\n", err)
		}
	}
	os.Exit(code)
}

// startLive returns the live cluster, starting and loading it the first time.
func startLive(b *testing.B) *liveCluster {
	b.Helper()
	liveOnce.Do(func() {
		start := time.Now()
		env, err := testenv.StartWithKubeVirt()
		if err != nil {
			liveErr = fmt.Errorf("start the test environment: %w", err)
			return
		}
		l := &liveCluster{WithKubeVirt: env, fixture: newFixture(liveNodes, livePerNode)}
		live = l
		started := time.Since(start)
		if err := l.fixture.load(context.Background(), env.Env, loadWorkers); err != nil {
			liveErr = fmt.Errorf("load the fixture: %w", err)
			return
		}
		l.setup = time.Since(start)
		fmt.Fprintf(os.Stderr, "live cluster: API server up in %s; %d objects loaded with %d workers in %s\n",
			started.Round(time.Millisecond), l.fixture.objects(), loadWorkers, (l.setup - started).Round(time.Millisecond))
	})
	if liveErr != nil {
		b.Fatal(liveErr)
	}
	return live
}

// detectorArgs is the command line each run executes.
func (l *liveCluster) detectorArgs() []string {
	return []string{"vm-live-migrate-detector", liveNode, "-o", "json", "--kubeconfig", l.KubeVirtKubeconfig}
}

// runDetector runs the whole command tree in-process, as main does, writing the report to out.
func runDetector(ctx context.Context, args []string, out io.Writer) error {
	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: io.Discard})
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// wantNonMigratable is what the analysis of the fixture, in memory, finds on liveNode.
func (l *liveCluster) wantNonMigratable(b *testing.B) []string {
	b.Helper()
	report, err := detector.Analyze(liveNode, l.fixture.state())
	if err != nil {
		b.Fatal(err)
	}
	if len(report.VMs) != livePerNode || len(report.NonMigratable) == 0 || len(report.NonMigratable) == livePerNode {
		b.Fatalf("the fixture's %s: %d VMs judged, %d non-migratable; want %d and a mix", liveNode, len(report.VMs), len(report.NonMigratable), livePerNode)
	}
	return report.NonMigratable
}

// BenchmarkDetectorLive50Nodes2500VMIs runs `vm-live-migrate-detector node-17 -o json` end to
// end, in-process, against the API server (through the KubeVirt stand-in) holding 50 nodes,
// 2,500 VMs with their VMIs and virt-launcher pods (50 per node) and 150 other pods. Each run
// builds its clients from the kubeconfig, as the binary would. requests/run counts what the
// stand-in logged: discovery and the paginated LISTs.
func BenchmarkDetectorLive50Nodes2500VMIs(b *testing.B) {
	l := startLive(b)
	ctx := context.Background()

	// One checked run first: the live verdicts must be the in-memory ones.
	var out bytes.Buffer
	l.KubeVirt.ResetLog()
	began := time.Now()
	if err := runDetector(ctx, l.detectorArgs(), &out); err != nil {
		b.Fatalf("vm-live-migrate-detector: %v", err)
	}
	took := time.Since(began)
	var serving time.Duration
	for _, r := range l.KubeVirt.Requests() {
		serving += r.Duration
	}
	b.Logf("one run took %s, of which the API server (through the stand-in) %s: %s", took.Round(time.Millisecond),
		serving.Round(time.Millisecond), requestSummary(l.KubeVirt.Counts()))
	var report struct {
		Node          string   `json:"node"`
		NonMigratable []string `json:"nonMigratable"`
		VMs           []any    `json:"vms"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		b.Fatalf("read the report: %v", err)
	}
	if report.Node != liveNode || len(report.VMs) != livePerNode {
		b.Fatalf("report on %q judges %d VMs, want %s and %d", report.Node, len(report.VMs), liveNode, livePerNode)
	}
	if diff := cmp.Diff(l.wantNonMigratable(b), report.NonMigratable); diff != "" {
		b.Fatalf("non-migratable VMs live vs in memory (-want +got):\n%s", diff)
	}

	args := l.detectorArgs()
	l.KubeVirt.ResetLog()
	b.ReportAllocs()
	for b.Loop() {
		if err := runDetector(ctx, args, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(l.KubeVirt.Requests()))/float64(b.N), "requests/run")
}

// requestSummary lists counts (standin's "VERB RESOURCE CODE" keys) sorted, with how many.
func requestSummary(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d× %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

// BenchmarkAnalyzeLive50Nodes2500VMIs is the pure analysis (detector.Analyze, no I/O) of the
// state that a live run reads for node-17, read once with source.Live.
func BenchmarkAnalyzeLive50Nodes2500VMIs(b *testing.B) {
	l := startLive(b)
	state, err := source.Live{Kube: l.Kube, Client: l.Client}.Read(context.Background(), liveNode)
	if err != nil {
		b.Fatalf("read the state of %s: %v", liveNode, err)
	}
	report, err := detector.Analyze(liveNode, state)
	if err != nil {
		b.Fatal(err)
	}
	if diff := cmp.Diff(l.wantNonMigratable(b), report.NonMigratable); diff != "" {
		b.Fatalf("non-migratable VMs live vs in memory (-want +got):\n%s", diff)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := detector.Analyze(liveNode, state); err != nil {
			b.Fatal(err)
		}
	}
}
