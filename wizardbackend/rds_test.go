package wizardbackend

import (
	"testing"

	"pgrescue/restore/rds"
)

// TestRDSRegionFromTheConfig: the application's region from pgrescue's
// config is used unless --aws-region named one, and never changes a client
// already connected.
func TestRDSRegionFromTheConfig(t *testing.T) {
	b := &RDS{}
	b.DefaultRegion("eu-west-2")
	if b.Options.Region != "eu-west-2" {
		t.Fatalf("region %q", b.Options.Region)
	}
	flagged := &RDS{Options: rds.Options{Region: "eu-west-1"}}
	flagged.DefaultRegion("eu-west-2")
	if flagged.Options.Region != "eu-west-1" {
		t.Fatalf("the flag was overridden: %q", flagged.Options.Region)
	}
	connected := &RDS{client: &rds.Client{}}
	connected.DefaultRegion("eu-west-2")
	if connected.Options.Region != "" {
		t.Fatal("a connected backend changed region")
	}
}
