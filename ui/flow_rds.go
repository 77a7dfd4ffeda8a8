package ui

import (
	"context"
	"time"

	"pgrescue/restore/rds"
)

// The RDS flow restores an application's AWS RDS instance into a new
// instance (point in time or snapshot), waits until it is available, and
// offers the deliberate cut-over.

// RDSBackend does the RDS flow's work; *rds.Client satisfies it (the
// wizard's backend connects lazily with the application's region).
type RDSBackend interface {
	FindByApp(ctx context.Context, app string) ([]rds.Instance, error)
	Status(ctx context.Context, id string, now time.Time) (*rds.Status, error)
	Prepare(ctx context.Context, req rds.Request) (*rds.Plan, error)
	UsualDuration(ctx context.Context) rds.Usual
	PrepareCutOver(ctx context.Context, req rds.CutOverRequest) (*rds.CutOver, error)
	// WaitOptions bound the waits (the demo's simulator is polled every second).
	WaitOptions() rds.WaitOptions
}
