package cmd

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudweav/upgrade-helper/internal/standin"
)

// TestShutdownSIGTERM runs the real binary, sends SIGTERM while the first stop is in flight, and
// checks that it lets that stop finish, starts no other, reports, and exits 1, with the record
// still naming every VM it was to stop.
func TestShutdownSIGTERM(t *testing.T) {
	shutdownCluster(t)
	bin := filepath.Join(t.TempDir(), "upgrade-helper")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/upgrade-helper").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	kubeVirt.InjectFault(standin.Fault{Group: standin.SubresourceGroup, Subresource: "stop", Delay: 2 * time.Second, Times: 1})

	cmd := exec.Command(bin, shutdownArgs("sd-1", "--concurrency", "1", "-o", "json")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for kubeVirt.CountMatching(isStop) == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no stop request arrived\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1\nstderr:\n%s", err, stderr.String())
	}
	if n := kubeVirt.CountMatching(func(r standin.Request) bool { return isStop(r) && r.Code == http.StatusAccepted }); n != 1 {
		t.Errorf("%d stops completed, want the one in flight", n)
	}
	if n := kubeVirt.CountMatching(isStop); n != 1 {
		t.Errorf("%d stop requests sent, want no new one after the signal", n)
	}
	out := stdout.String()
	if strings.Count(out, `"outcome": "NotStarted"`) != 2 || strings.Count(out, `"outcome": "Stopped"`) != 1 {
		t.Errorf("report:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	if diff := cmp.Diff(map[string]string{"sd-1": "default/pinned-a,prod/pinned-b"}, restoreRecord(t)); diff != "" {
		t.Errorf("restore record (-want +got):\n%s", diff)
	}
}
