package ui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles is every style the wizard draws with, built once. Colour is never
// the only signal: every status also has a word or an ASCII mark, so the
// screens read the same with NO_COLOR, TERM=dumb or a screen reader.
type Styles struct {
	Title, Header, Crumb, CrumbNow, Faint, Bold lipgloss.Style
	OK, Warn, Fail, Skip, Running               lipgloss.Style
	Cursor, Selected, Command, Why, Error       lipgloss.Style
	Box, Key, Danger                            lipgloss.Style
}

// NewStyles builds the styles; plain drops every colour (attributes such
// as bold stay, as NO_COLOR asks).
func NewStyles(plain bool) Styles {
	c := func(code string) color.Color {
		if plain {
			return nil
		}
		return lipgloss.Color(code)
	}
	fg := func(code string) lipgloss.Style {
		s := lipgloss.NewStyle()
		if col := c(code); col != nil {
			s = s.Foreground(col)
		}
		return s
	}
	return Styles{
		Title:    fg("12").Bold(true),
		Header:   fg("245"),
		Crumb:    fg("245"),
		CrumbNow: fg("12").Bold(true),
		Faint:    fg("245"),
		Bold:     lipgloss.NewStyle().Bold(true),
		OK:       fg("10"),
		Warn:     fg("11"),
		Fail:     fg("9").Bold(true),
		Skip:     fg("245"),
		Running:  fg("14"),
		Cursor:   fg("12").Bold(true),
		Selected: fg("12").Bold(true),
		Command:  fg("14"),
		Why:      fg("245"),
		Error:    fg("9"),
		Box:      lipgloss.NewStyle().Border(lipgloss.NormalBorder()).Padding(0, 1),
		Key:      fg("12"),
		Danger:   fg("9").Bold(true),
	}
}
