package reliability

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
	"github.com/cloudweav/upgrade-helper/pkg/record"
)

// role is a Role (in the system namespace) or ClusterRole of deploy/rbac.yaml, by kind and name.
type role struct{ kind, name string }

// The roles each subcommand is bound to, as deploy/rbac.yaml binds them to the ServiceAccount.
var (
	versionGuardRoles = []role{{"Role", "upgrade-helper-version-guard"}}
	detectorRoles     = []role{{"ClusterRole", "upgrade-helper-detector"}}
	shutdownRoles     = []role{{"ClusterRole", "upgrade-helper-detector"}, {"ClusterRole", "upgrade-helper-detector-shutdown"}, {"Role", "upgrade-helper-detector-shutdown"}}
	restoreRoles      = []role{{"ClusterRole", "upgrade-helper-restore-vm"}, {"Role", "upgrade-helper-restore-vm"}}
)

// permission is one verb on one resource of one API group.
type permission struct{ group, resource, verb string }

// rbacFile returns the rules of every Role and ClusterRole of deploy/rbac.yaml.
func rbacFile(t *testing.T) map[role][]rbacv1.PolicyRule {
	t.Helper()
	f, err := os.Open(env.RepoRoot + "/deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	decoder := serializer.NewCodecFactory(kube.NewScheme()).UniversalDeserializer()
	rules := map[role][]rbacv1.PolicyRule{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("deploy/rbac.yaml: %v", err)
		}
		switch o := obj.(type) {
		case *rbacv1.Role:
			rules[role{"Role", o.Name}] = o.Rules
		case *rbacv1.ClusterRole:
			rules[role{"ClusterRole", o.Name}] = o.Rules
		}
	}
	return rules
}

var userSeq atomic.Int32

// userWith creates a user bound to copies of roles (from deploy/rbac.yaml) less the
// permission without, and returns a kubeconfig that talks to the stand-in as that user with
// its own client certificate. The roles and bindings are deleted at the end of the test.
func userWith(t *testing.T, roles []role, without *permission) string {
	t.Helper()
	user := fmt.Sprintf("reliability-%d", userSeq.Add(1))
	cfg, err := env.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	grant(t, user, roles, without)
	return userKubeconfig(t, cfg)
}

// grant binds user to copies of roles (from deploy/rbac.yaml) less the permission without,
// and waits until the API server's authorizer sees the grants.
func grant(t *testing.T, user string, roles []role, without *permission) {
	t.Helper()
	ctx := context.Background()
	file := rbacFile(t)
	prefix := strings.NewReplacer(":", "-").Replace(user)
	removed := false
	var check *authorizationv1.ResourceAttributes
	for _, r := range roles {
		rules, ok := file[r]
		if !ok {
			t.Fatalf("deploy/rbac.yaml has no %s %s", r.kind, r.name)
		}
		var kept []rbacv1.PolicyRule
		for _, rule := range rules {
			rule = *rule.DeepCopy()
			if without != nil && slices.Contains(rule.APIGroups, without.group) && slices.Contains(rule.Resources, without.resource) && slices.Contains(rule.Verbs, without.verb) {
				removed = true
				if len(rule.Resources) > 1 {
					// Keep the verb for the rule's other resources.
					other := *rule.DeepCopy()
					other.Resources = slices.DeleteFunc(other.Resources, func(s string) bool { return s == without.resource })
					kept = append(kept, other)
					rule.Resources = []string{without.resource}
				}
				rule.Verbs = slices.DeleteFunc(rule.Verbs, func(s string) bool { return s == without.verb })
				if len(rule.Verbs) == 0 {
					continue
				}
			}
			kept = append(kept, rule)
			if check == nil {
				check = &authorizationv1.ResourceAttributes{Group: rule.APIGroups[0], Resource: rule.Resources[0], Verb: rule.Verbs[0]}
				if r.kind == "Role" {
					check.Namespace = systemNS
				}
			}
		}
		name := prefix + "-" + r.name
		meta := metav1.ObjectMeta{Name: name}
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: r.kind, Name: name}
		subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
		var objs []client.Object
		if r.kind == "Role" {
			meta.Namespace = systemNS
			objs = []client.Object{
				&rbacv1.Role{ObjectMeta: meta, Rules: kept},
				&rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects},
			}
		} else {
			objs = []client.Object{
				&rbacv1.ClusterRole{ObjectMeta: meta, Rules: kept},
				&rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects},
			}
		}
		for _, obj := range objs {
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
		}
	}
	if without != nil && !removed {
		t.Fatalf("no role of %v grants %v: the test removes nothing", roles, *without)
	}
	if check == nil {
		return // nothing granted, nothing to wait for
	}
	// RBAC reaches the API server's authorizer through a cache: wait until it sees the grants.
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: check}}
		if err := env.Client.Create(ctx, review); err != nil {
			return false, err
		}
		return review.Status.Allowed, nil
	})
	if err != nil {
		t.Fatalf("the grants of %s did not take effect: %v", user, err)
	}
}

