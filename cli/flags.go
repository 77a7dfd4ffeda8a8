package cli

import (
	"fmt"
	"strconv"
	"strings"

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
