package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// serveSubresource answers a request for the subresources.kubevirt.io group, as kube-apiserver
// (authorization) and virt-api (the rest) would.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, info requestInfo, id identity) {
	ctx := r.Context()
	switch {
	case info.Version == "" && info.Resource == "":
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, http.StatusOK, apiGroup())
	case info.Resource == "" && knownVersion(info.Version):
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, http.StatusOK, apiResourceList(info.Version))
	case knownVersion(info.Version) && info.Resource == "healthz" && info.Namespace == "" && info.Name == "":
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		if st := s.authorize(ctx, r, id, info); st != nil {
			writeStatus(w, st)
			return
		}
		s.healthz(ctx, w)
	case knownVersion(info.Version) && info.Resource == "virtualmachines" && info.Namespace != "" && info.Name != "" &&
		(info.Subresource == "stop" || info.Subresource == "start"):
		if !allowMethod(w, r, http.MethodPut) {
			return
		}
		if st := s.authorize(ctx, r, id, info); st != nil {
			writeStatus(w, st)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeStatus(w, &apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err)).ErrStatus)
			return
		}
		var st *apierrors.StatusError
		if info.Subresource == "stop" {
			st = s.stop(ctx, info.Namespace, info.Name, body)
		} else {
			st = s.start(ctx, info.Namespace, info.Name, body)
		}
		if st != nil {
			writeStatus(w, &st.ErrStatus)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		writeStatus(w, &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
			Message: "the server could not find the requested resource",
		})
	}
}

func knownVersion(v string) bool { return v == "v1" || v == "v1alpha3" }

func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	writeStatus(w, &apierrors.NewMethodNotSupported(schema.GroupResource{Group: SubresourceGroup}, r.Method).ErrStatus)
	return false
}

func apiGroup() *metav1.APIGroup {
	v := metav1.GroupVersionForDiscovery{GroupVersion: SubresourceGroup + "/v1", Version: "v1"}
	return &metav1.APIGroup{
		TypeMeta:         metav1.TypeMeta{APIVersion: "v1", Kind: "APIGroup"},
		Name:             SubresourceGroup,
		Versions:         []metav1.GroupVersionForDiscovery{v},
		PreferredVersion: v,
	}
}

func apiResourceList(version string) *metav1.APIResourceList {
	res := func(name string, namespaced bool, verbs ...string) metav1.APIResource {
		return metav1.APIResource{Name: name, Namespaced: namespaced, Verbs: verbs}
	}
	return &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{APIVersion: "v1", Kind: "APIResourceList"},
		GroupVersion: SubresourceGroup + "/" + version,
		APIResources: []metav1.APIResource{
			res("virtualmachines/start", true, "update"),
			res("virtualmachines/stop", true, "update"),
			res("healthz", false, "get", "list"),
		},
	}
}

// healthz answers virt-api's health check: 200 with the API server's version when healthy,
// 500 with {"apiserver":{"connectivity":"failed",...}} when not (pkg/healthz/healthz.go).
func (s *Server) healthz(ctx context.Context, w http.ResponseWriter) {
	s.mu.Lock()
	healthy, version := s.healthy, s.version
	s.mu.Unlock()
	unhealthy := func(err error) {
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"apiserver":               map[string]any{"connectivity": "failed", "error": err.Error()},
			"config-resource-version": "",
		})
	}
	if !healthy {
		unhealthy(errors.New("virt-api is not ready (stand-in set unhealthy)"))
		return
	}
	if version == nil {
		raw, err := s.clients.Kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
		if err == nil {
			err = json.Unmarshal(raw, &version)
		}
		if err != nil {
			unhealthy(err)
			return
		}
		s.mu.Lock()
		s.version = version
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"apiserver":               map[string]any{"connectivity": "ok", "version": version},
		"config-resource-version": "",
	})
}

// readVM reads the VM and its VMI (nil when there is none) as virt-api does.
func (s *Server) readVM(ctx context.Context, ns, name string) (*kubevirtv1.VirtualMachine, *kubevirtv1.VirtualMachineInstance, *apierrors.StatusError) {
	vm := &kubevirtv1.VirtualMachine{}
	if err := s.clients.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, apierrors.NewNotFound(vmResource, name)
		}
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("unable to retrieve vm [%s]: %v", name, err))
	}
	vmi, err := s.getVMI(ctx, ns, name)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(err)
	}
	return vm, vmi, nil
}

func (s *Server) getVMI(ctx context.Context, ns, name string) (*kubevirtv1.VirtualMachineInstance, error) {
	vmi := &kubevirtv1.VirtualMachineInstance{}
	if err := s.clients.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vmi); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return vmi, nil
}

func decodeBody(body []byte, into any) *apierrors.StatusError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("Can not unmarshal Request body to struct, error: %s", err))
	}
	return nil
}

func dryRun(opts []string) bool { return slices.Contains(opts, metav1.DryRunAll) }

// stop is virt-api's StopVMRequestHandler followed by virt-controller's reaction.
func (s *Server) stop(ctx context.Context, ns, name string, body []byte) *apierrors.StatusError {
	opts := &kubevirtv1.StopOptions{}
	if st := decodeBody(body, opts); st != nil {
		return st
	}
	unlock := s.lockVM(ns, name)
	defer unlock()
	vm, vmi, st := s.readVM(ctx, ns, name)
	if st != nil {
		return st
	}
	if vmi != nil && !vmi.IsFinal() && opts.GracePeriod != nil && !dryRun(opts.DryRun) {
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"terminationGracePeriodSeconds": *opts.GracePeriod}})
		if err := s.clients.Client.Patch(ctx, vmi.DeepCopy(), client.RawPatch(types.MergePatchType, patch)); err != nil {
			return apierrors.NewInternalError(err)
		}
	}
	action, st := decideStop(vm, vmi, opts)
	if st != nil {
		return st
	}
	return s.apply(ctx, vm, action, dryRun(opts.DryRun))
}

