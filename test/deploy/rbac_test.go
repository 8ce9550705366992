package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The ServiceAccount of deploy/rbac.yaml, as the API server names it.
const (
	serviceAccountUser  = "system:serviceaccount:cloudweav-system:upgrade-helper"
	serviceAccountGroup = "system:serviceaccounts:cloudweav-system"
)

// apiRequest is one request a subcommand makes, built so that it changes nothing (a write is a
// dry run or names an object that does not exist) and so that the API server answers 403 when
// the caller may not make it and something else when it may. need is the RBAC permission the
// API server checks for it.
type apiRequest struct {
	method, path string
	body         any
	need         permission
}

// permission is one verb on one resource of one API group.
type permission struct {
	group, resource, verb string
}

func (p permission) String() string {
	return fmt.Sprintf("%s %s.%s", p.verb, p.resource, p.group)
}

const (
	upgradesPath = "/apis/cloudweavhci.io/v1beta1/namespaces/" + systemNamespace + "/upgrades/"
	cmPath       = "/api/v1/namespaces/" + systemNamespace + "/configmaps"
	eventsPath   = "/api/v1/namespaces/" + systemNamespace + "/events"
	subresPath   = "/apis/subresources.kubevirt.io/v1"
)

// requests is every request the subcommands make, by name, and a few that none may make.
// KubeVirt's subresource group is not served here, so an authorised request to it gets 404
// and a forbidden one 403: kube-apiserver authorises before it routes, as it does before
// proxying to virt-api.
var requests = map[string]apiRequest{
	// What the subcommands do.
	"get upgrade": {method: http.MethodGet, path: upgradesPath + "no-such-upgrade",
		need: permission{"cloudweavhci.io", "upgrades", "get"}},
	"list nodes": {method: http.MethodGet, path: "/api/v1/nodes?limit=500",
		need: permission{"", "nodes", "list"}},
	"get a node": {method: http.MethodGet, path: "/api/v1/nodes/node-1",
		need: permission{"", "nodes", "get"}},
	"list pods": {method: http.MethodGet, path: "/api/v1/pods?limit=500&fieldSelector=status.phase!%3DSucceeded,status.phase!%3DFailed",
		need: permission{"", "pods", "list"}},
	"list vmis on a node": {method: http.MethodGet, path: "/apis/kubevirt.io/v1/virtualmachineinstances?limit=500&labelSelector=kubevirt.io%2FnodeName%3Dnode-1",
		need: permission{"kubevirt.io", "virtualmachineinstances", "list"}},
	"list vms": {method: http.MethodGet, path: "/apis/kubevirt.io/v1/virtualmachines?limit=500",
		need: permission{"kubevirt.io", "virtualmachines", "list"}},
	"list vms of a namespace": {method: http.MethodGet, path: "/apis/kubevirt.io/v1/namespaces/default/virtualmachines?limit=500",
		need: permission{"kubevirt.io", "virtualmachines", "list"}},
	"stop a vm": {method: http.MethodPut, path: subresPath + "/namespaces/default/virtualmachines/vm-1/stop", body: map[string]any{},
		need: permission{"subresources.kubevirt.io", "virtualmachines/stop", "update"}},
	"get a vmi": {method: http.MethodGet, path: "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm-1",
		need: permission{"kubevirt.io", "virtualmachineinstances", "get"}},
	"get the record": {method: http.MethodGet, path: cmPath + "/no-such-upgrade-restore-vm",
		need: permission{"", "configmaps", "get"}},
	"create the record": {method: http.MethodPost, path: cmPath + "?dryRun=All", body: recordBody("rbac-test-restore-vm"),
		need: permission{"", "configmaps", "create"}},
	"update the record": {method: http.MethodPut, path: cmPath + "/no-such-upgrade-restore-vm?dryRun=All", body: recordBody("no-such-upgrade-restore-vm"),
		need: permission{"", "configmaps", "update"}},
	"create an event": {method: http.MethodPost, path: eventsPath + "?dryRun=All", body: eventBody(),
		need: permission{"", "events", "create"}},
	"start a vm": {method: http.MethodPut, path: subresPath + "/namespaces/default/virtualmachines/vm-1/start", body: map[string]any{},
		need: permission{"subresources.kubevirt.io", "virtualmachines/start", "update"}},
	"kubevirt healthz": {method: http.MethodGet, path: subresPath + "/healthz",
		need: permission{"subresources.kubevirt.io", "healthz", "list"}},

	// What none of them does.
	"get an upgrade of another namespace":  {method: http.MethodGet, path: "/apis/cloudweavhci.io/v1beta1/namespaces/default/upgrades/x"},
	"update an upgrade":                    {method: http.MethodPut, path: upgradesPath + "x?dryRun=All", body: map[string]any{}},
	"get a configmap of another namespace": {method: http.MethodGet, path: "/api/v1/namespaces/default/configmaps/x"},
	"delete the record":                    {method: http.MethodDelete, path: cmPath + "/x?dryRun=All"},
	"create an event in another namespace": {method: http.MethodPost, path: "/api/v1/namespaces/default/events?dryRun=All", body: map[string]any{}},
	"list secrets":                         {method: http.MethodGet, path: "/api/v1/secrets"},
	"delete a vm":                          {method: http.MethodDelete, path: "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-1?dryRun=All"},
	"patch a vm":                           {method: http.MethodPatch, path: "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-1?dryRun=All", body: map[string]any{}},
	"restart a vm":                         {method: http.MethodPut, path: subresPath + "/namespaces/default/virtualmachines/vm-1/restart", body: map[string]any{}},
	"update a node":                        {method: http.MethodPut, path: "/api/v1/nodes/node-1?dryRun=All", body: map[string]any{}},
	"evict a pod":                          {method: http.MethodPost, path: "/api/v1/namespaces/default/pods/p/eviction?dryRun=All", body: map[string]any{}},
}

