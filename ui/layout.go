package ui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fitLines makes body exactly height lines, each cut to width, so the frame
// never scrolls the terminal; a cut body ends with a note saying so.
func fitLines(body string, width, height int) string {
	if height < 1 {
		height = 1
	}
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if len(lines) > height {
		lines = append(lines[:height-1], "… (more below: make the window taller)")
	}
	for i, l := range lines {
		lines[i] = truncate(l, width)
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// truncate cuts a styled line to width cells.
func truncate(s string, width int) string {
	if width <= 0 || lipgloss.Width(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// wrapWords wraps plain or styled text at spaces to width cells. Hyphens
// are not break points here (ansi.Wrap always breaks after one): paths,
// host names and database names such as email-alert-api_production must
// stay whole to be read and copied. Only a word longer than the line is
// cut.
func wrapWords(s string, width int) string {
	if width <= 0 {
		return s
	}
	const nonBreakingHyphen = "\u2011" // one cell wide, like "-"
	wrapped := ansi.Wrap(strings.ReplaceAll(s, "-", nonBreakingHyphen), width, " ")
	return strings.ReplaceAll(wrapped, nonBreakingHyphen, "-")
}

func padRight(s string, n int) string {
	if w := lipgloss.Width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// bar draws a progress bar of width cells in ASCII, so it reads the same
// everywhere: [#########.........]
func bar(fraction float64, width int) string {
	if width < 3 {
		width = 3
	}
	inner := width - 2
	fraction = min(max(fraction, 0), 1)
	full := int(fraction*float64(inner) + 0.5)
	return "[" + strings.Repeat("#", full) + strings.Repeat(".", inner-full) + "]"
}
