package standin

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/cloudweav/upgrade-helper/pkg/kube"
)

// SubresourceGroup is KubeVirt's subresource API group, the one the stand-in serves.
const SubresourceGroup = "subresources.kubevirt.io"

// Options tune a stand-in.
type Options struct {
	// Addr is the address to listen on; "127.0.0.1:0" (a free port) when empty.
	Addr string
	// AsyncDelay, when positive, makes virt-controller's part of a stop or start (the VMI going
	// away, a new VMI appearing) happen in the background that long after the subresource
	// call was answered, instead of before the answer.
	AsyncDelay time.Duration
}

// Server is a running stand-in: an HTTPS server on 127.0.0.1 in front of kube-apiserver.
type Server struct {
	// URL is the stand-in's base URL, https://127.0.0.1:PORT.
	URL string

	upstream *url.URL
	qps      float32
	burst    int
	clients  *kube.Clients
	srv      *httptest.Server
	caPEM    []byte
	proxy    *httputil.ReverseProxy
	admin    http.RoundTripper // the upstream config's own credentials
	bare     http.RoundTripper // trusts the upstream CA, carries no credentials

	log    requestLog
	faults faultSet

	mu         sync.Mutex
	asyncDelay time.Duration
	healthy    bool
	version    any // kube-apiserver's /version, as virt-api caches it
	lastNode   map[string]string
	lastPod    map[string]corev1.ResourceList
	lastConds  map[string][]kubevirtv1.VirtualMachineInstanceCondition
	vmLocks    map[string]*sync.Mutex
	pending    sync.WaitGroup
	closed     bool
	asyncErrs  []error
	kick       chan struct{} // closed by RunPending to run background work at once
	controlCtx context.Context
	cancel     context.CancelFunc
}

// Start starts a stand-in in front of the API server that upstream points at, with default
// Options. upstream's credentials are the stand-in's own: it must be allowed to impersonate
// (the envtest admin is).
func Start(upstream *rest.Config) (*Server, error) {
	return StartWithOptions(upstream, Options{})
}

// StartWithOptions starts a stand-in with opts.
func StartWithOptions(upstream *rest.Config, opts Options) (*Server, error) {
	base, _, err := rest.DefaultServerUrlFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("read upstream address: %w", err)
	}
	admin, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("build upstream transport: %w", err)
	}
	bare, err := rest.TransportFor(&rest.Config{Host: upstream.Host, TLSClientConfig: rest.TLSClientConfig{
		Insecure: upstream.Insecure, ServerName: upstream.ServerName,
		CAFile: upstream.CAFile, CAData: upstream.CAData,
	}})
	if err != nil {
		return nil, fmt.Errorf("build upstream transport: %w", err)
	}
	clients, err := kube.NewClients(upstream)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		upstream: base, qps: upstream.QPS, burst: upstream.Burst, clients: clients, admin: admin, bare: bare,
		asyncDelay: opts.AsyncDelay, healthy: true,
		lastNode: map[string]string{}, lastPod: map[string]corev1.ResourceList{},
		lastConds: map[string][]kubevirtv1.VirtualMachineInstanceCondition{}, vmLocks: map[string]*sync.Mutex{},
		kick: make(chan struct{}), controlCtx: ctx, cancel: cancel,
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite:       s.rewrite,
		Transport:     roundTripperFunc(s.forward),
		FlushInterval: -1,
		ErrorHandler:  s.proxyError,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	return s, nil
}

// Close stops the server, waits for background virt-controller work and returns its first
// error, if any.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.cancel()
	s.pending.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.asyncErrs) > 0 {
		return s.asyncErrs[0]
	}
	return nil
}

// RESTConfig returns a config that talks to the stand-in with no credentials of its own, so
// that the stand-in forwards its requests as itself (the upstream admin). Its client-side
// rate limit (QPS, Burst) is the upstream config's.
func (s *Server) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            s.URL,
		QPS:             s.qps,
		Burst:           s.burst,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), s.caPEM...)},
	}
}

// RESTConfigFor returns a config whose requests the stand-in forwards impersonating user in
// groups: the API server then authorizes them as that user (RBAC applies).
func (s *Server) RESTConfigFor(user string, groups ...string) *rest.Config {
	cfg := s.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string(nil), groups...)}
	return cfg
}

// Via returns a copy of cfg, a client config for the upstream API server (for example from
// testenv's AddUser), that talks to the stand-in instead with cfg's own credentials: a
// client certificate's user and groups are impersonated, a bearer token is passed on.
func (s *Server) Via(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Host = s.URL
	out.APIPath = ""
	out.TLSClientConfig.Insecure = false
	out.TLSClientConfig.ServerName = ""
	out.TLSClientConfig.CAFile = ""
	out.TLSClientConfig.CAData = append([]byte(nil), s.caPEM...)
	return out
}

// CAData returns the PEM certificate clients must trust to talk to the stand-in.
func (s *Server) CAData() []byte { return append([]byte(nil), s.caPEM...) }

// SetHealthy makes the subresource API's healthz report healthy or not.
func (s *Server) SetHealthy(healthy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy = healthy
}

// SetAsyncDelay changes Options.AsyncDelay.
func (s *Server) SetAsyncDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asyncDelay = d
}

