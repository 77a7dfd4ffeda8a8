package wizardbackend

import (
	"context"
	"sync"
	"time"

	"pgrescue/restore/rds"
)

// RDS is the wizard's backend for the RDS flow: the engine's client,
// connected on first use (an engineer on the Carrenza branch never needs
// AWS credentials). It sees no secret: the SDK reads the credentials, and
// the journal already redacts the environment's AWS secrets.
type RDS struct {
	Options rds.Options

	mu     sync.Mutex
	client *rds.Client
}

func (b *RDS) connect(ctx context.Context) (*rds.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	c, err := rds.Connect(ctx, b.Options)
	if err != nil {
		return nil, err
	}
	b.client = c
	return c, nil
}

// DefaultRegion is the application's region from pgrescue's config: it is
// used unless --aws-region named one, and only before the first call.
func (b *RDS) DefaultRegion(region string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client == nil && b.Options.Region == "" {
		b.Options.Region = region
	}
}

func (b *RDS) FindByApp(ctx context.Context, app string) ([]rds.Instance, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.FindByApp(ctx, app)
}

func (b *RDS) Status(ctx context.Context, id string, now time.Time) (*rds.Status, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.Status(ctx, id, now)
}

func (b *RDS) Prepare(ctx context.Context, req rds.Request) (*rds.Plan, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.Prepare(ctx, req)
}

func (b *RDS) UsualDuration(ctx context.Context, class string) rds.Usual {
	c, err := b.connect(ctx)
	if err != nil {
		return rds.Usual{}
	}
	return c.UsualDuration(ctx, class)
}

func (b *RDS) PrepareCutOver(ctx context.Context, req rds.CutOverRequest) (*rds.CutOver, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.PrepareCutOver(ctx, req)
}

func (b *RDS) WaitOptions() rds.WaitOptions { return b.Options.Wait }
