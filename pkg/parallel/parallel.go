// Package parallel runs a bounded number of actions at once, the way the tool stops and starts
// VMs: once the context is cancelled no new action starts, and the actions already in flight run
// to their end on a context that is not cancelled, so that no request is cut in the middle.
package parallel

import (
	"context"
	"sync"
)

// ForEach calls fn(ctx, i) for each i in [0, n) for which want(i) is true, at most limit at
// once (at least 1), in order of i. It returns the indexes it did not start because ctx was
// done first.
func ForEach(ctx context.Context, n, limit int, want func(i int) bool, fn func(ctx context.Context, i int)) []int {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	var notStarted []int
	for i := 0; i < n; i++ {
		if !want(i) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			notStarted = append(notStarted, i)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(context.WithoutCancel(ctx), i)
		}()
	}
	wg.Wait()
	return notStarted
}
