package session

import (
	"os"
	"path/filepath"
	"strings"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/walesettings"
)

// ReplayOptions completes the server flags' replay options: the Debian
// cluster named (VERSION/NAME), restore_command's program, and the settings
// it needs that only this process's environment holds.
func (s *Session) ReplayOptions(opts *replay.Options, cluster string) error {
	if cluster != "" {
		c, err := ParseCluster(cluster)
		if err != nil {
			return err
		}
		opts.Server.Cluster = c
	}
	var err error
	if opts.WALFetch, err = s.WALFetchProgram(); err != nil {
		return err
	}
	st, err := s.Settings()
	if err != nil {
		return err
	}
	opts.Server.ExtraEnv = append(opts.Server.ExtraEnv, EnvironmentSettings(st)...)
	return nil
}

// EnvironmentSettings are the WAL-E settings that came from this process's
// environment, as NAME=value for the recovering server's: PostgreSQL runs
// restore_command with the server's minimal environment, so a wal-fetch
// that is not served by the prefetcher (--prefetch 0, or a prefetcher gone)
// would find no archive ("WALE_S3_PREFIX is not set"). Flags are on
// restore_command itself and the envdir is named there; secrets go only
// to the server's environment, readable by its owner and root as WAL-E's
// envdir is, never to the recovery settings on disk.
func EnvironmentSettings(st *walesettings.Settings) []string {
	var env []string
	for _, name := range walesettings.Known {
		if v, ok := st.Lookup(name); ok && v.Source == "environment" && v.Value != "" {
			env = append(env, name+"="+v.Value)
		}
	}
	return env
}

// ParseCluster reads a Debian cluster's name, VERSION/NAME.
func ParseCluster(s string) (*recovery.Cluster, error) {
	v, name, ok := strings.Cut(s, "/")
	if !ok || v == "" || name == "" || strings.Contains(name, "/") {
		return nil, problem.New(problem.Usage, "--cluster "+s, "a Debian cluster is named VERSION/NAME", "for example --cluster 9.3/main (pg_lsclusters lists them)")
	}
	return &recovery.Cluster{Version: v, Name: name}, nil
}

// WALFetchProgram is restore_command's program: this executable, by
// absolute path, with the global flags that chose the configuration, so the
// server's wal-fetch reads the same archive with the same settings. Secrets
// are never on it: they stay in the envdir or the environment.
func (s *Session) WALFetchProgram() ([]string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, "pgrescue", "cannot find pgrescue's own executable for restore_command", "run pgrescue by its full path")
	}
	program := []string{exe}
	add := func(flag, value string, isPath bool) {
		if value == "" {
			return
		}
		if isPath {
			if abs, err := filepath.Abs(value); err == nil {
				value = abs
			}
		}
		program = append(program, "--"+flag, value)
	}
	add("envdir", s.Flags.Envdir, true)
	add("s3-prefix", s.Flags.S3Prefix, false)
	add("aws-region", s.Flags.Region, false)
	add("s3-endpoint", s.Flags.Endpoint, false)
	add("aws-access-key-id", s.Flags.AccessKeyID, false)
	add("gpg-key-id", s.Flags.GPGKeyID, false)
	add("gpg-key", s.Flags.GPGKey, true)
	add("gpg-passphrase-file", s.Flags.PassphraseFile, true)
	return program, nil
}
