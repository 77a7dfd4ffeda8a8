// Package pglog reads the PostgreSQL server log of a restore while it runs:
// it follows the log file (Follower), splits each line into its prefix
// fields (ParseLine) and turns it into a typed recovery event (Parser),
// keeping a summary of the restore (State).
//
// Typical use, with the log size taken just before pg_ctl start:
//
//	f := pglog.NewFollower(pglog.FollowOptions{Path: logFile, Offset: pglog.SizeOf(logFile), DataDir: pgdata})
//	// start the server
//	p := pglog.NewParser()
//	err := f.Run(ctx, func(l pglog.FollowedLine) {
//		for _, ev := range p.Feed(l.Text) {
//			show(ev, p.State())
//		}
//	})
//
// The message catalogue covers PostgreSQL 9.3 to 18 with lc_messages=C
// (pg-recovery.md §1). Translated logs are kept line by line but not
// interpreted: the wizard forces lc_messages=C on the server's command line.
package pglog
