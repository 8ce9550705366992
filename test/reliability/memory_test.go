package reliability

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

// hugeDump writes a cluster dump of about size bytes to path: the example cluster (so that
// node-1 still has its VMs) plus copies of one of its virt-launcher pods and its VMI, spread
// over node-2 and node-3, until the file is that big. asList writes one "kind: List" document,
// as kubectl get -o yaml does; otherwise one document per object.
func hugeDump(tb testing.TB, path string, size int64, asList bool) int {
	tb.Helper()
	state, err := source.FromFiles([]string{examplePathTB(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	var templates []string
	for _, obj := range []any{state.Pods[0], state.VMIs[0]} {
		data, err := yaml.Marshal(obj)
		if err != nil {
			tb.Fatal(err)
		}
		templates = append(templates, string(data))
	}
	var objects []any
	for _, n := range state.Nodes {
		objects = append(objects, n)
	}
	for _, p := range state.Pods {
		objects = append(objects, p)
	}
	for _, v := range state.VMIs {
		objects = append(objects, v)
	}
	for _, v := range state.VMs {
		objects = append(objects, v)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	written := int64(0)
	emit := func(doc string) {
		if asList {
			lines := strings.Split(strings.TrimSuffix(doc, "\n"), "\n")
			for i, line := range lines {
				prefix := "  "
				if i == 0 {
					prefix = "- "
				}
				n, _ := fmt.Fprintf(w, "%s%s\n", prefix, line)
				written += int64(n)
			}
			return
		}
		n, _ := fmt.Fprintf(w, "---\n%s", doc)
		written += int64(n)
	}
	if asList {
		n, _ := w.WriteString("apiVersion: v1\nkind: List\nitems:\n")
		written += int64(n)
	}
	count := 0
	for _, obj := range objects {
		data, err := yaml.Marshal(obj)
		if err != nil {
			tb.Fatal(err)
		}
		emit(string(data))
		count++
	}
	// The copies: names and nodes replaced by plain string edits, which is much faster than
	// marshalling each copy.
	pod, vmi := state.Pods[0], state.VMIs[0]
	for i := 0; written < size; i++ {
		node := []string{"node-2", "node-3"}[i%2]
		for j, tmpl := range templates {
			old := []string{pod.Name, vmi.Name}[j]
			doc := strings.ReplaceAll(tmpl, old, fmt.Sprintf("%s-copy-%d", old, i))
			doc = strings.ReplaceAll(doc, "node-1", node)
			emit(doc)
			count++
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return count
}

func examplePathTB(tb testing.TB) string {
	tb.Helper()
	if env != nil {
		return examplePath("cluster.yaml")
	}
	return filepath.Join("..", "..", "examples", "cluster.yaml")
}

// peakHeap runs fn while sampling the heap in use, and returns the highest sample (after a
// collection before fn, so that the baseline is what fn's caller holds).
func peakHeap(fn func()) (peak uint64, baseline uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline = ms.HeapInuse
	var mu sync.Mutex
	peak = baseline
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		var s runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				runtime.ReadMemStats(&s)
				mu.Lock()
				peak = max(peak, s.HeapInuse)
				mu.Unlock()
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	return max(peak, ms.HeapInuse), baseline
}

// BenchmarkHugeFromFile runs the detector on a ~100 MB cluster dump (as one List and as one
// document per object) and reports the peak heap in use during the run, beside the file size.
//
//	go test ./test/reliability -run '^$' -bench HugeFromFile -benchtime 1x
func BenchmarkHugeFromFile(b *testing.B) {
	for _, asList := range []bool{false, true} {
		name := "documents"
		if asList {
			name = "list"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "dump.yaml")
			objects := hugeDump(b, path, 100<<20, asList)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			var peak, baseline uint64
			b.ResetTimer()
			for range b.N {
				var res result
				peak, baseline = peakHeap(func() {
					res = runCLITB(b, "vm-live-migrate-detector", sourceNode, "--from-file", path, "-o", "json")
				})
				if res.code != exitstatus.OK {
					b.Fatalf("%v", res.err)
				}
			}
			b.ReportMetric(float64(info.Size())/(1<<20), "file-MB")
			b.ReportMetric(float64(objects), "objects")
			b.ReportMetric(float64(peak-baseline)/(1<<20), "peak-heap-MB")
		})
	}
}
