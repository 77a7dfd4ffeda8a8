package cli

import (
	"fmt"
	"strconv"
	"strings"

	"pgrescue/problem"

	"github.com/spf13/pflag"
)

// rangedInt is an int flag that refuses a value outside [min, max] as it
// is parsed, naming the range: --pool-size -1 or --port 70000 must not
// reach a restore.
type rangedInt struct {
	p        *int
	min, max int
}

func (r *rangedInt) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a whole number; give one from %d to %d", r.min, r.max)
	}
	if v < r.min || v > r.max {
		return fmt.Errorf("out of range; give a number from %d to %d", r.min, r.max)
	}
	*r.p = v
	return nil
}

func (r *rangedInt) String() string { return strconv.Itoa(*r.p) }
func (r *rangedInt) Type() string   { return "int" }

// intInRange defines an int flag taking only values from min to max.
func intInRange(f *pflag.FlagSet, p *int, name string, value, min, max int, usage string) {
	*p = value
	f.Var(&rangedInt{p: p, min: min, max: max}, name, fmt.Sprintf("%s (%d to %d)", usage, min, max))
}

// The ranges of the flags that take a count or a port.
const (
	maxPoolSize = 64    // partitions fetched at once: each holds a few MiB of buffers
	maxPrefetch = 256   // WAL segments staged ahead of replay: 4 GiB of 16 MiB segments
	maxPort     = 65535 // 0 lets pgrescue choose
)

// tablespaceMapping defines --tablespace-mapping OID=DIR, as pg_basebackup
// has it, repeatable; parse reads what was given.
func tablespaceMapping(f *pflag.FlagSet) (parse func() (map[string]string, error)) {
	var given []string
	f.StringArrayVar(&given, "tablespace-mapping", nil, "restore tablespace OID into DIR instead of where its symlink points (OID=DIR, repeatable; DIR absent or empty)")
	return func() (map[string]string, error) {
		mapping := map[string]string{}
		for _, g := range given {
			oid, dir, ok := strings.Cut(g, "=")
			if _, err := strconv.ParseUint(oid, 10, 32); !ok || err != nil || dir == "" {
				return nil, problem.New(problem.Usage, "--tablespace-mapping "+g, "a mapping is a tablespace's OID, =, and a directory",
					"for example --tablespace-mapping 16400=/srv/postgresql/ts16400 (the OIDs are in the backup's sentinel: backup-list --detail)")
			}
			mapping[oid] = dir
		}
		return mapping, nil
	}
}