// WaitIdle waits until background virt-controller work (Options.AsyncDelay) is done.
func (s *Server) WaitIdle() {
	s.pending.Wait()
}

// RunPending makes background virt-controller work that is waiting out its AsyncDelay run
// now, and waits for it: a test can look at the state between a reply and the controller's
// reaction without depending on time.
func (s *Server) RunPending() {
	s.mu.Lock()
	close(s.kick)
	s.kick = make(chan struct{})
	s.mu.Unlock()
	s.pending.Wait()
}

// AsyncErrors returns the errors background virt-controller work met.
func (s *Server) AsyncErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.asyncErrs...)
}

type ctxKey int

const identityKey ctxKey = 0

// identity is who a request is forwarded as.
type identity struct {
	// user is the impersonated user or certificate CN; "bearer" for a token; "" for admin.
	user   string
	groups []string
	// token is true when the request carries its own Authorization header.
	token bool
	// cert is true when user and groups come from a client certificate.
	cert bool
}

func (id identity) admin() bool { return id.user == "" }

// identify decides who to forward r as: the Impersonate-User the client asked for (the
// stand-in impersonates for it), else the client certificate's subject, else the client's
// own bearer token, else the stand-in's own identity.
func identify(r *http.Request) identity {
	if u := r.Header.Get("Impersonate-User"); u != "" {
		return identity{user: u, groups: r.Header.Values("Impersonate-Group")}
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		subj := r.TLS.PeerCertificates[0].Subject
		return identity{user: subj.CommonName, groups: subj.Organization, cert: true}
	}
	if strings.TrimSpace(r.Header.Get("Authorization")) != "" {
		return identity{user: "bearer", token: true}
	}
	return identity{}
}

// setHeaders makes h carry id to the API server.
func (id identity) setHeaders(h http.Header) {
	switch {
	case id.cert:
		for k := range h {
			if strings.HasPrefix(http.CanonicalHeaderKey(k), "Impersonate-") {
				h.Del(k)
			}
		}
		h.Del("Authorization")
		h.Set("Impersonate-User", id.user)
		for _, g := range id.groups {
			h.Add("Impersonate-Group", g)
		}
	case id.token:
	default:
		h.Del("Authorization")
	}
}

func (s *Server) transportFor(id identity) http.RoundTripper {
	if id.token {
		return s.bare
	}
	return s.admin
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *Server) forward(r *http.Request) (*http.Response, error) {
	id, _ := r.Context().Value(identityKey).(identity)
	return s.transportFor(id).RoundTrip(r)
}

func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = s.upstream.Scheme
	pr.Out.URL.Host = s.upstream.Host
	pr.Out.Host = s.upstream.Host
	id, _ := pr.In.Context().Value(identityKey).(identity)
	id.setHeaders(pr.Out.Header)
}

// proxyError handles an upstream that cannot be reached: a client of a dead API server sees
// its connection fail, so the stand-in drops the client's connection.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	if rw, ok := w.(*recordingWriter); ok {
		rw.drop()
		return
	}
	http.Error(w, err.Error(), http.StatusBadGateway)
}

// serveHTTP logs the request, applies faults, then serves or forwards it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := parseRequest(r.Method, r.URL)
	id := identify(r)
	rec := s.log.begin(Request{
		Time: start, Method: r.Method, Verb: info.Verb, Path: r.URL.Path, Query: r.URL.RawQuery,
		Group: info.Group, Version: info.Version, Namespace: info.Namespace, Resource: info.Resource,
		Name: info.Name, Subresource: info.Subresource, User: id.user, Served: info.Group == SubresourceGroup,
	})
	rw := &recordingWriter{ResponseWriter: w, log: &s.log, rec: rec}
	defer func() {
		s.log.update(rec, func(q *Request) { q.Done, q.Duration = true, time.Since(start) })
	}()

	faultID, fault := s.faults.take(*rec)
	if fault != nil {
		s.log.update(rec, func(q *Request) { q.Fault = faultID })
		if !sleepCtx(r.Context(), fault.Delay) {
			return
		}
		switch {
		case fault.Drop && fault.DropAfterBytes <= 0:
			rw.drop()
			return
		case fault.Drop:
			rw.dropAfter = fault.DropAfterBytes
		case fault.Status != 0:
			if fault.RetryAfter != "" {
				rw.Header().Set("Retry-After", fault.RetryAfter)
			}
			if fault.Body != nil {
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(fault.Status)
				_, _ = rw.Write(fault.Body)
				return
			}
			writeJSON(rw, fault.Status, faultStatus(fault, *rec))
			return
		}
	}

	if info.Group == SubresourceGroup {
		s.serveSubresource(rw, r, info, id)
		return
	}
	ctx := context.WithValue(r.Context(), identityKey, id)
	defer func() {
		// The reverse proxy aborts with http.ErrAbortHandler when it cannot finish a body
		// (for example after an injected cut); the connection is gone either way.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			if r.Context().Err() == nil {
				// The upstream broke off; a client that went away itself is no drop.
				rw.drop()
			}
		}
	}()
	s.proxy.ServeHTTP(rw, r.WithContext(ctx))
}