// TestLeastPrivilege runs each subcommand as a user bound only to its roles from
// deploy/rbac.yaml: it works. Then, for each permission the subcommand needs, as a user bound
// to the same roles less that permission: it fails with exit 3 and the API server's own
// refusal, which names the verb and the resource, and says what to check.
func TestLeastPrivilege(t *testing.T) {
	guard := []string{"version-guard", exampleUpgrade}
	detect := []string{"vm-live-migrate-detector", sourceNode}
	shutdown := []string{"vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade}
	restore := []string{"restore-vm", "--node", sourceNode, "--upgrade", exampleUpgrade, "--health-backoff", "20ms", "--timeout", "30s"}

	t.Run("every subcommand works with its roles", func(t *testing.T) {
		loadExample(t)
		for _, run := range []struct {
			args  []string
			roles []role
		}{{guard, versionGuardRoles}, {detect, detectorRoles}, {shutdown, shutdownRoles}, {restore, restoreRoles}} {
			res := runCLI(t, append(run.args, "--kubeconfig", userWith(t, run.roles, nil))...)
			if res.code != exitstatus.OK {
				t.Fatalf("%s: %v", run.args[0], res)
			}
			if strings.Contains(res.stderr, "forbidden") {
				t.Errorf("%s: a request was refused:\n%s", run.args[0], res.stderr)
			}
			if run.args[0] == "vm-live-migrate-detector" && len(run.args) > 2 {
				assertRecord(t, node1Stopped)
				if still := running(t, node1Stopped); len(still) > 0 {
					t.Errorf("still running after the shutdown: %v", still)
				}
			}
		}
		if got := running(t, node1Stopped); len(got) != len(node1Stopped) {
			t.Errorf("running after the restore: %v, want %v", got, node1Stopped)
		}
	})

	tests := []struct {
		args    []string
		roles   []role
		without permission
		// setup runs as the admin first.
		setup func(t *testing.T)
		// says is what the refusal says, besides "check the RBAC role".
		says string
		// stopped is whether node-1's VMs end up stopped.
		stopped bool
	}{
		{args: guard, roles: versionGuardRoles, without: permission{"cloudweavhci.io", "upgrades", "get"}, says: `cannot get resource "upgrades"`},
		{args: detect, roles: detectorRoles, without: permission{"", "nodes", "list"}, says: `cannot list resource "nodes"`},
		{args: detect, roles: detectorRoles, without: permission{"", "pods", "list"}, says: `cannot list resource "pods"`},
		{args: detect, roles: detectorRoles, without: permission{"kubevirt.io", "virtualmachineinstances", "list"}, says: `cannot list resource "virtualmachineinstances"`},
		{args: detect, roles: detectorRoles, without: permission{"kubevirt.io", "virtualmachines", "list"}, says: `cannot list resource "virtualmachines"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"subresources.kubevirt.io", "virtualmachines/stop", "update"}, says: `cannot update resource "virtualmachines/stop"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"cloudweavhci.io", "upgrades", "get"}, says: `cannot get resource "upgrades"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"", "configmaps", "get"}, says: `cannot get resource "configmaps"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"", "configmaps", "create"}, says: `cannot create resource "configmaps"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"", "configmaps", "update"}, setup: recordOtherNode, says: `cannot update resource "configmaps"`},
		{args: shutdown, roles: shutdownRoles, without: permission{"", "events", "create"}, says: `cannot create resource "events"`, stopped: true},
		{args: append(shutdown, "--wait", "--timeout", "20s"), roles: shutdownRoles, without: permission{"kubevirt.io", "virtualmachineinstances", "get"}, says: `cannot get resource "virtualmachineinstances"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"", "nodes", "get"}, setup: shutdownNode1, says: `cannot get resource "nodes"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"subresources.kubevirt.io", "virtualmachines/start", "update"}, setup: shutdownNode1, says: `cannot update resource "virtualmachines/start"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"subresources.kubevirt.io", "healthz", "list"}, setup: shutdownNode1, says: `cannot list resource "healthz"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"", "configmaps", "get"}, setup: shutdownNode1, says: `cannot get resource "configmaps"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"cloudweavhci.io", "upgrades", "get"}, setup: shutdownNode1, says: `cannot get resource "upgrades"`, stopped: true},
		{args: restore, roles: restoreRoles, without: permission{"", "events", "create"}, setup: shutdownNode1, says: `cannot create resource "events"`},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s without %s %s", tt.args[0], tt.without.verb, tt.without.resource)
		if slices.Contains(tt.args, "--shutdown") {
			name = fmt.Sprintf("%s --shutdown without %s %s", tt.args[0], tt.without.verb, tt.without.resource)
		}
		t.Run(name, func(t *testing.T) {
			loadExample(t)
			if tt.setup != nil {
				tt.setup(t)
			}
			kubeconfig := userWith(t, tt.roles, &tt.without)
			res := runCLI(t, append(tt.args, "--kubeconfig", kubeconfig)...)
			if res.code != exitstatus.Cluster {
				t.Errorf("exit %d, want 3: %v", res.code, res)
			}
			wantContains(t, "error", res.message(), tt.says, "check the RBAC role")
			stopped := len(running(t, node1Stopped)) == 0
			if stopped != tt.stopped {
				t.Errorf("node-1's VMs stopped: %t, want %t", stopped, tt.stopped)
			}
			if stopped {
				assertRecord(t, node1Stopped)
			}
		})
	}
}

// recordOtherNode writes node-2's entry in the restore record first, so that node-1's run
// updates the record instead of creating it.
func recordOtherNode(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var up cloudweavv1beta1.Upgrade
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: systemNS, Name: exampleUpgrade}, &up); err != nil {
		t.Fatal(err)
	}
	if _, err := (record.Store{Kube: env.Kube}).Add(ctx, &up, "node-2", []string{"prod/gitlab"}); err != nil {
		t.Fatal(err)
	}
}
