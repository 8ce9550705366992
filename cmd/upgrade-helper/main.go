// Command upgrade-helper keeps Cloudweav upgrades safe. See the README for its subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cloudweav/upgrade-helper/pkg/cmd"
	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

func main() {
	os.Exit(run())
}

func run() int {
	// The first SIGINT or SIGTERM cancels the context: commands start no new work, let what is
	// in flight finish and report. A second signal kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()

	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	}
	return exitstatus.Code(err)
}
