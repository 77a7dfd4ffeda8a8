package session

import (
	"os"
	"path/filepath"
	"strings"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
)

// ReplayOptions completes the server flags' replay options: the Debian
// cluster named (VERSION/NAME) and restore_command's program.
func (s *Session) ReplayOptions(opts *replay.Options, cluster string) error {
	if cluster != "" {
		c, err := ParseCluster(cluster)
		if err != nil {
			return err
		}
		opts.Server.Cluster = c
	}
	var err error
	opts.WALFetch, err = s.WALFetchProgram()
	return err
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
