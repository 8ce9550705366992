// Package standin is a test stand-in for KubeVirt in front of a real kube-apiserver: an HTTPS
// reverse proxy on 127.0.0.1 that forwards every request to the API server except KubeVirt's
// subresource API (group subresources.kubevirt.io), which it serves itself the way virt-api
// does, and then plays the part of virt-controller that stop and start depend on. The same
// proxy logs and counts every request and injects faults on demand. Tests (through
// internal/testenv) and the sandbox (hack/sandbox) use it; production code never does.
//
// # Using it
//
//	srv, err := standin.Start(env.Config) // upstream: admin credentials, may impersonate
//	defer srv.Close()
//	cfg := srv.RESTConfig()               // talks to the stand-in as the upstream admin
//	cfg = srv.RESTConfigFor("alice", "g") // ... impersonating alice in group g (RBAC applies)
//	cfg = srv.Via(userCfg)                // ... with userCfg's own client certificate or token
//
// The stand-in serves HTTP/1.1 over TLS with a self-signed certificate for 127.0.0.1
// (CAData). Who a request is forwarded as:
//   - Impersonate-User/-Group headers from the client: forwarded as they are, under the
//     upstream credentials, so the API server authorizes the impersonated user. Whether the
//     caller itself may impersonate is not checked.
//   - else a client certificate: its common name and organizations are impersonated.
//   - else an Authorization header (a bearer token): passed on as it is, on a connection that
//     carries no other credentials, so the API server authenticates the token itself.
//   - else the upstream credentials (the admin).
//
// # The subresource API (virt-api)
//
// Served: PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachines/NAME/stop and
// .../start (body: an optional JSON StopOptions / StartOptions), GET
// /apis/subresources.kubevirt.io/v1/healthz, and discovery (GET /apis/subresources.kubevirt.io
// and /apis/subresources.kubevirt.io/v1). v1alpha3 is accepted as v1. Any other path in the
// group is 404.
//
// Authorization is kube-apiserver's, which runs before the aggregator proxies to virt-api: the
// caller needs update on virtualmachines/stop (or /start) in group subresources.kubevirt.io
// in the namespace, and list on healthz in that group at the cluster scope (the API server's
// request-info rules make GET .../v1/healthz a list of resource healthz). The stand-in checks
// with a SelfSubjectAccessReview sent upstream as the caller and answers a denial with the API
// server's own 403 Status ("User X cannot update resource "virtualmachines/stop" in API group
// ..."); a bad token gets the API server's 401.
//
// Stop and start follow KubeVirt's virt-api (kubevirt/kubevirt pkg/virt-api/rest/lifecycle.go,
// StopVMRequestHandler and StartVMRequestHandler; messages from pkg/virt-api/rest/subresource.go).
// Success is 202 Accepted with an empty body; refusals are metav1.Status JSON, a conflict
// being 409 `Operation cannot be fulfilled on virtualmachine.kubevirt.io "NAME": MESSAGE`:
//
//	run strategy    stop                                       start
//	Always          runStrategy -> Halted (VMI or not)         409 "Always does not support manual start requests"
//	Once            runStrategy -> Halted                      409 "Once does not support manual start requests"
//	RerunOnFailure  Stop request for the VMI;                  Start request; a Failed VMI: 409 "RerunOnFailure does
//	                no VMI or a final one: 409 "VM is not       not support starting VM from failed state"; a Succeeded
//	                running"                                   one is restarted (Stop+Start requests)
//	Manual          as RerunOnFailure                          Start request (Stop+Start when the VMI is final)
//	Halted          no VMI or a final one: 409 "VM is not      runStrategy -> Always
//	                running"; a VMI still there: only a stop
//	                with a shorter gracePeriod (409 "Halted
//	                only supports manual stop requests with a
//	                shorter graceperiod")
//
// Before the strategy matters, start answers 409 "VM is already running" when a VMI exists
// that is not final (nor Unknown or without a phase). An unknown VM is 404
// `virtualmachine.kubevirt.io "NAME" not found`. A malformed body is 400. dryRun ["All"]
// validates and changes nothing. A stop with a gracePeriod first sets the running VMI's
// terminationGracePeriodSeconds. The runStrategy patch and the state change request patch
// carry JSON-patch tests as virt-api's do, so a concurrent change gives 409; a start queued
// behind another change gives virt-api's 500 "unable to complete request: stop/start already
// underway" (a stop replaces what is queued). VMs using the deprecated spec.running get it
// patched instead of spec.runStrategy.
//
// Healthz (pkg/healthz/healthz.go) answers 200 {"apiserver":{"connectivity":"ok","version":
// ...},"config-resource-version":""} with the API server's /version, or 500
// {"apiserver":{"connectivity":"failed","error":...}} when SetHealthy(false) is in force or the
// API server's version cannot be read.
//
// # virt-controller's part
//
// After an accepted stop or start, before replying (or in the background after
// Options.AsyncDelay; RunPending ends the wait), the stand-in does what virt-controller's VM
// loop (pkg/virt-controller/watch/vm/vm.go) would for the cases stop and start produce:
//   - a VMI to go (run strategy Halted, or a Stop request naming it): its virt-launcher pods
//     (label kubevirt.io/created-by=VMI UID) are deleted with grace period 0 and the VMI is
//     deleted; its node, conditions and the compute container's requests are remembered;
//   - a VMI to create (Always or Once without one, or a Start request): a VMI named after the
//     VM, owned by it, with the template's labels, annotations and spec, placed on the node the
//     VM last ran on if the stand-in remembers it and it still fits, else the first fitting
//     node by name (Ready, not unschedulable, not a Cloudweav witness, matching the launcher
//     pod's node selector kubevirt.io/schedulable=true plus the VMI's, its required node
//     affinity, and tolerating its NoSchedule/NoExecute taints). The VMI gets label
//     kubevirt.io/nodeName, phase Running, status.nodeName and the remembered conditions (else
//     Ready and LiveMigratable True); a Running virt-launcher pod on the node requests the
//     remembered resources (else the template's requests, else its guest memory). With no
//     fitting node the VMI is Scheduling and its pod Pending (Unschedulable);
//   - the VM's status: state change requests consumed, status.runStrategy, created, ready,
//     printableStatus Running, Stopped or ErrorUnschedulable.
//
// # Not modelled
//
// Graceful shutdown (a VMI goes at once, never Succeeded), start paused (the start happens,
// unpaused), the ManualRecoveryRequired and volume-migration conditions, start-failure backoff,
// RerunOnFailure restarting a Failed VMI by itself, data volumes, instance types, live
// migration, any subresource but stop/start/healthz (restart, migrate, pause, console...),
// the scheduler's resource fit (nodes are never full), virt-handler, and any reconciling that
// stop and start did not trigger: a VM the tests create stays as created until it is stopped
// or started through the stand-in. A VMI that no VM owns is left alone. The stand-in does not
// add subresources.kubevirt.io to the API server's /apis list.
//
// # Request log, counts, faults
//
// Every request, forwarded or served, is logged in arrival order (Requests, Counts keyed
// "VERB RESOURCE CODE", ResetLog); its status is logged before the client can see it. Faults
// (InjectFault) match requests by method, Kubernetes verb, group, resource, subresource,
// namespace, name, path or a function, for N requests or until removed, and delay them, drop
// the connection (at once or after some body bytes, to cut a LIST), or answer a status with a
// metav1.Status body and optional Retry-After. When the API server cannot be reached the
// stand-in drops the client's connection, as a dead server would.
package standin
