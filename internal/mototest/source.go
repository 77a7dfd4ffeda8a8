package mototest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// The source instance MakeSource creates, named as GOV.UK's were.
const (
	SourceInstance = "local-links-manager-postgres"
	SourceSnapshot = "before-the-migration"
)

// Credentials are keys moto accepts; they are no one's.
var Credentials = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")

// MakeSource creates, with the SDK, an instance with every setting a
// restore must copy set away from AWS's defaults (its own subnet, parameter
// and option groups, io1 storage, Multi-AZ, port 5433, deletion
// protection, tags…) and a manual snapshot of it.
func (s *Server) MakeSource(t testing.TB, region string) {
	t.Helper()
	net := s.MakeNetwork(t, region)
	ctx := context.Background()
	c := sdk.New(sdk.Options{Region: region, BaseEndpoint: aws.String(s.URL), Credentials: Credentials})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateDBSubnetGroup(ctx, &sdk.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("blue-govuk-rds-subnet"),
		DBSubnetGroupDescription: aws.String("rds"), SubnetIds: []string{net.Subnet1, net.Subnet2}}))
	must(c.CreateDBParameterGroup(ctx, &sdk.CreateDBParameterGroupInput{DBParameterGroupName: aws.String("local-links-manager-postgres-20220705"),
		DBParameterGroupFamily: aws.String("postgres13"), Description: aws.String("app")}))
	must(c.CreateOptionGroup(ctx, &sdk.CreateOptionGroupInput{OptionGroupName: aws.String("llm-options"), EngineName: aws.String("postgres"),
		MajorEngineVersion: aws.String("13"), OptionGroupDescription: aws.String("app")}))
	must(c.CreateDBInstance(ctx, &sdk.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(SourceInstance), DBInstanceClass: aws.String("db.m5.large"),
		Engine: aws.String("postgres"), EngineVersion: aws.String("13.7"), AllocatedStorage: aws.Int32(100),
		MasterUsername: aws.String("aws_db_admin"), MasterUserPassword: aws.String("not-a-secret-of-anyone"),
		DBName:            aws.String("local_links_manager_production"),
		DBSubnetGroupName: aws.String("blue-govuk-rds-subnet"), VpcSecurityGroupIds: []string{net.SecurityGroup},
		DBParameterGroupName: aws.String("local-links-manager-postgres-20220705"), OptionGroupName: aws.String("llm-options"),
		StorageType: aws.String("io1"), Iops: aws.Int32(1000), MultiAZ: aws.Bool(true), Port: aws.Int32(5433),
		PubliclyAccessible: aws.Bool(false), DeletionProtection: aws.Bool(true), CopyTagsToSnapshot: aws.Bool(true),
		EnableIAMDatabaseAuthentication: aws.Bool(true), BackupRetentionPeriod: aws.Int32(7), MaxAllocatedStorage: aws.Int32(200),
		MonitoringInterval: aws.Int32(60), MonitoringRoleArn: aws.String("arn:aws:iam::123456789012:role/rds-monitoring"),
		EnablePerformanceInsights: aws.Bool(true), PerformanceInsightsRetentionPeriod: aws.Int32(7),
		StorageEncrypted: aws.Bool(true), PreferredBackupWindow: aws.String("01:00-03:00"),
		Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("local-links-manager")}, {Key: aws.String("project"), Value: aws.String("govuk")}},
	}))
	must(c.CreateDBSnapshot(ctx, &sdk.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(SourceInstance),
		DBSnapshotIdentifier: aws.String(SourceSnapshot)}))
}
