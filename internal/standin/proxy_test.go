package standin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/internal/standin"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
)

func TestForwardsOrdinaryCalls(t *testing.T) {
	fresh(t)
	ns := testNS("proxy")
	ctx := context.Background()
	cs := clientset(t)
	if err := env.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm"}, Data: map[string]string{"a": "1"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if got, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || !ok || got.Name != "cm" {
			t.Errorf("watch event = %s %T, want ADDED of the configmap", ev.Type, ev.Object)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event through the proxy")
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cm.Data, got.Data); diff != "" {
		t.Errorf("configmap read back through the proxy (-want +got):\n%s", diff)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	_, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("get after delete = %v, want the API server's 404", err)
	}
	// The watch is logged once it ends.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return srv.Counts()["watch configmaps 200"] == 1, nil
	}); err != nil {
		t.Errorf("counts = %v, want the finished watch", srv.Counts())
	}
	want := map[string]int{"watch configmaps 200": 1, "create configmaps 201": 1, "get configmaps 200": 1,
		"delete configmaps 200": 1, "get configmaps 404": 1}
	if diff := cmp.Diff(want, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestRequestLog(t *testing.T) {
	fresh(t)
	ns := testNS("counts")
	ctx := context.Background()
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyAlways, firstFitNode)
	cs := clientset(t)
	kv := kubevirtClient(t)
	for i := 0; i < 2; i++ {
		if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get missing pod = %v", err)
	}
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"list nodes 200": 2, "get pods 404": 1, "update virtualmachines/stop 202": 1,
		"list healthz 200": 1, "get /version 200": 1}
	if diff := cmp.Diff(want, srv.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	type parsed struct {
		Seq                                                  int
		Verb, Group, Version, Namespace, Resource, Name, Sub string
		Served                                               bool
	}
	var got []parsed
	for _, r := range srv.Requests() {
		got = append(got, parsed{r.Seq, r.Verb, r.Group, r.Version, r.Namespace, r.Resource, r.Name, r.Subresource, r.Served})
	}
	wantParsed := []parsed{
		{0, "list", "", "v1", "", "nodes", "", "", false},
		{1, "list", "", "v1", "", "nodes", "", "", false},
		{2, "get", "", "v1", ns, "pods", "missing", "", false},
		{3, "update", standin.SubresourceGroup, "v1", ns, "virtualmachines", "vm", "stop", true},
		{4, "list", standin.SubresourceGroup, "v1", "", "healthz", "", "", true},
		{5, "get", "", "", "", "", "", "", false},
	}
	if diff := cmp.Diff(wantParsed, got); diff != "" {
		t.Errorf("parsed requests (-want +got):\n%s", diff)
	}
	srv.ResetLog()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("requests after ResetLog = %d", n)
	}
}

func TestDiscoveryOfTheSubresourceGroup(t *testing.T) {
	fresh(t)
	resources, err := clientset(t).Discovery().ServerResourcesForGroupVersion(standin.SubresourceGroup + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range resources.APIResources {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"virtualmachines/start", "virtualmachines/stop", "healthz"}, names); diff != "" {
		t.Errorf("served resources (-want +got):\n%s", diff)
	}
	resp, _, err := rawGet(context.Background(), rawClient(t), "/apis/subresources.kubevirt.io/v1/namespaces/x/virtualmachines/vm/restart")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unmodelled subresource = %v %v, want 404", resp, err)
	}
}

// waitAllowed waits until RBAC lets cs list pods in ns (bindings take effect asynchronously).
func waitAllowed(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the binding never took effect: %v", err)
	}
}

// bindOperator gives subject list on pods and update on virtualmachines/stop in ns.
func bindOperator(t *testing.T, ns string, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vm-stopper"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{standin.SubresourceGroup}, Resources: []string{"virtualmachines/stop"}, Verbs: []string{"update"}},
		},
	}
	if _, err := env.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "vm-stopper-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "vm-stopper"},
		Subjects:   []rbacv1.Subject{subject},
	}
	if _, err := env.Kube.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkRBAC shows that cfg's user (named user in Forbidden messages) is refused everything
// before subject is bound, and allowed exactly the role after.
func checkRBAC(t *testing.T, cfg *rest.Config, ns, user string, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	makeVM(t, ns, "vm", kubevirtv1.RunStrategyAlways, firstFitNode)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := kubevirt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "`+user+`" cannot list resource "pods"`) {
		t.Errorf("list pods without a role = %v, want the API server's 403 for %s", err, user)
	}
	err = kv.Stop(ctx, ns, "vm")
	wantMsg := `virtualmachines.subresources.kubevirt.io "vm" is forbidden: User "` + user +
		`" cannot update resource "virtualmachines/stop" in API group "subresources.kubevirt.io" in the namespace "` + ns + `"`
	if !apierrors.IsForbidden(err) || err.Error() != wantMsg {
		t.Errorf("stop without a role = %v, want %q", err, wantMsg)
	}
	err = kv.Healthz(ctx)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `cannot list resource "healthz" in API group "subresources.kubevirt.io" at the cluster scope`) {
		t.Errorf("healthz without a role = %v, want 403", err)
	}
	if diff := cmp.Diff(runningOn(kubevirtv1.RunStrategyAlways, firstFitNode), stateOf(t, ns, "vm")); diff != "" {
		t.Errorf("after a forbidden stop (-want +got):\n%s", diff)
	}

	bindOperator(t, ns, subject)
	waitAllowed(t, cs, ns)
	if err := kv.Stop(ctx, ns, "vm"); err != nil {
		t.Errorf("stop with the role: %v", err)
	}
	if err := kv.Start(ctx, ns, "vm"); !apierrors.IsForbidden(err) {
		t.Errorf("start with a role that only stops = %v, want 403", err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list configmaps with a role that only lists pods = %v, want 403", err)
	}
}

func TestImpersonatedUser(t *testing.T) {
	fresh(t)
	ns := testNS("rbac-impersonated")
	checkRBAC(t, srv.RESTConfigFor("operator", "ops"), ns, "operator",
		rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "operator"})
	for _, r := range srv.Requests() {
		if r.User != "operator" {
			t.Errorf("request %s %s forwarded as %q, want operator", r.Method, r.Path, r.User)
		}
	}
}

func TestClientCertificateUser(t *testing.T) {
	fresh(t)
	ns := testNS("rbac-cert")
	cfg, err := env.AddUser("cert-operator", "cert-ops")
	if err != nil {
		t.Fatal(err)
	}
	checkRBAC(t, srv.Via(cfg), ns, "cert-operator",
		rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "cert-ops"})
}

func TestBearerTokenUser(t *testing.T) {
	fresh(t)
	ns := testNS("rbac-token")
	ctx := context.Background()
	if err := env.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "robot"}}
	if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := env.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.Via(&rest.Config{Host: env.Config.Host, BearerToken: tok.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}})
	checkRBAC(t, cfg, ns, "system:serviceaccount:"+ns+":robot",
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "robot"})

	bad := srv.Via(&rest.Config{Host: env.Config.Host, BearerToken: "not-a-token"})
	cs, err := kubernetes.NewForConfig(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("list with a bad token = %v, want 401", err)
	}
	kv, err := kubevirt.New(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Stop(ctx, ns, "vm"); !apierrors.IsUnauthorized(err) {
		t.Errorf("stop with a bad token = %v, want 401", err)
	}
}
