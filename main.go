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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cli.Version = version
	code := cli.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