func recordBody(name string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": systemNamespace},
		"data":     map[string]any{"node-1": "default/vm-1"},
	}
}

func eventBody() map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"name": "rbac-test.1", "namespace": systemNamespace},
		"involvedObject": map[string]any{
			"apiVersion": "cloudweavhci.io/v1beta1", "kind": "Upgrade", "namespace": systemNamespace, "name": "no-such-upgrade",
		},
		"reason": "VMShutdownCompleted", "message": "rbac test", "type": "Normal",
		"source": map[string]any{"component": "upgrade-helper"},
	}
}

// subcommands are the subcommands, the roles of deploy/rbac.yaml each is bound to (a name
// binds the Role and the ClusterRole of that name, through the bindings of rbac.yaml), and the
// requests each makes.
var subcommands = []struct {
	name     string
	roles    []string
	requests []string
}{
	{
		name:     "version-guard",
		roles:    []string{"upgrade-helper-version-guard"},
		requests: []string{"get upgrade"},
	},
	{
		name:     "vm-live-migrate-detector",
		roles:    []string{"upgrade-helper-detector"},
		requests: []string{"list nodes", "list pods", "list vmis on a node", "list vms", "list vms of a namespace"},
	},
	{
		name:  "vm-live-migrate-detector --shutdown --wait --upgrade",
		roles: []string{"upgrade-helper-detector", "upgrade-helper-detector-shutdown"},
		requests: []string{
			"list nodes", "list pods", "list vmis on a node", "list vms", "list vms of a namespace",
			"stop a vm", "get a vmi", "get upgrade", "get the record", "create the record", "update the record", "create an event",
		},
	},
	{
		name:     "restore-vm",
		roles:    []string{"upgrade-helper-restore-vm"},
		requests: []string{"get a node", "get upgrade", "get the record", "create an event", "kubevirt healthz", "start a vm"},
	},
}

// rbacObjects are the objects of deploy/rbac.yaml, typed.
type rbacObjects struct {
	roles               map[string]rbacv1.Role
	clusterRoles        map[string]rbacv1.ClusterRole
	roleBindings        []rbacv1.RoleBinding
	clusterRoleBindings []rbacv1.ClusterRoleBinding
}

var (
	rbacOnce    sync.Once
	rbacApplied error
)

