package testenv

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cloudweav/upgrade-helper/internal/standin"
)

// WithKubeVirt is an Env with the KubeVirt stand-in in front of its API server: what the tests
// of the commands that stop and start VMs, and the sandbox, talk to.
type WithKubeVirt struct {
	*Env
	// KubeVirt is the stand-in.
	KubeVirt *standin.Server
	// KubeVirtKubeconfig is a kubeconfig file that talks to the stand-in as the admin.
	KubeVirtKubeconfig string
}

// StartWithKubeVirt starts an Env (see Start) and the KubeVirt stand-in in front of it, and
// writes a kubeconfig for the stand-in. Stop it when done.
func StartWithKubeVirt() (*WithKubeVirt, error) {
	env, err := Start()
	if err != nil {
		return nil, err
	}
	kv, err := standin.Start(env.Config)
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("start the KubeVirt stand-in: %w", err)
	}
	w := &WithKubeVirt{Env: env, KubeVirt: kv, KubeVirtKubeconfig: filepath.Join(env.dir, "standin.kubeconfig")}
	if err := WriteKubeconfig(kv.RESTConfig(), w.KubeVirtKubeconfig); err != nil {
		_ = w.Stop()
		return nil, fmt.Errorf("write the stand-in's kubeconfig: %w", err)
	}
	return w, nil
}

// Stop stops the stand-in, then the API server and etcd.
func (w *WithKubeVirt) Stop() error {
	return errors.Join(w.KubeVirt.Close(), w.Env.Stop())
}
