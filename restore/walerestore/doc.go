// Package walerestore is the whole restore from a WAL-E archive, as the
// runbook's Carrenza/6DG section describes it and as the wizard and
// `pgrescue restore wal-e` run it: live preflight checks (WAL-E settings,
// archive, key, server stopped, disk space, WAL continuity), a plan whose
// every action shows its equivalent shell commands, then the base backup
// fetch and the WAL replay to the chosen point, reported as typed events.
//
// It holds no terminal code: the wizard and the plain command line render
// the same checks, plan and events.
package walerestore
