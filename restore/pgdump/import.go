package pgdump

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"pgrescue/problem"
)

// importSerial is the runbook's `psql < dump` in one pass: the source
// streamed through the decompressor and the renaming filter into psql.
// Beside it, a scout reads the same dump as fast as it decompresses and
// stops the import at the first problem: a damaged or truncated file, a
// dump pg_dump never finished, a grant to a role the server lacks. The
// scout costs a core, not the import's time; a problem it finds is known
// minutes before the import would have reached it.
func (p *Plan) importSerial(ctx context.Context, report func(Event)) error {
	db, err := p.firstDB(ctx)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	scouted := make(chan error, 1)
	go func() {
		err := p.scout(ctx)
		if err != nil {
			stop(err)
		}
		scouted <- err
	}()
	f := &filter{rename: p.Into, freeze: true, freezable: p.Head.Freezable}
	err = p.feed(ctx, db, f, report, func(sql io.Reader, w io.Writer) error { return f.run(sql, w) })
	if err != nil {
		stop(nil) // the scout's work is moot
	}
	if scoutErr := <-scouted; scoutErr != nil {
		return scoutErr
	}
	if err != nil {
		return err
	}
	p.Script = &f.script
	return p.checkWhole(p.Script)
}

// scout reads the whole dump and says what would stop the import.
func (p *Plan) scout(ctx context.Context) error {
	sql, err := openSQL(ctx, p.Source, p.Dump, p.SMIMEKey)
	if err != nil {
		return err
	}
	defer sql.Close()
	f := &filter{}
	if err := f.run(sql, io.Discard); err != nil {
		if ctx.Err() != nil {
			return nil // the import ended first
		}
		return p.readError(ctx, p.Dump, err)
	}
	return p.checkWhole(&f.script)
}

// checkWhole checks what only the whole dump tells: that pg_dump finished
// it, and that every role it grants to exists.
func (p *Plan) checkWhole(s *Script) error {
	if !s.Complete {
		return problem.New(problem.Truncated, p.Dump.Path, "the dump has no \""+completeLine+"\" line: pg_dump did not finish writing it, or the file was cut short",
			"choose an earlier dump (pgrescue dump-list); this one lacks its end, often the indexes and constraints")
	}
	if missing := p.missingRoles(s); len(missing) > 0 {
		next := "create them (CREATE ROLE name;) and run again"
		if _, found := p.Listing.GlobalsOf(p.Dump); found && !p.Globals {
			next = "run again with --globals to create them from that night's globals dump, or create them yourself (CREATE ROLE name;)"
		}
		return problem.New(problem.RolesMissing, p.Dump.Path, "the dump grants to roles this server lacks: "+strings.Join(missing, ", "), next)
	}
	return nil
}

// missingRoles are the roles s names that neither the server had nor the
// globals dump created.
func (p *Plan) missingRoles(s *Script) []string {
	var missing []string
	for _, r := range s.Roles {
		if !p.serverRoles[r] && !slices.Contains(p.created, r) {
			missing = append(missing, r)
		}
	}
	return missing
}

// firstDB is where the load's first psql connects: the maintenance
// database, from which the dump's CREATE DATABASE and \connect go on, or,
// for a dump made without --create, the new database, created here.
func (p *Plan) firstDB(ctx context.Context) (string, error) {
	if p.Head.Database != "" {
		return p.Server.maintenanceDB(), nil
	}
	return p.Into, p.Server.Exec(ctx, p.Server.maintenanceDB(), "CREATE DATABASE "+QuoteIdent(p.Into)+" TEMPLATE template0")
}

// feed runs psql on db with the dump, through write, as its input,
// reporting progress.
func (p *Plan) feed(ctx context.Context, db string, f *filter, report func(Event), write func(io.Reader, io.Writer) error) error {
	sql, err := openSQL(ctx, p.Source, p.Dump, p.SMIMEKey)
	if err != nil {
		return err
	}
	defer sql.Close()
	stop := p.progress(ctx, StageImport, p.Dump, sql.read, f, report)
	defer stop()
	return p.session(ctx, db, p.Dump, func(w io.Writer) error { return write(sql, w) })
}

// session runs one psql on db with write's output, made from dump d, as
// its input. A failure to produce the input stops psql rather than letting
// it see the end of its input and commit half a restore quietly.
func (p *Plan) session(ctx context.Context, db string, d Dump, write func(io.Writer) error) error {
	psqlCtx, stopPsql := context.WithCancel(ctx)
	defer stopPsql()
	cmd := p.Server.command(psqlCtx, db, "-q", "-f", "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = io.Discard
	stderr := &firstError{tail: tail{max: 16 << 10}}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return p.Server.psqlError(ctx, err, "", db)
	}
	werr := write(stdin)
	if werr != nil && !isBrokenPipe(werr) {
		stopPsql()
	}
	stdin.Close()
	perr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return problem.Wrap(ctx.Err(), problem.Interrupted, d.Path, "the import was stopped", "")
	case werr != nil && !isBrokenPipe(werr):
		return p.readError(ctx, d, werr)
	case perr != nil:
		return p.importError(perr, stderr, db, d)
	}
	return nil
}

// importError explains psql stopping on a statement of the dump.
func (p *Plan) importError(err error, stderr *firstError, db string, d Dump) error {
	pe := p.Server.psqlError(context.Background(), err, stderr.String(), db)
	var e *problem.Error
	if errors.As(pe, &e) && e.Kind == problem.ImportFailed {
		e.Summary = "psql stopped on an error while loading " + path.Base(d.Path)
		if stderr.first != "" {
			e.Detail = stderr.first
		}
		e.Next = "read the error; the dump's SQL is unchanged except for the database name (and each table loaded with COPY FREEZE), so the same error would most likely stop psql < dump"
	}
	return pe
}

// isBrokenPipe is psql gone before its input ended: its own error says why.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
