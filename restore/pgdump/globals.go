package pgdump

import (
	"bufio"
	"context"
	"io"
	"sort"
	"strings"

	"pgrescue/internal/lazyregexp"
)

// The statements of pg_dumpall --globals-only that concern one role, with
// the role's name captured.
var (
	createRoleLine  = lazyregexp.New(`^CREATE ROLE ` + identPattern + `;$`)
	roleStatement   = lazyregexp.New(`^(?:ALTER|COMMENT ON|SECURITY LABEL (?:FOR \S+ )?ON) ROLE ` + identPattern + `[ ;]`)
	membershipGrant = lazyregexp.New(`^GRANT ` + identPattern + ` TO ` + identPattern + `[ ;]`)
	inDatabase      = lazyregexp.New(` IN DATABASE `)
)

// globalsFilter keeps, from a globals dump, only what creates roles the
// server lacks: existing roles (postgres, or an application's live role)
// are left exactly as they are, and tablespaces, whose directories belong
// to the old machine, are skipped.
type globalsFilter struct {
	existing map[string]bool
	created  map[string]bool // roles the dump creates (all of them when listing)
	keeping  bool            // the statement being continued is kept
	open     bool            // inside a statement that spans lines
}

// keep decides one line.
func (g *globalsFilter) keep(line string) bool {
	if g.open {
		g.open = !strings.HasSuffix(line, ";")
		return g.keeping
	}
	g.open = line != "" && !strings.HasPrefix(line, "--") && !strings.HasPrefix(line, `\`) && !strings.HasSuffix(line, ";")
	g.keeping = g.decide(line)
	return g.keeping
}

func (g *globalsFilter) decide(line string) bool {
	switch {
	case line == "", strings.HasPrefix(line, "--"), strings.HasPrefix(line, `\`), strings.HasPrefix(line, "SET "):
		return true
	}
	if m := createRoleLine().FindStringSubmatch(line); m != nil {
		name := unquoteIdent(m[1])
		g.created[name] = true
		return !g.existing[name]
	}
	if m := roleStatement().FindStringSubmatch(line); m != nil {
		// a role's settings in one database belong to that database's
		// restore, not to the cluster's
		return !g.existing[unquoteIdent(m[1])] && !inDatabase().MatchString(line)
	}
	if m := membershipGrant().FindStringSubmatch(line); m != nil {
		return !g.existing[unquoteIdent(m[2])] // only a new role gains memberships
	}
	return false // tablespaces and anything else
}

// filterGlobals copies the kept lines of a globals dump.
func (g *globalsFilter) run(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	bw := bufio.NewWriter(w)
	for sc.Scan() {
		if g.keep(sc.Text()) {
			bw.WriteString(sc.Text())
			bw.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// globalsRoles reads the roles that night's globals dump creates.
func (p *Plan) globalsRoles(ctx context.Context) (map[string]bool, error) {
	sql, err := openSQL(ctx, p.Source, *p.GlobalsDump, p.SMIMEKey)
	if err != nil {
		return nil, err
	}
	defer sql.Close()
	g := &globalsFilter{existing: map[string]bool{}, created: map[string]bool{}}
	if err := g.run(sql, io.Discard); err != nil {
		return nil, corruptDump(*p.GlobalsDump, err)
	}
	return g.created, nil
}

// loadGlobals creates the missing roles from the globals dump and returns
// the roles it created.
func (p *Plan) loadGlobals(ctx context.Context, report func(Event)) ([]string, error) {
	report(Event{Stage: StageGlobals, Note: strings.Join(p.Missing, ", ")})
	existing, err := p.Server.Roles(ctx)
	if err != nil {
		return nil, err
	}
	sql, err := openSQL(ctx, p.Source, *p.GlobalsDump, p.SMIMEKey)
	if err != nil {
		return nil, err
	}
	defer sql.Close()
	g := &globalsFilter{existing: existing, created: map[string]bool{}}
	if err := p.session(ctx, p.Server.maintenanceDB(), *p.GlobalsDump, func(w io.Writer) error { return g.run(sql, w) }); err != nil {
		return nil, err
	}
	var created []string
	for r := range g.created {
		if !existing[r] {
			created = append(created, r)
		}
	}
	sort.Strings(created)
	return created, nil
}
