package rds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"pgrescue/awsauth"
	"pgrescue/problem"
)

// call names one API call for messages: the IAM action it needs and the
// object it was about.
type call struct {
	action  string // e.g. "RestoreDBInstanceToPointInTime" (IAM: rds:<action>)
	subject string // the instance, snapshot or zone concerned
}

// explain turns an SDK error into a problem naming the call, the object,
// the credentials and the next step. Every branch has a test.
func (c *Client) explain(ctx context.Context, err error, k call) error {
	if err == nil {
		return nil
	}
	var pe *problem.Error
	if errors.As(err, &pe) {
		return err
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return problem.Wrap(err, problem.Interrupted, k.subject, "stopped before AWS answered "+k.action,
			"run the command again; nothing was changed by a call that did not complete, or check with pgrescue rds-status")
	}
	var credErr *awsauth.MissingError
	if errors.As(err, &credErr) {
		return &problem.Error{
			Kind: problem.AccessDenied, Subject: "AWS credentials", Err: err,
			Summary: "no AWS credentials were found",
			Detail:  "tried " + c.triedSources() + ": " + firstLine(credErr.Err.Error()),
			Next:    "log in (aws sso login, or gds-cli aws <role> for GOV.UK) and give --profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return c.explainAPI(ctx, err, apiErr, k)
	}
	var maxErr *retry.MaxAttemptsError
	var netErr net.Error
	if errors.As(err, &maxErr) || errors.As(err, &netErr) {
		return problem.Wrap(err, problem.Network, k.subject, "RDS could not be reached for "+k.action,
			"check this machine's network and the region ("+c.region+"), then run the command again")
	}
	return problem.Wrap(err, problem.Unknown, k.subject, k.action+" failed", "")
}

func (c *Client) explainAPI(ctx context.Context, err error, apiErr smithy.APIError, k call) error {
	code, message := apiErr.ErrorCode(), apiErr.ErrorMessage()
	e := &problem.Error{Subject: k.subject, Err: err, Detail: "AWS said: " + code + ": " + message}
	switch {
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" ||
		code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "SignatureDoesNotMatch" ||
		code == "InvalidToken" || code == "TokenRefreshRequired":
		e.Kind = problem.AccessDenied
		e.Summary = "AWS refused the credentials: the session has expired or the key is not valid"
		e.Detail = "credentials: " + c.Who(ctx) + "; AWS said: " + code + ": " + message
		e.Next = "get fresh temporary credentials (aws sso login, or gds-cli aws <role> for GOV.UK) and run the command again"
	case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "AuthorizationError":
		e.Kind = problem.AccessDenied
		e.Summary = "AWS refused rds:" + k.action + " to these credentials"
		e.Detail = "credentials: " + c.Who(ctx) + "; AWS said: " + message
		e.Next = "use a role allowed rds:" + k.action + " (GOV.UK: the fulladmin role of the environment)"
	case strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundFault") || code == "NoSuchHostedZone":
		e.Kind = problem.RDSNotFound
		e.Summary = k.subject + " does not exist in region " + c.region
		e.Next = "check the identifier and the region (--region); pgrescue rds-status --app APP finds an application's instance by its tags"
	case code == "DBInstanceAlreadyExists" || code == "DBInstanceAlreadyExistsFault":
		e.Kind = problem.NameTaken
		e.Summary = "an RDS instance named " + k.subject + " already exists"
		e.Next = "choose another name with --target-instance; pgrescue never replaces an instance"
	case strings.Contains(code, "QuotaExceeded"):
		e.Kind = problem.QuotaExceeded
		e.Summary = "the restore would exceed an AWS account quota (" + code + ")"
		e.Next = "ask for a higher quota in the Service Quotas console, or remove an instance the account no longer needs (after a final snapshot)"
	case isThrottle(code):
		e.Kind = problem.Throttled
		e.Summary = "AWS kept throttling " + k.action + " after retries with backoff"
		e.Next = "wait a minute and run the command again; other tools polling the RDS API in this account share the limit"
	case code == "InvalidRestoreFault" || code == "InvalidRestore" || code == "PointInTimeRestoreNotEnabled" ||
		code == "PointInTimeRestoreNotEnabledFault":
		e.Kind = problem.OutsideWindow
		e.Summary = "AWS cannot restore " + k.subject + " to that point"
		e.Next = "run pgrescue rds-status --instance " + k.subject + " for the restore window, and choose a time inside it or a snapshot"
	default:
		e.Kind = problem.RDSRefused
		e.Summary = "AWS refused " + k.action + " for " + k.subject
		e.Next = "read AWS's message above; pgrescue restore rds --dry-run prints the call as aws commands to adjust"
	}
	return e
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"RequestThrottled", "RequestThrottledException", "PriorRequestNotComplete":
		return true
	}
	return false
}

// isNotFound reports an answer that an object does not exist.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.HasSuffix(strings.TrimSuffix(apiErr.ErrorCode(), "Fault"), "NotFound")
}

func configProblem(err error, profile string) error {
	from := "--profile"
	if profile == "" {
		profile, from = os.Getenv("AWS_PROFILE"), "AWS_PROFILE"
	}
	if profile != "" && strings.Contains(err.Error(), "failed to get shared config profile") {
		return problem.Wrap(err, problem.Config, from+" "+profile,
			fmt.Sprintf("the AWS profile %q (%s) is not in ~/.aws/config or ~/.aws/credentials", profile, from),
			"check the name (aws configure list-profiles), log in with it (aws sso login --profile NAME), or unset it to use the default chain")
	}
	return problem.Wrap(err, problem.Config, "AWS configuration",
		"the AWS configuration (profile, shared config or credentials file) could not be loaded",
		"fix or unset AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
