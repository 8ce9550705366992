package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

// NewScheme returns a scheme with the core, KubeVirt and Cloudweav types.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kubevirtv1.AddToScheme(scheme))
	utilruntime.Must(cloudweavv1beta1.AddToScheme(scheme))
	return scheme
}

// Clients are the clients of one cluster.
type Clients struct {
	// Config is the REST configuration the clients were built from; the KubeVirt subresource
	// client uses it too.
	Config *rest.Config
	// Kube is client-go's clientset for core objects.
	Kube kubernetes.Interface
	// Client reads and writes KubeVirt and Cloudweav objects (and core ones) without a cache.
	Client client.Client
}

// NewClients builds the clients of the cluster that config points at. It contacts no server.
func NewClients(config *rest.Config) (*Clients, error) {
	config = rest.CopyConfig(config)
	if config.UserAgent == "" {
		config.UserAgent = "upgrade-helper"
	}
	// A run makes a few dozen requests at most, at a burst when it lists pages or stops VMs in
	// parallel; client-go's default of 5 per second would make it wait for no reason. The API
	// server's own priority and fairness still applies.
	if config.QPS == 0 {
		config.QPS = 50
	}
	if config.Burst == 0 {
		config.Burst = 100
	}
	// One HTTP client (one transport, one connection pool) serves both clients.
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, fmt.Errorf("build http client: %w", err)
	}
	kube, err := kubernetes.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("build kubernetes client: %w", err)
	}
	c, err := client.New(config, client.Options{Scheme: NewScheme(), HTTPClient: httpClient})
	if err != nil {
		return nil, fmt.Errorf("build controller-runtime client: %w", err)
	}
	return &Clients{Config: config, Kube: kube, Client: c}, nil
}
