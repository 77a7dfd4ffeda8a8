// Package rdssim is an in-process simulator of the Amazon RDS API (AWS
// Query protocol, API version 2014-10-31) served over HTTP on 127.0.0.1.
//
// It serves two users. The RDS restore engine's tests use it for what
// moto_server cannot do: state that changes over time, AWS's events,
// failure states, throttling, access denied, expired tokens and quotas.
// pgrescue's training demo uses it so that trainees can practise an RDS
// restore without an AWS account; it is therefore shipped in the binary,
// answers any input without panicking, and is safe for concurrent use.
//
// The simulated actions are DescribeDBInstances,
// DescribeDBInstanceAutomatedBackups, DescribeDBSnapshots,
// RestoreDBInstanceToPointInTime, RestoreDBInstanceFromDBSnapshot,
// ModifyDBInstance, DescribeEvents and ListTagsForResource. Any other
// action is answered with AWS's InvalidAction error.
//
// State is computed from the clock at each request: there is no
// background goroutine. A restored instance goes creating → backing-up →
// available, and its events (with AWS's wording) appear as each phase
// ends. Restores behave as AWS's do: the new instance takes only the
// settings named in the request, and AWS's defaults for everything else,
// so that a test can tell when the engine forgot to copy a setting.
//
// Seed the account with AddInstance, AddSnapshot, AddRetainedBackup and
// AddEvent; inject faults with FailRestore, StallRestore, ThrottleNext,
// DenyAction, SetTokenExpired and SetInstanceQuota; read what was sent
// with Requests.
package rdssim
