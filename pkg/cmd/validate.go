package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// commandOptions is what every subcommand's Options does, in kubectl's order.
type commandOptions interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runOptions is a cobra RunE that completes, validates and runs o.
func runOptions(o commandOptions) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// validateObjectName rejects a name that no Kubernetes object of that kind can have (a DNS
// subdomain), before any request is made.
func validateObjectName(kind, name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return exitstatus.Usagef("%q is not a valid %s name: %s", name, kind, strings.Join(errs, "; "))
	}
	return nil
}

// validateWorkers checks the flags of a command that acts on VMs in parallel within a time.
func validateWorkers(concurrency int, timeout time.Duration) error {
	if concurrency < 1 {
		return exitstatus.Usagef("--concurrency must be at least 1, got %d", concurrency)
	}
	if timeout <= 0 {
		return exitstatus.Usagef("--timeout must be positive, got %s", timeout)
	}
	return nil
}
