package journal

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"pgrescue/internal/lazyregexp"
	"pgrescue/shellcmd"
	"pgrescue/walesettings"
)

// Placeholder replaces every secret the Redactor finds.
const Placeholder = "[REDACTED]"

// minSecretLen is the shortest value AddSecret accepts: replacing every "ab"
// in a journal would ruin it while protecting nothing worth protecting.
const minSecretLen = 4

// extraSecretNames are secret names config does not list, because pgrescue
// never reads them from WAL-E's envdir: libpq's password variable and
// conninfo keyword, and the passphrase flags of gpg and pgrescue (as names:
// --gpg-passphrase is GPG_PASSPHRASE).
var extraSecretNames = []string{"PGPASSWORD", "PASSWORD", "PASSPHRASE", "GPG_PASSPHRASE"}

// secretNames lists, in environment form, every name whose value is secret:
// config's own (AWS_SECRET_ACCESS_KEY, the session tokens, the GPG
// passphrase) and the extra ones.
func secretNames() []string {
	var names []string
	for _, n := range walesettings.Known {
		if walesettings.IsSecret(n) {
			names = append(names, n)
		}
	}
	return append(names, extraSecretNames...)
}

// envName turns a flag or attribute name into environment form, so that
// --aws-secret-access-key and AWS_SECRET_ACCESS_KEY are judged alike.
func envName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimLeft(name, "-"), "-", "_"))
}

// isSecretName reports whether a value named so must not be written.
func isSecretName(name string) bool {
	n := envName(name)
	return walesettings.IsSecret(n) || slices.Contains(extraSecretNames, n)
}

// shellWord matches one shell word: quoted parts, backslash escapes and
// plain characters, so a value shellcmd.Quote wrote with a quote inside it is
// taken whole.
const shellWord = `(?:'[^']*'|"(?:[^"\\]|\\.)*"|\\.|[^\s'"\\])+`

