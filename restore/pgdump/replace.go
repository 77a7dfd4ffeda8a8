package pgdump

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// Session is a connection to a database, from pg_stat_activity.
type Session struct {
	PID         int
	User        string
	Application string
	Client      string
	State       string
	Since       string
}

func (s Session) String() string {
	return fmt.Sprintf("pid %d, %s, %s from %s, %s since %s", s.PID, cmp.Or(s.User, "?"), cmp.Or(s.Application, "no application name"), cmp.Or(s.Client, "the local socket"), cmp.Or(s.State, "?"), s.Since)
}

// Sessions lists who is connected to db, other than pgrescue itself.
func (s Server) Sessions(ctx context.Context, db string) ([]Session, error) {
	rows, err := s.Query(ctx, s.maintenanceDB(), `SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(client_addr::text, ''), coalesce(state, ''),
		coalesce(to_char(backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '')
		FROM pg_catalog.pg_stat_activity WHERE datname = `+QuoteLiteral(db)+` AND pid <> pg_backend_pid() ORDER BY backend_start`)
	if err != nil {
		return nil, err
	}
	var sessions []Session
	for _, r := range rows {
		if len(r) < 6 {
			continue
		}
		pid, _ := strconv.Atoi(r[0])
		sessions = append(sessions, Session{PID: pid, User: r[1], Application: r[2], Client: r[3], State: r[4], Since: r[5]})
	}
	return sessions, nil
}

// TerminateSessions ends every session on db (pg_terminate_backend): the
// application's connections drop and reconnect.
func (s Server) TerminateSessions(ctx context.Context, db string) error {
	return s.Exec(ctx, s.maintenanceDB(), "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = "+QuoteLiteral(db)+" AND pid <> pg_backend_pid()")
}

// Swap is --replace: the restored database takes db's name, and db, when
// it exists, is kept as <db>_before_<UTC time>. Nothing is dropped.
type Swap struct {
	Database string // the name the application uses
	Restored string // the database restored by pgrescue
	Before   string // what db is renamed to; "" when db does not exist
}

// PlanSwap names the swap and checks both renames can happen.
func (s Server) PlanSwap(ctx context.Context, db, restored string, now time.Time) (*Swap, error) {
	sw := &Swap{Database: db, Restored: restored}
	exists, err := s.DatabaseExists(ctx, db)
	if err != nil {
		return nil, err
	}
	if exists {
		sw.Before = BeforeName(db, now)
		taken, err := s.DatabaseExists(ctx, sw.Before)
		if err != nil {
			return nil, err
		}
		if taken {
			return nil, problem.New(problem.DatabaseExists, sw.Before, "the name to keep the old database under is taken", "rename that database, or wait a minute and run again")
		}
	}
	return sw, nil
}

// BeforeName is what a replaced database is kept as: <db>_before_<UTC time>.
func BeforeName(db string, now time.Time) string {
	return fitName(db, "_before_"+now.UTC().Format("20060102T1504"), maxIdentifier)
}

// Commands are the renames, as an engineer would type them.
func (sw *Swap) Commands(s Server) []shellcmd.Command {
	var cmds []shellcmd.Command
	if sw.Before != "" {
		cmds = append(cmds, shellcmd.Command{Why: "keep the current " + sw.Database + " under another name (never dropped)",
			Line: s.PsqlLine(s.maintenanceDB()) + " -c " + shellcmd.Quote("ALTER DATABASE "+QuoteIdent(sw.Database)+" RENAME TO "+QuoteIdent(sw.Before))})
	}
	return append(cmds, shellcmd.Command{Why: "give the restored database the name the application uses",
		Line: s.PsqlLine(s.maintenanceDB()) + " -c " + shellcmd.Quote("ALTER DATABASE "+QuoteIdent(sw.Restored)+" RENAME TO "+QuoteIdent(sw.Database))})
}

// RunEndingSessions first ends the sessions on the database being replaced
// (the engineer confirmed it twice), then renames.
func (sw *Swap) RunEndingSessions(ctx context.Context, s Server) error {
	if sw.Before != "" {
		if err := s.TerminateSessions(ctx, sw.Database); err != nil {
			return err
		}
		// the backends exit after the signal, and the application's
		// pools may reconnect at once: wait a little for the first, and
		// let Run name the second
		for i := 0; i < 20; i++ {
			if sessions, err := s.Sessions(ctx, sw.Database); err != nil || len(sessions) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return sw.Run(ctx, s)
}

// Run renames. Sessions on the old database must be gone: PostgreSQL
// refuses to rename a database in use, and says so.
func (sw *Swap) Run(ctx context.Context, s Server) error {
	if sw.Before != "" {
		sessions, err := s.Sessions(ctx, sw.Database)
		if err != nil {
			return err
		}
		if len(sessions) > 0 {
			return SessionsError(sw.Database, sessions)
		}
		if err := s.Rename(ctx, sw.Database, sw.Before); err != nil {
			return renameError(err, sw.Database, sw.Before)
		}
	}
	if err := s.Rename(ctx, sw.Restored, sw.Database); err != nil {
		e := renameError(err, sw.Restored, sw.Database)
		if sw.Before != "" {
			e.Next += "; the old database is now " + sw.Before + ": rename it back with ALTER DATABASE " + QuoteIdent(sw.Before) + " RENAME TO " + QuoteIdent(sw.Database) + " if the application must run meanwhile"
		}
		return e
	}
	return nil
}

func renameError(err error, from, to string) *problem.Error {
	if inUse(err) {
		return problem.Wrap(err, problem.SessionsConnected, from, "a session connected to "+from+" while renaming it to "+to, "run again; stop the application's workers first if they reconnect at once")
	}
	return problem.Wrap(err, problem.ImportFailed, from, "renaming "+from+" to "+to+" failed", "read the error")
}

// SessionsError lists the sessions that stop a rename.
func SessionsError(db string, sessions []Session) error {
	lines := make([]string, len(sessions))
	for i, s := range sessions {
		lines[i] = s.String()
	}
	e := problem.New(problem.SessionsConnected, db, fmt.Sprintf("%d session(s) are connected to %s, which PostgreSQL will not rename while in use", len(sessions), db),
		"stop the application (or its workers), or run again with --terminate-sessions to end them")
	e.Detail = strings.Join(lines, "; ")
	return e
}
