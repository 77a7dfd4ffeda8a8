// Command pgrescue walks an engineer through restoring a PostgreSQL database
// and does the work at each step. It only sets up the signals and runs the
// command line (package cli).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"pgrescue/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	// A closed terminal or SSH session (SIGHUP) stops pgrescue as ctrl+c
	// and SIGTERM do: servers it started are stopped, settings it changed
	// put back, partial restores labelled. Go's default would kill it
	// on the spot and orphan a recovering PostgreSQL.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	cli.Version = version
	code := cli.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
