package walinspect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/shellcmd"
)

// pageMagic is XLOG_PAGE_MAGIC, the first two bytes of every WAL page, per
// PostgreSQL major version (src/include/access/xlog_internal.h).
var pageMagic = map[uint16]recovery.Version{
	0xD075: {Major: 9, Minor: 3}, 0xD07E: {Major: 9, Minor: 4}, 0xD087: {Major: 9, Minor: 5}, 0xD093: {Major: 9, Minor: 6},
	0xD097: {Major: 10}, 0xD098: {Major: 11}, 0xD101: {Major: 12}, 0xD106: {Major: 13}, 0xD10D: {Major: 14},
	0xD110: {Major: 15}, 0xD113: {Major: 16}, 0xD116: {Major: 17}, 0xD118: {Major: 18},
}

// VersionOfSegment reads the PostgreSQL major version that wrote a WAL
// segment from its first page's magic; ok is false for a magic pgrescue
// does not know.
func VersionOfSegment(head []byte) (v recovery.Version, ok bool) {
	if len(head) < 2 {
		return v, false
	}
	v, ok = pageMagic[uint16(head[0])|uint16(head[1])<<8]
	return v, ok
}

// FindWaldump returns the program that reads WAL of version v: pg_waldump
// (pg_xlogdump before 10) of the same major, where that version's server
// programs are installed or on PATH; given is the engineer's --pg-waldump,
// checked the same way.
func FindWaldump(ctx context.Context, v recovery.Version, given string) (string, error) {
	name := "pg_waldump"
	if !v.AtLeast(10, 0) {
		name = "pg_xlogdump"
	}
	candidates := []string{given}
	if given == "" {
		candidates = nil
		for _, dir := range recovery.BinDirs(v) {
			candidates = append(candidates, filepath.Join(dir, name))
		}
		if path, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, path)
		}
	}
	found, seen := recovery.FindProgram(ctx, candidates, func(f recovery.Version) bool { return f == v })
	if found != "" {
		return found, nil
	}
	detail := "looked in " + strings.Join(candidates, ", ")
	if len(seen) > 0 {
		detail = strings.Join(seen, "; ") + ": another major version's cannot read this WAL"
	}
	return "", &problem.Error{
		Kind: problem.Config, Subject: name,
		Summary: fmt.Sprintf("no %s of PostgreSQL %s was found: the archived WAL was written by PostgreSQL %s", name, v, v),
		Detail:  detail,
		Next:    fmt.Sprintf("install it (Debian: apt-get install postgresql-client-%s, or postgresql-%s), or give its path with --pg-waldump", v, v),
	}
}

// summedRmgrs are the resource managers whose records the Reader sums up.
var summedRmgrs = []string{"Heap", "Heap2", "Storage", "Standby", "Transaction"}

// dumpArgs are pg_waldump's arguments. From PostgreSQL 15 it prints only
// the records the Reader sums up: the others (index entries, full-page
// images, checkpoints) are half of a typical WAL's and would double the
// text to format, pipe and skip. Before 15 it takes one --rmgr only.
func dumpArgs(v recovery.Version, dir, first, last string) []string {
	args := []string{"--path", dir}
	if v.AtLeast(15, 0) {
		for _, rmgr := range summedRmgrs {
			args = append(args, "--rmgr", rmgr)
		}
	}
	return append(args, first, last)
}

// Dump runs pg_waldump (of version v: zero when unknown) over the segments
// first to last in dir, with TZ=UTC so that commit times are read without
// guessing, feeding its output to the reader as it comes. The end of valid
// WAL inside the last segment is pg_waldump's normal end, not an error.
func Dump(ctx context.Context, program string, v recovery.Version, dir, first, last string, rd *Reader, progress func(Progress)) error {
	cmd := exec.CommandContext(ctx, program, dumpArgs(v, dir, first, last)...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return problem.Wrap(err, problem.Config, program, "cannot run "+filepath.Base(program), "give the program's path with --pg-waldump")
	}
	feedErr := rd.Feed(ctx, out, progress)
	waitErr := cmd.Wait()
	if feedErr != nil {
		return feedErr
	}
	if waitErr != nil && !endOfWAL(stderr.String()) {
		if ctx.Err() != nil {
			return problem.Wrap(ctx.Err(), problem.Interrupted, program, "the inspection was stopped", "")
		}
		return &problem.Error{Kind: problem.Corrupt, Subject: first + ".." + last,
			Summary: filepath.Base(program) + " could not read the WAL", Detail: strings.TrimSpace(stderr.String()),
			Next: "its message names the record or file; the segments before it were read"}
	}
	return nil
}

// endOfWAL recognises pg_waldump's ways of saying the WAL ends here: the
// rest of a switched segment is zeros.
func endOfWAL(stderr string) bool {
	for _, s := range []string{"invalid record length", "record with incorrect prev-link", "invalid magic number 0000",
		"record length 0 at", "invalid record offset"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// DumpCommand is the same as a shell command, for plans and training.
func DumpCommand(program string, v recovery.Version, dir, first, last string) shellcmd.Command {
	return shellcmd.Command{Why: "Read the WAL with PostgreSQL's own tool (what pgrescue sums up per transaction)",
		Line: "TZ=UTC " + shellcmd.Join(append([]string{program}, dumpArgs(v, dir, first, last)...))}
}
