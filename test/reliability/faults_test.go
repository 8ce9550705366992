package reliability

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

// subcommand is one of the tool's commands as the fault tests run it against the example
// cluster.
type subcommand struct {
	name string
	// setup brings the cluster to where the command starts (after loadExample).
	setup func(t *testing.T)
	args  []string
	// key matches the request a targeted fault hits: one the command cannot do without.
	key standin.Fault
	// keyDesc is how an error message names that request: verb and resource.
	keyDesc []string
	// bodyRead matches a request whose response body the command reads (to cut it midway).
	bodyRead standin.Fault
	// succeeded checks that a successful run did all of its work: nothing lost.
	succeeded func(t *testing.T, res result)
}

// detectorReport is the report of node-1 that the detector prints from the example file:
// every live run must print the same.
func detectorReport(t *testing.T) string {
	t.Helper()
	res := runCLI(t, "vm-live-migrate-detector", sourceNode, "--from-file", examplePath("cluster.yaml"))
	if res.code != 0 {
		t.Fatalf("detector from file: %v", res)
	}
	return res.stdout
}

func subcommands(t *testing.T) []subcommand {
	report := detectorReport(t)
	kubeconfig := []string{"--kubeconfig", adminKubeconfig, "--request-timeout", "1s"}
	return []subcommand{
		{
			name:     "version-guard",
			args:     append([]string{"version-guard", exampleUpgrade}, kubeconfig...),
			key:      standin.Fault{Verb: "get", Resource: "upgrades", Name: exampleUpgrade},
			keyDesc:  []string{"get", "upgrade"},
			bodyRead: standin.Fault{Verb: "get", Resource: "upgrades", Name: exampleUpgrade},
			succeeded: func(t *testing.T, res result) {
				if want := "allowed: upgrading from release v1.2.1 to release v1.3.0 is allowed (the minimum upgradable version is v1.2.0) [Allowed]\n"; res.stdout != want {
					t.Errorf("stdout = %q, want %q", res.stdout, want)
				}
			},
		},
		{
			name:     "vm-live-migrate-detector",
			args:     append([]string{"vm-live-migrate-detector", sourceNode}, kubeconfig...),
			key:      standin.Fault{Verb: "list", Resource: "nodes"},
			keyDesc:  []string{"list", "nodes"},
			bodyRead: standin.Fault{Verb: "list", Resource: "pods"},
			succeeded: func(t *testing.T, res result) {
				if res.stdout != report {
					t.Errorf("live report differs from the file's:\n%s\nwant:\n%s", res.stdout, report)
				}
			},
		},
		{
			name:     "vm-live-migrate-detector --shutdown --upgrade",
			args:     append([]string{"vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade}, kubeconfig...),
			key:      standin.Fault{Method: http.MethodPut, Resource: "virtualmachines", Subresource: "stop", Name: "erp-db"},
			keyDesc:  []string{"prod/erp-db"},
			bodyRead: standin.Fault{Verb: "list", Resource: "virtualmachineinstances"},
			succeeded: func(t *testing.T, res result) {
				if !strings.HasPrefix(res.stdout, strings.TrimSuffix(report, "Non-migratable VM(s): [default/legacy-app prod/bigmem-cache prod/erp-db prod/ml-passthrough prod/oracle-licensed prod/render-vgpu]\n")) {
					t.Errorf("report differs from the file's:\n%s\nwant it to start with:\n%s", res.stdout, report)
				}
				assertRecord(t, node1Stopped)
				if still := running(t, node1Stopped); len(still) > 0 {
					t.Errorf("still running after the shutdown: %v", still)
				}
			},
		},
		{
			name:     "restore-vm",
			setup:    shutdownNode1,
			args:     append([]string{"restore-vm", "--node", sourceNode, "--upgrade", exampleUpgrade, "--health-backoff", "20ms", "--timeout", "5s"}, kubeconfig...),
			key:      standin.Fault{Method: http.MethodPut, Resource: "virtualmachines", Subresource: "start", Name: "erp-db"},
			keyDesc:  []string{"prod/erp-db"},
			bodyRead: standin.Fault{Verb: "get", Resource: "configmaps", Name: record.ConfigMapName(exampleUpgrade)},
			succeeded: func(t *testing.T, res result) {
				wantContains(t, "stdout", res.stdout, "Restored VM(s): 6 of 6\n")
				if got := running(t, node1Stopped); len(got) != len(node1Stopped) {
					t.Errorf("running after the restore: %v, want %v", got, node1Stopped)
				}
				assertRecord(t, node1Stopped) // restore-vm never drops what was recorded
			},
		},
	}
}

// with returns f with the fault's behaviour set by set.
func with(f standin.Fault, set func(*standin.Fault)) standin.Fault {
	set(&f)
	return f
}

// matches tells whether a logged request is one that fault f (its matching fields) selects.
func matches(f standin.Fault) func(standin.Request) bool {
	return func(r standin.Request) bool {
		eq := func(want, got string) bool { return want == "" || want == got }
		return eq(f.Method, r.Method) && eq(f.Verb, r.Verb) && eq(f.Resource, r.Resource) &&
			eq(f.Subresource, r.Subresource) && eq(f.Name, r.Name)
	}
}

// TestTransientFaults injects, for each subcommand, faults that a retry gets past: each run
// must succeed (exit 0) and do all of its work, and the faulty request must have been tried
// again.
func TestTransientFaults(t *testing.T) {
	for _, sc := range subcommands(t) {
		cases := []struct {
			name  string
			fault standin.Fault
			// retried matches the requests that must have been made more than once.
			retried standin.Fault
			// minGap is the least time between the faulty request and its retry.
			minGap time.Duration
			// args are added to the subcommand's.
			args []string
		}{
			{
				name:  "500 on the first 3 requests",
				fault: standin.Fault{Status: http.StatusInternalServerError, Times: 3},
			},
			{
				name:    "503 on the key request, twice",
				fault:   with(sc.key, func(f *standin.Fault) { f.Status, f.Times = http.StatusServiceUnavailable, 2 }),
				retried: sc.key,
			},
			{
				name:    "429 with Retry-After",
				fault:   with(sc.key, func(f *standin.Fault) { f.Status, f.RetryAfter, f.Times = http.StatusTooManyRequests, "1", 1 }),
				retried: sc.key,
				minGap:  time.Second,
			},
			{
				name:    "a response slower than --request-timeout, once",
				fault:   with(sc.key, func(f *standin.Fault) { f.Delay, f.Times = 3*time.Second, 1 }),
				args:    []string{"--request-timeout", "300ms"},
				retried: sc.key,
			},
			{
				name:    "connection dropped before the answer",
				fault:   with(sc.key, func(f *standin.Fault) { f.Drop, f.Times = true, 1 }),
				retried: sc.key,
			},
			{
				name:    "connection dropped in the middle of the body",
				fault:   with(sc.bodyRead, func(f *standin.Fault) { f.Drop, f.DropAfterBytes, f.Times = true, 120, 1 }),
				retried: sc.bodyRead,
			},
		}
		for _, tc := range cases {
			t.Run(sc.name+"/"+tc.name, func(t *testing.T) {
				loadExample(t)
				if sc.setup != nil {
					sc.setup(t)
				}
				id := kv.InjectFault(tc.fault)
				res := runCLI(t, append(append([]string(nil), sc.args...), tc.args...)...)
				if res.code != exitstatus.OK {
					t.Fatalf("want success despite the fault: %v", res)
				}
				if hits := kv.FaultHits(id); hits == 0 {
					t.Fatalf("the fault hit no request: the test does not test anything")
				}
				sc.succeeded(t, res)
				reqs := filter(kv.Requests(), matches(tc.retried))
				if tc.retried.Resource != "" && len(reqs) < 2 {
					t.Errorf("%d request(s) matching the fault, want a retry", len(reqs))
				}
				if tc.minGap > 0 && len(reqs) >= 2 {
					if gap := reqs[1].Time.Sub(reqs[0].Time); gap < tc.minGap {
						t.Errorf("retried after %s, want at least the Retry-After of %s", gap, tc.minGap)
					}
				}
			})
		}
	}
}

func filter(reqs []standin.Request, match func(standin.Request) bool) []standin.Request {
	var out []standin.Request
	for _, r := range reqs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestPermanentTimeout makes the key request of each subcommand always slower than
// --request-timeout: after its tries the command fails with exit 3 and a message saying that
// the request timed out.
func TestPermanentTimeout(t *testing.T) {
	for _, sc := range subcommands(t) {
		t.Run(sc.name, func(t *testing.T) {
			loadExample(t)
			if sc.setup != nil {
				sc.setup(t)
			}
			args := append(append([]string(nil), sc.args...), "--request-timeout", "200ms")
			kv.InjectFault(with(sc.key, func(f *standin.Fault) { f.Delay = 2 * time.Second }))
			res := runCLI(t, args...)
			if got := requests(matches(sc.key)); got < 6 {
				t.Errorf("%d request(s) made, want 6 tries at least", got)
			}
			if res.code != exitstatus.Cluster {
				t.Errorf("exit %d, want 3: %v", res.code, res)
			}
			wantContains(t, "error", res.message(), sc.keyDesc...)
			wantContains(t, "error", res.message(), "timed out", "200ms", "--request-timeout")
		})
	}
}

// TestRecordConflictStorm makes the restore record's update meet conflicts (another node's run
// writing it at the same time): the shutdown retries the read-merge-write, keeps the other
// node's entry and records every VM before stopping it.
func TestRecordConflictStorm(t *testing.T) {
	loadExample(t)
	ctx := context.Background()
	var up cloudweavv1beta1.Upgrade
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: systemNS, Name: exampleUpgrade}, &up); err != nil {
		t.Fatal(err)
	}
	// Another node's run recorded its VMs first, so node-1's run updates the record.
	if _, err := (record.Store{Kube: env.Kube}).Add(ctx, &up, "node-2", []string{"prod/gitlab"}); err != nil {
		t.Fatal(err)
	}
	kv.ResetLog()
	id := kv.InjectFault(standin.Fault{Verb: "update", Resource: "configmaps", Status: http.StatusConflict, Times: 5,
		Message: `Operation cannot be fulfilled on configmaps "hvst-upgrade-gqbg5-restore-vm": the object has been modified; please apply your changes to the latest version and try again`})
	res := runCLI(t, "vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade, "--kubeconfig", adminKubeconfig)
	if res.code != exitstatus.OK {
		t.Fatalf("want success after the conflicts: %v", res)
	}
	if hits := kv.FaultHits(id); hits != 5 {
		t.Errorf("%d conflicts injected, want 5", hits)
	}
	if got := requests(func(r standin.Request) bool { return r.Verb == "update" && r.Resource == "configmaps" }); got != 6 {
		t.Errorf("%d record updates, want 6 (5 conflicts and the one that landed)", got)
	}
	assertRecord(t, node1Stopped)
	other, _, err := record.Store{Kube: env.Kube}.Read(ctx, systemNS, exampleUpgrade, "node-2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(other, ",") != "prod/gitlab" {
		t.Errorf("node-2's entry = %v, want [prod/gitlab] kept", other)
	}
	if still := running(t, node1Stopped); len(still) > 0 {
		t.Errorf("still running: %v", still)
	}
	// Every stop came after the update that landed.
	reqs := kv.Requests()
	lastUpdate, firstStop := -1, -1
	for _, r := range reqs {
		if r.Verb == "update" && r.Resource == "configmaps" && r.Code == http.StatusOK {
			lastUpdate = r.Seq
		}
		if r.Subresource == "stop" && firstStop < 0 {
			firstStop = r.Seq
		}
	}
	if lastUpdate < 0 || firstStop < lastUpdate {
		t.Errorf("the first stop (request %d) came before the record was written (request %d)", firstStop, lastUpdate)
	}
}

// TestAPIServerStopsDuringShutdown lets the record write and the first stop through and then
// makes the API server unreachable: every later request's connection is dropped. The record
// must still name every VM (it is written before any stop), the VM that was stopped must be
// among them, and the command must fail saying which VMs were not stopped and why.
func TestAPIServerStopsDuringShutdown(t *testing.T) {
	loadExample(t)
	var down atomic.Bool
	kv.InjectFault(standin.Fault{Drop: true, Match: func(r standin.Request) bool {
		if r.Subresource == "stop" && down.CompareAndSwap(false, true) {
			return false // the first stop goes through; from then on the server is gone
		}
		return down.Load()
	}})
	res := runCLI(t, "vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade,
		"--concurrency", "1", "--kubeconfig", adminKubeconfig, "--request-timeout", "1s")
	if res.code != exitstatus.Cluster {
		t.Errorf("exit %d, want 3: the cluster could not be asked to stop the other VMs", res.code)
	}
	// Nothing lost: the record names all six, and the one stopped is among them.
	assertRecord(t, node1Stopped)
	stopped := 0
	for _, key := range node1Stopped {
		if len(running(t, []string{key})) == 0 {
			stopped++
		}
	}
	if stopped != 1 {
		t.Errorf("%d VM(s) stopped, want 1 (the only stop that went through)", stopped)
	}
	wantContains(t, "error", res.message(), "5 VM(s) could not be stopped", "gave up after 6 tries", "check that the API server is reachable")
	wantContains(t, "stdout", res.stdout, "Failed")
}

// TestPermanentFaults injects, into the key request of each subcommand, the failures that no
// retry can fix. Each fails at once (the request made exactly once) with a message naming the
// request and what to check: exit 3, or 2 for a named object that does not exist. A stop or
// start that KubeVirt itself refuses (400, 422) is a VM that failed: exit 1; a VM that no
// longer exists is skipped by restore-vm (exit 0) and a failed stop for the shutdown (exit 1).
func TestPermanentFaults(t *testing.T) {
	type want struct {
		code int
		says []string
	}
	forbidden := want{exitstatus.Cluster, []string{"forbidden", "check the RBAC role", "deploy/rbac.yaml"}}
	unauthorized := want{exitstatus.Cluster, []string{"HTTP 401", "check the kubeconfig's credentials"}}
	rejected := want{exitstatus.Cluster, []string{"rejected the request"}}
	vmFailed := func(verb string) want {
		return want{exitstatus.No, []string{"1 VM(s) could not be " + verb, "prod/erp-db"}}
	}
	wants := map[string]map[int]want{
		"version-guard": {
			403: forbidden, 401: unauthorized, 400: rejected, 422: rejected,
			404: {exitstatus.Usage, []string{`upgrade "hvst-upgrade-gqbg5" not found`, "check the name and --namespace"}},
		},
		"vm-live-migrate-detector": {
			403: forbidden, 401: unauthorized, 400: rejected, 422: rejected,
			404: {exitstatus.Cluster, []string{"does not serve this resource"}},
		},
		"vm-live-migrate-detector --shutdown --upgrade": {
			403: forbidden, 401: unauthorized, 400: vmFailed("stopped"), 422: vmFailed("stopped"),
			404: {exitstatus.No, []string{"1 VM(s) could not be stopped"}},
		},
		"restore-vm": {
			403: forbidden, 401: unauthorized, 400: vmFailed("started"), 422: vmFailed("started"),
			404: {exitstatus.OK, nil},
		},
	}
	for _, sc := range subcommands(t) {
		for _, status := range []int{403, 401, 400, 422, 404} {
			w := wants[sc.name][status]
			t.Run(sc.name+"/"+http.StatusText(status), func(t *testing.T) {
				loadExample(t)
				if sc.setup != nil {
					sc.setup(t)
				}
				fault := sc.key
				fault.Status = status
				if status == http.StatusForbidden {
					fault.Message = "injected: forbidden"
				}
				id := kv.InjectFault(fault)
				res := runCLI(t, sc.args...)
				if n := kv.FaultHits(id); n != 1 {
					t.Errorf("the failing request was made %d times, want once", n)
				}
				if res.code != w.code {
					t.Errorf("exit %d, want %d: %v", res.code, w.code, res)
				}
				if w.code != exitstatus.OK {
					if w.code != exitstatus.Usage {
						wantContains(t, "error", res.message(), sc.keyDesc...)
					}
					wantContains(t, "error", res.message(), w.says...)
				}
			})
		}
	}
}

// TestPermanentFaultsElsewhere covers the other requests whose refusal must end a command at
// once: restore-vm's reading of the record and KubeVirt's health check, and the Upgrade that
// --upgrade names.
func TestPermanentFaultsElsewhere(t *testing.T) {
	restoreArgs := []string{"restore-vm", "--node", sourceNode, "--upgrade", exampleUpgrade, "--kubeconfig", adminKubeconfig, "--health-backoff", "20ms", "--timeout", "1m"}
	shutdownArgs := []string{"vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade, "--kubeconfig", adminKubeconfig}
	tests := []struct {
		name     string
		setup    func(t *testing.T)
		args     []string
		fault    standin.Fault
		wantCode int
		says     []string
		// stopped is what must be stopped afterwards (nothing when the command failed before).
		stopped []string
	}{
		{
			name: "restore-vm: healthz forbidden", setup: shutdownNode1, args: restoreArgs,
			fault:    standin.Fault{Resource: "healthz", Status: http.StatusForbidden, Message: `healthz is forbidden: User "x" cannot list resource "healthz" in API group "subresources.kubevirt.io" at the cluster scope`},
			wantCode: exitstatus.Cluster, says: []string{"healthz", "cannot list resource", "check the RBAC role"}, stopped: node1Stopped,
		},
		{
			name: "restore-vm: record read forbidden", setup: shutdownNode1, args: restoreArgs,
			fault:    standin.Fault{Verb: "get", Resource: "configmaps", Status: http.StatusForbidden},
			wantCode: exitstatus.Cluster, says: []string{"read restore record", "check the RBAC role"}, stopped: node1Stopped,
		},
		{
			name: "restore-vm: upgrade not found", setup: shutdownNode1, args: restoreArgs,
			fault:    standin.Fault{Verb: "get", Resource: "upgrades", Status: http.StatusNotFound},
			wantCode: exitstatus.Usage, says: []string{"get upgrade " + exampleUpgrade}, stopped: node1Stopped,
		},
		{
			name: "shutdown: upgrade not found", args: shutdownArgs,
			fault:    standin.Fault{Verb: "get", Resource: "upgrades", Status: http.StatusNotFound},
			wantCode: exitstatus.Usage, says: []string{"get upgrade " + exampleUpgrade},
		},
		{
			name: "shutdown: record write forbidden", args: shutdownArgs,
			fault:    standin.Fault{Verb: "create", Resource: "configmaps", Status: http.StatusForbidden},
			wantCode: exitstatus.Cluster, says: []string{"nothing was stopped", "write restore record", "check the RBAC role"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loadExample(t)
			if tt.setup != nil {
				tt.setup(t)
			}
			id := kv.InjectFault(tt.fault)
			res := runCLI(t, tt.args...)
			if n := kv.FaultHits(id); n != 1 {
				t.Errorf("the failing request was made %d times, want once", n)
			}
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d: %v", res.code, tt.wantCode, res)
			}
			wantContains(t, "error", res.message(), tt.says...)
			var stopped []string
			for _, key := range node1Stopped {
				if len(running(t, []string{key})) == 0 {
					stopped = append(stopped, key)
				}
			}
			if strings.Join(stopped, ",") != strings.Join(tt.stopped, ",") {
				t.Errorf("stopped afterwards: %v, want %v", stopped, tt.stopped)
			}
		})
	}
}