// start is virt-api's StartVMRequestHandler followed by virt-controller's reaction.
func (s *Server) start(ctx context.Context, ns, name string, body []byte) *apierrors.StatusError {
	unlock := s.lockVM(ns, name)
	defer unlock()
	vm, vmi, st := s.readVM(ctx, ns, name)
	if st != nil {
		return st
	}
	action, st := decideStart(vm, vmi)
	if st != nil {
		return st
	}
	opts := &kubevirtv1.StartOptions{}
	if st := decodeBody(body, opts); st != nil {
		return st
	}
	return s.apply(ctx, vm, action, dryRun(opts.DryRun))
}

// apply writes virt-api's change and then plays virt-controller (now, or later with
// Options.AsyncDelay).
func (s *Server) apply(ctx context.Context, vm *kubevirtv1.VirtualMachine, action vmAction, dry bool) *apierrors.StatusError {
	if dry {
		return nil
	}
	var err error
	switch {
	case action.runStrategy != nil:
		var patch []byte
		if patch, err = runStrategyPatch(vm, *action.runStrategy); err == nil {
			err = s.clients.Client.Patch(ctx, vm, client.RawPatch(types.JSONPatchType, patch))
		}
	case len(action.changes) > 0:
		var patch []byte
		if patch, err = changeRequestPatch(vm, action.changes); err == nil {
			err = s.clients.Client.Status().Patch(ctx, vm, client.RawPatch(types.JSONPatchType, patch))
		}
	}
	if err != nil {
		if apierrors.IsInvalid(err) || strings.Contains(err.Error(), "test operation does not apply") ||
			strings.Contains(err.Error(), "test failed") {
			return apierrors.NewConflict(vmResource, vm.Name, err)
		}
		return apierrors.NewInternalError(err)
	}
	if err := s.afterAccepted(ctx, vm.Namespace, vm.Name); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("stand-in virt-controller: %w", err))
	}
	return nil
}

// authorize checks, as kube-apiserver does before it proxies to virt-api, that the caller may
// use the subresource: a SelfSubjectAccessReview sent upstream as the caller. It returns nil
// when allowed, else the Status to answer with.
func (s *Server) authorize(ctx context.Context, r *http.Request, id identity, info requestInfo) *metav1.Status {
	if id.admin() {
		return nil
	}
	attrs := authorizationv1.ResourceAttributes{
		Namespace: info.Namespace, Verb: info.Verb, Group: info.Group, Version: info.Version,
		Resource: info.Resource, Subresource: info.Subresource, Name: info.Name,
	}
	review := &authorizationv1.SelfSubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"},
		Spec:     authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
	}
	if st := s.upstreamAs(ctx, r, id, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review); st != nil {
		return st
	}
	if review.Status.Allowed {
		return nil
	}
	user := id.user
	who := &authenticationv1.SelfSubjectReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"},
	}
	if st := s.upstreamAs(ctx, r, id, "/apis/authentication.k8s.io/v1/selfsubjectreviews", who); st == nil {
		user = who.Status.UserInfo.Username
	}
	resource := info.Resource
	if info.Subresource != "" {
		resource += "/" + info.Subresource
	}
	msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q", user, info.Verb, resource, info.Group)
	if info.Namespace != "" {
		msg += fmt.Sprintf(" in the namespace %q", info.Namespace)
	} else {
		msg += " at the cluster scope"
	}
	if review.Status.Reason != "" {
		msg += ": " + review.Status.Reason
	}
	return &apierrors.NewForbidden(schema.GroupResource{Group: info.Group, Resource: info.Resource}, info.Name, errors.New(msg)).ErrStatus
}

// upstreamAs creates obj (a review) on the API server as the caller and decodes the answer
// into obj. A failure comes back as the Status to answer the caller with.
func (s *Server) upstreamAs(ctx context.Context, in *http.Request, id identity, path string, obj any) *metav1.Status {
	body, err := json.Marshal(obj)
	if err != nil {
		return &apierrors.NewInternalError(err).ErrStatus
	}
	u := *s.upstream
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &apierrors.NewInternalError(err).ErrStatus
	}
	for k, v := range in.Header {
		if k == "Authorization" || strings.HasPrefix(k, "Impersonate-") {
			req.Header[k] = append([]string(nil), v...)
		}
	}
	id.setHeaders(req.Header)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.transportFor(id).RoundTrip(req)
	if err != nil {
		return &apierrors.NewInternalError(err).ErrStatus
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return &apierrors.NewInternalError(err).ErrStatus
	}
	if resp.StatusCode >= 300 {
		st := &metav1.Status{}
		if json.Unmarshal(raw, st) != nil || st.Kind != "Status" {
			st = &metav1.Status{Status: metav1.StatusFailure, Code: int32(resp.StatusCode),
				Reason: reasonForCode(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
		}
		return st
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return &apierrors.NewInternalError(err).ErrStatus
	}
	return nil
}

// writeStatus writes st as kube-apiserver does.
func writeStatus(w http.ResponseWriter, st *metav1.Status) {
	out := st.DeepCopy()
	out.APIVersion, out.Kind = "v1", "Status"
	if out.Status == "" {
		out.Status = metav1.StatusFailure
	}
	code := int(out.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, out)
}

func writeJSON(w http.ResponseWriter, code int, obj any) {
	body, err := json.Marshal(obj)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
