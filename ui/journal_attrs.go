package ui

import (
	"log/slog"

	"pgrescue/restore/walerestore"
)

// journalCommands records a plan's actions and commands in the journal.
func journalCommands(plan *walerestore.Plan) []slog.Attr {
	var attrs []slog.Attr
	for _, a := range plan.Actions {
		var lines []string
		for _, c := range a.Commands {
			lines = append(lines, c.Line)
		}
		attrs = append(attrs, slog.Any(string(a.ID), lines))
	}
	return attrs
}

// journalOutcome records how the restore ended.
func journalOutcome(err error) []slog.Attr {
	if err == nil {
		return []slog.Attr{slog.String("result", "ok")}
	}
	return []slog.Attr{slog.String("result", "error"), slog.String("error", err.Error())}
}
