// Command tapflow is the traffic-mirror analytics appliance: one binary
// whose subcommands capture, analyze, store, query and serve.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "tapflow:", err)
		os.Exit(1)
	}
}

// exitError carries an exit code for an error already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "tapflow",
		Short: "Traffic-mirror network analytics: capture, flows, L4/L7 metrics, ClickHouse, console",
		Long: `tapflow analyzes mirrored traffic (SPAN ports, ERSPAN/GRE/VXLAN mirror sessions,
host interfaces) into flows with DeepFlow-compatible L4 metrics, stores them in
ClickHouse and serves a query API and a NOC console.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newReplayCmd(), newApplianceCmd(), newServeCmd(), newQueryCmd(), newConfigCmd())
	return root
}
