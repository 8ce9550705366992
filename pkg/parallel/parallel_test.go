package parallel

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestForEachBoundsConcurrencyAndSkips(t *testing.T) {
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	var done []int
	release := make(chan struct{})
	go func() {
		for range 6 {
			release <- struct{}{}
		}
	}()
	notStarted := ForEach(context.Background(), 8, 2, func(i int) bool { return i%4 != 3 }, func(_ context.Context, i int) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		mu.Lock()
		done = append(done, i)
		mu.Unlock()
	})
	sort.Ints(done)
	if diff := cmp.Diff([]int{0, 1, 2, 4, 5, 6}, done); diff != "" {
		t.Errorf("ran (-want +got):\n%s", diff)
	}
	if len(notStarted) != 0 {
		t.Errorf("notStarted = %v", notStarted)
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("peak concurrency = %d, want at most 2", p)
	}
}

func TestForEachStartsNothingNewOnceCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran []int
	var inflightCtxErr error
	notStarted := ForEach(ctx, 4, 1, func(int) bool { return true }, func(c context.Context, i int) {
		ran = append(ran, i)
		cancel()
		inflightCtxErr = c.Err()
	})
	if diff := cmp.Diff([]int{0}, ran); diff != "" {
		t.Errorf("ran (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, notStarted); diff != "" {
		t.Errorf("notStarted (-want +got):\n%s", diff)
	}
	if inflightCtxErr != nil {
		t.Errorf("the action in flight saw its context cancelled: %v", inflightCtxErr)
	}
}
