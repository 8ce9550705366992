// Package bench holds the benchmarks that need a real API server: the detector run end to end
// (vm-live-migrate-detector, in-process, through the KubeVirt stand-in) against a cluster of
// 50 nodes carrying 2,500 VMIs with their VMs and virt-launcher pods, and the pure analysis of
// the state that run reads. They report ns/op, allocations and the API requests one run makes.
//
// The API server starts only when a benchmark runs (go test -bench), so a plain go test of the
// package costs nothing but the small test of the fixture builder:
//
//	go test ./test/bench -run '^$' -bench . -benchtime 5x -benchmem
//
// or `make bench`. Loading the 7,700 objects takes a while; the benchmarks log how long.
//
// Only test files live here besides this one: the fixture (fixture_test.go) and the
// benchmarks (bench_test.go).
package bench
