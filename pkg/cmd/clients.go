package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/rest"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
	"github.com/cloudweav/upgrade-helper/pkg/kube"
)

// Clients builds the clients of the cluster that the connection flags point at. A kubeconfig
// that cannot be loaded (missing, malformed, unknown context) is bad input: exit status 2.
func (g *GlobalOptions) Clients() (*kube.Clients, error) {
	config, err := g.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, exitstatus.Usagef("load the kubeconfig: %w (check --kubeconfig, $KUBECONFIG and --context)", err)
	}
	if raw, err := g.ConfigFlags.ToRawKubeConfigLoader().RawConfig(); err == nil && len(raw.Clusters) == 0 {
		if _, inCluster := rest.InClusterConfig(); inCluster != nil {
			// kubectl would quietly try http://localhost:8080; say what is missing instead.
			return nil, exitstatus.Usagef("no kubeconfig found: pass --kubeconfig FILE or set $KUBECONFIG (in a pod, the service account is used)")
		}
	}
	// Each try of a request is bounded by --request-timeout (30s when unset, so that no request
	// waits forever); transient failures are retried within kube.DefaultRetryPolicy.
	if config.Timeout < 0 {
		return nil, exitstatus.Usagef("--request-timeout must not be negative, got %s", config.Timeout)
	}
	policy := kube.DefaultRetryPolicy
	policy.PerAttempt = config.Timeout
	if policy.PerAttempt == 0 {
		policy.PerAttempt = 30 * time.Second
	}
	config.Timeout = 0
	if g.Log.IsLevelEnabled(logrus.TraceLevel) {
		// Innermost, so that every try of a retried request is logged.
		config.Wrap(kube.WrapTrace(g.Log.Tracef))
	}
	config.Wrap(kube.WrapRetry(policy))
	clients, err := kube.NewClients(config)
	if err != nil {
		return nil, exitstatus.Usagef("%w", err)
	}
	g.Log.Debugf("talking to %s", config.Host)
	return clients, nil
}

// requireFlagWith reports a usage error when flag is set without the flag it depends on.
func requireFlagWith(set bool, flag, needs string) error {
	if set {
		return exitstatus.Usagef("%s only works together with %s", flag, needs)
	}
	return nil
}

// Overall deadlines: no run may hang an unattended upgrade forever, whatever the per-request
// timeouts and retries add up to. What a run waits for on purpose (--wait, KubeVirt's health)
// is added to them.
const (
	readDeadline   = 5 * time.Minute
	actionDeadline = 15 * time.Minute
)

// withDeadline bounds ctx by d and says so in the error a command returns when it is hit.
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("the command's overall deadline of %s passed", d))
}
