// Command sandbox runs a local Cloudweav stand-in for trying upgrade-helper end to end without
// a real cluster: etcd and kube-apiserver (built from source on first use), the KubeVirt
// stand-in in front of them, the CRDs, and the example cluster and upgrade. It writes a
// kubeconfig, prints "ready" with the export line to use, and runs until SIGINT or SIGTERM,
// then stops everything and removes its temporary files.
//
//	go run ./hack/sandbox --kubeconfig /tmp/sandbox.kubeconfig
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/source"
)

func main() {
	// A flag set of its own: controller-runtime registers a --kubeconfig of its own globally.
	fs := flag.NewFlagSet("sandbox", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "where to write the sandbox's kubeconfig (required)")
	cluster := fs.String("cluster", filepath.Join("examples", "cluster.yaml"), "cluster state to load")
	upgrade := fs.String("upgrade", filepath.Join("examples", "upgrade.yaml"), "Upgrades and Versions to load")
	_ = fs.Parse(os.Args[1:])
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "sandbox: --kubeconfig FILE is required")
		os.Exit(2)
	}
	if err := run(*kubeconfig, *cluster, *upgrade); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, clusterFile, upgradeFile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()

	state, err := source.FromFiles([]string{clusterFile})
	if err != nil {
		return err
	}
	env, err := testenv.StartWithKubeVirt()
	if err != nil {
		return err
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox: stop: %v\n", err)
		}
	}()
	if err := env.LoadClusterState(ctx, state); err != nil {
		return err
	}
	if err := env.LoadUpgradeFile(ctx, upgradeFile); err != nil {
		return err
	}
	if err := testenv.WriteKubeconfig(env.KubeVirt.RESTConfig(), kubeconfig); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	abs, _ := filepath.Abs(kubeconfig)
	fmt.Printf("sandbox ready in %.1fs: kube-apiserver at %s, KubeVirt stand-in at %s\n", time.Since(started).Seconds(), env.Config.Host, env.KubeVirt.URL)
	fmt.Printf("export KUBECONFIG=%s\n", abs)
	fmt.Println("stop it with Ctrl-C (SIGINT) or SIGTERM")
	<-ctx.Done()
	fmt.Println("sandbox stopping")
	return nil
}