// loadRBAC reads deploy/rbac.yaml and creates its objects in the API server (once).
func loadRBAC(t *testing.T) rbacObjects {
	t.Helper()
	objs := rbacObjects{roles: map[string]rbacv1.Role{}, clusterRoles: map[string]rbacv1.ClusterRole{}}
	var docs []document
	for _, d := range readManifests(t) {
		if d.file != "deploy/rbac.yaml" {
			continue
		}
		docs = append(docs, d)
		switch d.obj.GetKind() {
		case "Role":
			var r rbacv1.Role
			fromUnstructured(t, d, &r)
			objs.roles[r.Name] = r
		case "ClusterRole":
			var r rbacv1.ClusterRole
			fromUnstructured(t, d, &r)
			objs.clusterRoles[r.Name] = r
		case "RoleBinding":
			var b rbacv1.RoleBinding
			fromUnstructured(t, d, &b)
			objs.roleBindings = append(objs.roleBindings, b)
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			fromUnstructured(t, d, &b)
			objs.clusterRoleBindings = append(objs.clusterRoleBindings, b)
		}
	}
	rbacOnce.Do(func() {
		ctx := context.Background()
		for _, d := range docs {
			obj := d.obj.DeepCopy()
			if err := env.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				rbacApplied = fmt.Errorf("create %s: %w", d, err)
				return
			}
		}
	})
	if rbacApplied != nil {
		t.Fatal(rbacApplied)
	}
	return objs
}

// rulesOf returns the rules of the Role and the ClusterRole named name.
func (o rbacObjects) rulesOf(name string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	if r, ok := o.roles[name]; ok {
		rules = append(rules, r.Rules...)
	}
	if r, ok := o.clusterRoles[name]; ok {
		rules = append(rules, r.Rules...)
	}
	return rules
}

// bindUser binds user to the named roles exactly as rbac.yaml binds them to the ServiceAccount:
// a copy of each of those bindings with the user as its only subject.
func (o rbacObjects) bindUser(t *testing.T, user string, roles ...string) {
	t.Helper()
	ctx := context.Background()
	wanted := map[string]bool{}
	for _, r := range roles {
		wanted[r] = true
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	var objs []client.Object
	for _, b := range o.roleBindings {
		if wanted[b.RoleRef.Name] {
			b := b.DeepCopy()
			b.ObjectMeta = metav1.ObjectMeta{Namespace: b.Namespace, Name: b.Name + "-" + user}
			b.Subjects = subject
			objs = append(objs, b)
		}
	}
	for _, b := range o.clusterRoleBindings {
		if wanted[b.RoleRef.Name] {
			b := b.DeepCopy()
			b.ObjectMeta = metav1.ObjectMeta{Name: b.Name + "-" + user}
			b.Subjects = subject
			objs = append(objs, b)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("rbac.yaml binds none of %v", roles)
	}
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("bind %s: %v", user, err)
		}
	}
}

var (
	usersMu sync.Mutex
	users   = map[string]*rest.Config{}
)