// The patterns are built from the secret names rather than matching any
// NAME=value and testing the name afterwards: a general pattern would take
// "--dry-run --gpg-passphrase" as a flag and its value and then miss the
// passphrase that follows.
var (
	// NAME=value, also conninfo's "password = value".
	assignmentPattern = sync.OnceValue(func() *regexp.Regexp {
		envAlternatives, _ := secretAlternatives()
		return regexp.MustCompile(`(?i)(^|[^\w-])(` + envAlternatives + `)(\s*=\s*)(` + shellWord + `)`)
	})
	// --flag=value and --flag value.
	flagPattern = sync.OnceValue(func() *regexp.Regexp {
		_, flagAlternatives := secretAlternatives()
		return regexp.MustCompile(`(?i)(^|[^\w-])(--?(?:` + flagAlternatives + `))(=|\s+)(` + shellWord + `)`)
	})
	// postgres://user:password@host: the password only.
	urlPattern = lazyregexp.New(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):([^\s/@]+)@`)
	// One argument of a command line that is a secret flag whose value is the next argument.
	secretFlagArg = sync.OnceValue(func() *regexp.Regexp {
		_, flagAlternatives := secretAlternatives()
		return regexp.MustCompile(`(?i)^--?(?:` + flagAlternatives + `)$`)
	})
	// One argument that carries its own secret value: --flag=value or NAME=value.
	secretValueArg = sync.OnceValue(func() *regexp.Regexp {
		envAlternatives, flagAlternatives := secretAlternatives()
		return regexp.MustCompile(`(?is)^(--?(?:` + flagAlternatives + `)=|(?:` + envAlternatives + `)=)(.*)$`)
	})
)

// secretAlternatives is alternatives computed once, on first use.
var secretAlternatives = sync.OnceValues(alternatives)

func alternatives() (env, flags string) {
	var e, f []string
	for _, n := range secretNames() {
		e = append(e, regexp.QuoteMeta(n))
		f = append(f, regexp.QuoteMeta(strings.ToLower(strings.ReplaceAll(n, "_", "-"))))
	}
	return strings.Join(e, "|"), strings.Join(f, "|")
}

// Redactor replaces secrets with Placeholder: values registered with
// AddSecret wherever they appear, the values of secret names in NAME=value,
// --flag=value and --flag value, and passwords in URLs. Its zero value is
// ready to use, and it is safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	secrets  []string
	replacer *strings.Replacer
}

// AddSecret registers a value to be redacted wherever it appears from now on,
// such as a passphrase or a secret key just read. Values shorter than four
// characters are ignored. See variants for the other forms also hidden.
func (r *Redactor) AddSecret(value string) {
	if len(strings.TrimSpace(value)) < minSecretLen {
		return // nor any longer quoted form of it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, v := range variants(value) {
		if r.add(v) {
			changed = true
		}
	}
	if changed {
		r.rebuild()
	}
}

// variants lists the forms a secret takes in what is written: as given; with
// surrounding space trimmed (a passphrase read from a file keeps its
// newline); escaped as %q writes it inside an error text; and quoted for a
// shell by shellcmd.Quote, as command lines are written.
func variants(value string) []string {
	q := strconv.Quote(value)
	return []string{value, strings.TrimSpace(value), q[1 : len(q)-1], shellcmd.Quote(value)}
}

func (r *Redactor) add(value string) bool {
	if value == Placeholder || slices.Contains(r.secrets, value) {
		return false
	}
	r.secrets = append(r.secrets, value)
	return true
}

// rebuild orders the secrets longest first, because a Replacer tries its
// pairs in order at each position and one secret may begin with another.
func (r *Redactor) rebuild() {
	sort.SliceStable(r.secrets, func(i, k int) bool { return len(r.secrets[i]) > len(r.secrets[k]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, Placeholder)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// String returns s with every secret replaced by Placeholder.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep != nil {
		s = rep.Replace(s)
	}
	// The patterns cannot match without these characters; most texts have
	// none of them, and the journal redacts every string it writes.
	if strings.Contains(s, "=") {
		s = assignmentPattern().ReplaceAllString(s, "${1}${2}${3}"+Placeholder)
	}
	if strings.Contains(s, "-") {
		s = flagPattern().ReplaceAllString(s, "${1}${2}${3}"+Placeholder)
	}
	if strings.Contains(s, "://") {
		s = urlPattern().ReplaceAllString(s, "${1}:"+Placeholder+"@")
	}
	return s
}

// Args redacts a command line given as arguments, where a secret flag's value
// can be the next argument and may contain spaces. Values found in secret
// positions are registered, so they are also hidden where they appear later
// on their own, in an error text for instance.
func (r *Redactor) Args(args []string) []string {
	hidden := make([]bool, len(args))
	for i, a := range args {
		if m := secretValueArg().FindStringSubmatch(a); m != nil {
			r.AddSecret(m[2])
		}
		if i > 0 && secretFlagArg().MatchString(args[i-1]) {
			r.AddSecret(a)
			hidden[i] = true
		}
	}
	out := make([]string, len(args))
	for i, a := range args {
		switch m := secretValueArg().FindStringSubmatch(a); {
		case hidden[i]:
			out[i] = Placeholder
		case m != nil:
			out[i] = m[1] + Placeholder
		default:
			out[i] = r.String(a)
		}
	}
	return out
}

// record redacts every string a record carries, and converts its raw
// attributes. It is the one place records pass through before they are
// encoded, so no field can bypass it.
//
// Attributes and arguments go first, as they can reveal secrets (a value
// under a secret key, a value after --gpg-passphrase) that the texts repeat.
func (r *Redactor) record(rec *Record) {
	rec.Attrs = r.attrs(rec.attrs)
	if rec.Meta != nil {
		m := *rec.Meta
		m.Args = r.Args(m.Args)
		m.Version, m.User, m.Host = r.String(m.Version), r.String(m.User), r.String(m.Host)
		rec.Meta = &m
	}
	for _, f := range []*string{&rec.Name, &rec.Line, &rec.Kind, &rec.Message, &rec.Error} {
		*f = r.String(*f)
	}
}
