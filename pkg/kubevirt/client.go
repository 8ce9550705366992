package kubevirt

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// Group and Version of KubeVirt's subresource API.
const (
	Group   = "subresources.kubevirt.io"
	Version = "v1"
)

// Client calls KubeVirt's subresource API.
type Client struct {
	rest *rest.RESTClient
}

// New returns a client for the cluster cfg points at. It contacts no server.
func New(cfg *rest.Config) (*Client, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{Group: Group, Version: Version}
	c.APIPath = "/apis"
	c.ContentType = "application/json"
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	httpClient, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("build kubevirt http client: %w", err)
	}
	rc, err := rest.RESTClientForConfigAndClient(c, httpClient)
	if err != nil {
		return nil, fmt.Errorf("build kubevirt rest client: %w", err)
	}
	return &Client{rest: rc}, nil
}

// Stop asks KubeVirt to stop VM ns/name (PUT .../virtualmachines/NAME/stop).
func (c *Client) Stop(ctx context.Context, ns, name string) error {
	return c.StopWithOptions(ctx, ns, name, &kubevirtv1.StopOptions{})
}

// StopWithOptions is Stop with a grace period or dry run.
func (c *Client) StopWithOptions(ctx context.Context, ns, name string, opts *kubevirtv1.StopOptions) error {
	return c.put(ctx, ns, name, "stop", opts)
}

// Start asks KubeVirt to start VM ns/name (PUT .../virtualmachines/NAME/start).
func (c *Client) Start(ctx context.Context, ns, name string) error {
	return c.StartWithOptions(ctx, ns, name, &kubevirtv1.StartOptions{})
}

// StartWithOptions is Start with options (paused, dry run).
func (c *Client) StartWithOptions(ctx context.Context, ns, name string, opts *kubevirtv1.StartOptions) error {
	return c.put(ctx, ns, name, "start", opts)
}

func (c *Client) put(ctx context.Context, ns, name, subresource string, opts any) error {
	body, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("encode %s options: %w", subresource, err)
	}
	return c.rest.Put().Namespace(ns).Resource("virtualmachines").Name(name).SubResource(subresource).
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
}

// Healthz checks virt-api's health (GET /apis/subresources.kubevirt.io/v1/healthz): nil
// when it answers 200.
func (c *Client) Healthz(ctx context.Context) error {
	return c.rest.Get().AbsPath("/apis", Group, Version, "healthz").Do(ctx).Error()
}