// userConfig returns a client config (a client certificate) for user in groups.
func userConfig(t *testing.T, user string, groups ...string) *rest.Config {
	t.Helper()
	usersMu.Lock()
	defer usersMu.Unlock()
	if cfg, ok := users[user]; ok {
		return cfg
	}
	cfg, err := env.AddUser(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	users[user] = cfg
	return cfg
}

// send makes r as cfg's user and returns the status code and the body.
func send(t *testing.T, cfg *rest.Config, r apiRequest) (int, string) {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, strings.TrimSuffix(cfg.Host, "/")+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
		if r.method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// checkRequests asserts that cfg's user may make exactly the named requests of the catalogue:
// those are not forbidden, every other one is.
func checkRequests(t *testing.T, cfg *rest.Config, allowed []string) {
	t.Helper()
	may := map[string]bool{}
	for _, name := range allowed {
		if _, ok := requests[name]; !ok {
			t.Fatalf("no request %q in the catalogue", name)
		}
		may[name] = true
	}
	names := make([]string, 0, len(requests))
	for name := range requests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		status, body := send(t, cfg, requests[name])
		switch {
		case status == http.StatusUnauthorized:
			t.Errorf("%s: 401, the test user's credentials were refused: %s", name, body)
		case may[name] && status == http.StatusForbidden:
			t.Errorf("%s: forbidden, but the subcommand needs it: %s", name, body)
		case !may[name] && status != http.StatusForbidden:
			t.Errorf("%s: answered %d, want 403: the role grants more than the subcommand needs", name, status)
		}
	}
}

// TestRolesGrantExactlyWhatEachSubcommandNeeds binds a user to each subcommand's roles only,
// as rbac.yaml binds them, and checks against the real API server's RBAC that the user may
// make every request that subcommand makes and none of the others; and that every rule of
// those roles is needed by one of its requests.
func TestRolesGrantExactlyWhatEachSubcommandNeeds(t *testing.T) {
	objs := loadRBAC(t)
	for i, sc := range subcommands {
		t.Run(sc.name, func(t *testing.T) {
			user := fmt.Sprintf("rbac-test-%d", i)
			objs.bindUser(t, user, sc.roles...)
			checkRequests(t, userConfig(t, user), sc.requests)

			needed := map[permission]bool{}
			for _, name := range sc.requests {
				needed[requests[name].need] = true
			}
			var granted []permission
			for _, role := range sc.roles {
				rules := objs.rulesOf(role)
				if len(rules) == 0 {
					t.Errorf("rbac.yaml has no Role or ClusterRole %s", role)
				}
				for _, rule := range rules {
					if len(rule.ResourceNames) > 0 || len(rule.NonResourceURLs) > 0 {
						t.Errorf("role %s: unexpected rule %v", role, rule)
					}
					for _, g := range rule.APIGroups {
						for _, r := range rule.Resources {
							for _, v := range rule.Verbs {
								granted = append(granted, permission{g, r, v})
							}
						}
					}
				}
			}
			for _, p := range granted {
				if !needed[p] {
					t.Errorf("the roles grant %s, which no request of %s needs", p, sc.name)
				}
			}
		})
	}
}

// TestServiceAccountMayRunEverySubcommand checks the bindings of rbac.yaml themselves: the
// ServiceAccount may make every request of every subcommand, and none of the others.
func TestServiceAccountMayRunEverySubcommand(t *testing.T) {
	loadRBAC(t)
	var all []string
	seen := map[string]bool{}
	for _, sc := range subcommands {
		for _, r := range sc.requests {
			if !seen[r] {
				seen[r] = true
				all = append(all, r)
			}
		}
	}
	cfg := userConfig(t, serviceAccountUser, "system:serviceaccounts", serviceAccountGroup)
	checkRequests(t, cfg, all)
}

// TestEveryRoleIsBoundToTheServiceAccount checks that no role of rbac.yaml is left unbound
// and that every binding names the ServiceAccount and a role that exists.
func TestEveryRoleIsBoundToTheServiceAccount(t *testing.T) {
	objs := loadRBAC(t)
	wantSubjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "upgrade-helper", Namespace: systemNamespace}}
	bound := map[string]bool{}
	for _, b := range objs.roleBindings {
		if b.Namespace != systemNamespace {
			t.Errorf("RoleBinding %s/%s: want namespace %s", b.Namespace, b.Name, systemNamespace)
		}
		if _, ok := objs.roles[b.RoleRef.Name]; b.RoleRef.Kind != "Role" || !ok {
			t.Errorf("RoleBinding %s binds %s %s, not a Role of rbac.yaml", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		if diff := cmp.Diff(wantSubjects, b.Subjects); diff != "" {
			t.Errorf("RoleBinding %s subjects (-want +got):\n%s", b.Name, diff)
		}
		bound["Role/"+b.RoleRef.Name] = true
	}
	for _, b := range objs.clusterRoleBindings {
		if _, ok := objs.clusterRoles[b.RoleRef.Name]; b.RoleRef.Kind != "ClusterRole" || !ok {
			t.Errorf("ClusterRoleBinding %s binds %s %s, not a ClusterRole of rbac.yaml", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		if diff := cmp.Diff(wantSubjects, b.Subjects); diff != "" {
			t.Errorf("ClusterRoleBinding %s subjects (-want +got):\n%s", b.Name, diff)
		}
		bound["ClusterRole/"+b.RoleRef.Name] = true
	}
	for name, r := range objs.roles {
		if r.Namespace != systemNamespace {
			t.Errorf("Role %s/%s: want namespace %s", r.Namespace, name, systemNamespace)
		}
		if !bound["Role/"+name] {
			t.Errorf("Role %s is bound to nothing", name)
		}
	}
	for name := range objs.clusterRoles {
		if !bound["ClusterRole/"+name] {
			t.Errorf("ClusterRole %s is bound to nothing", name)
		}
	}
}
