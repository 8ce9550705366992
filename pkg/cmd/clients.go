package cmd

import (
	"time"

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
	if config.Timeout == 0 {
		// Never wait forever for one request; --request-timeout overrides this.
		config.Timeout = 30 * time.Second
	}
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

