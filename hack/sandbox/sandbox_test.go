package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cloudweav/upgrade-helper/internal/testenv"
	"github.com/cloudweav/upgrade-helper/pkg/kubevirt"
)

// TestSandbox builds and starts the sandbox as a person would, talks to it with a client-go
// client through the kubeconfig it wrote, and stops it with SIGTERM.
func TestSandbox(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "sandbox")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build the sandbox: %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "sandbox.kubeconfig")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", kubeconfig)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var ready, export bool
	for lines.Scan() && !(ready && export) {
		line := lines.Text()
		ready = ready || strings.Contains(line, "ready")
		export = export || strings.HasPrefix(line, "export KUBECONFIG="+kubeconfig)
	}
	if !ready || !export {
		t.Fatalf("the sandbox never said it was ready with the export line (ready=%v export=%v)", ready, export)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(cfg)
	nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 4 {
		t.Errorf("the sandbox serves %d nodes, want the example's 4", len(nodes.Items))
	}
	kv, err := kubevirt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Healthz(ctx); err != nil {
		t.Errorf("KubeVirt stand-in healthz: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Errorf("the sandbox did not exit cleanly on SIGTERM: %v", err)
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("the sandbox left its kubeconfig behind (stat: %v)", err)
	}
}
