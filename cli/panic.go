package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"pgrescue/journal"
	"pgrescue/problem"
)

// guarded runs f, turning a panic in it into a short message on w and the
// exit code of an unexpected error; the trace goes to a private file beside
// the session journals, for the bug report. It cannot catch a panic in
// another goroutine: those are bugs to fix where they start.
func guarded(w io.Writer, f func() int) (code int) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		where := "it could not be saved"
		if path, err := saveCrash(v, debug.Stack()); err == nil {
			where = "the details are in " + path
		}
		fmt.Fprintf(w, "pgrescue: internal error: %v. This is a bug in pgrescue, not a problem with your backup; %s. "+
			"Nothing was deleted: a data directory moved aside keeps its .pgrescue- name.\n", v, where)
		code = problem.ExitCode(problem.New(problem.Unknown, "", "internal error", ""))
	}()
	return f()
}

// saveCrash writes the panic and its stack to crash-<time>-<pid>.txt in the
// journal directory, readable by its owner only.
func saveCrash(v any, stack []byte) (string, error) {
	dir, err := journal.DefaultDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("crash-%s-%d.txt", time.Now().UTC().Format("20060102T150405Z"), os.Getpid()))
	text := fmt.Sprintf("pgrescue %s: panic: %v\n\n%s", buildVersion(), v, stack)
	return path, os.WriteFile(path, []byte(text), 0o600)
}
