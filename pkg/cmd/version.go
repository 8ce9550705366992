package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudweav/upgrade-helper/pkg/version"
)

// NewVersionCommand prints the version and commit stamped at build time.
func NewVersionCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of upgrade-helper",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(g.Out, version.String())
			return err
		},
	}
}
