// Package walesettings resolves the settings WAL-E users already have: an envdir
// (daemontools semantics, /etc/wal-e/env.d on GOV.UK machines), the process
// environment and command-line flags, in that order of increasing precedence.
// Every value remembers where it came from, so `pgrescue config` can say why
// a restore is talking to the bucket it is talking to.
package walesettings

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"pgrescue/gpg"
	"pgrescue/storage/s3store"
)

// DefaultEnvdir is where GOV.UK's puppet put WAL-E's environment.
const DefaultEnvdir = "/etc/wal-e/env.d"

// The variables pgrescue reads, as WAL-E names them.
const (
	S3Prefix        = "WALE_S3_PREFIX"
	S3Endpoint      = "WALE_S3_ENDPOINT"
	Region          = "AWS_REGION"
	AccessKeyID     = "AWS_ACCESS_KEY_ID"
	SecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	SecurityToken   = "AWS_SECURITY_TOKEN" // WAL-E's (boto 2) name for the STS session token
	SessionToken    = "AWS_SESSION_TOKEN"  // the name every current AWS tool uses
	GPGKeyID        = "WALE_GPG_KEY_ID"
	GNUPGHome       = "GNUPGHOME"
	GPGKeyFile      = "PGRESCUE_GPG_KEY"             // secret key file for native decryption
	GPGPassphrase   = gpg.PassphraseEnv              // never shown, never written
	GPGPassFile     = "PGRESCUE_GPG_PASSPHRASE_FILE" // file holding the passphrase
)

// Known lists the variables in the order `pgrescue config` prints them.
var Known = []string{
	S3Prefix, Region, S3Endpoint, AccessKeyID, SecretAccessKey, SecurityToken, SessionToken,
	GPGKeyID, GPGKeyFile, GPGPassFile, GPGPassphrase, GNUPGHome,
}

var secret = map[string]bool{SecretAccessKey: true, SecurityToken: true, SessionToken: true, GPGPassphrase: true}

// IsSecret reports whether a variable's value must never be printed.
func IsSecret(name string) bool { return secret[name] }

// Value is one resolved setting and where it came from.
type Value struct {
	Name   string
	Value  string
	Source string // "flag --s3-prefix", "environment", "envdir /etc/wal-e/env.d/AWS_REGION"
}

// Settings is the effective configuration.
type Settings struct {
	Envdir       string // the envdir read, "" if none
	EnvdirReason string // why that envdir (flag, default) or why none
	values       map[string]Value
}

// Sources are the inputs to Resolve. Flags maps a variable name to the value
// of the flag that sets it, for flags the user actually gave.
type Sources struct {
	Envdir         string // --envdir; "" means the default when it exists
	EnvdirExplicit bool   // --envdir was given: a missing directory is an error
	Flags          map[string]FlagValue
	Environ        func(string) (string, bool) // os.LookupEnv by default
}

// FlagValue is a flag's value and its name, for the source column.
type FlagValue struct {
	Flag  string
	Value string
}

// Resolve applies the precedence flags > environment > envdir.
func Resolve(src Sources) (*Settings, error) {
	if src.Environ == nil {
		src.Environ = os.LookupEnv
	}
	s := &Settings{values: map[string]Value{}}
	dir, reason, err := chooseEnvdir(src)
	if err != nil {
		return nil, err
	}
	s.Envdir, s.EnvdirReason = dir, reason
	if dir != "" {
		vars, err := ReadEnvdir(dir)
		if err != nil {
			return nil, err
		}
		for name, v := range vars {
			s.values[name] = Value{Name: name, Value: v, Source: "envdir " + dir + "/" + name}
		}
	}
	for _, name := range Known {
		if v, ok := src.Environ(name); ok && v != "" {
			s.values[name] = Value{Name: name, Value: v, Source: "environment"}
		}
	}
	for name, f := range src.Flags {
		s.values[name] = Value{Name: name, Value: f.Value, Source: "flag " + f.Flag}
	}
	return s, nil
}

func chooseEnvdir(src Sources) (dir, reason string, err error) {
	if src.Envdir != "" {
		if _, err := os.Stat(src.Envdir); err != nil && src.EnvdirExplicit {
			return "", "", envdirError(src.Envdir, err)
		}
		return src.Envdir, "--envdir", nil
	}
	if st, err := os.Stat(DefaultEnvdir); err == nil && st.IsDir() {
		return DefaultEnvdir, "default (it exists)", nil
	}
	return "", "none (" + DefaultEnvdir + " does not exist; use --envdir DIR)", nil
}

// Get returns a setting's value, "" when unset.
func (s *Settings) Get(name string) string { return s.values[name].Value }

// Lookup returns a setting and whether it is set.
func (s *Settings) Lookup(name string) (Value, bool) {
	v, ok := s.values[name]
	return v, ok
}

// SessionTokenValue returns the STS token from either of its two names,
// preferring AWS_SESSION_TOKEN when both are set from the same level.
func (s *Settings) SessionTokenValue() string {
	if v := s.Get(SessionToken); v != "" {
		return v
	}
	return s.Get(SecurityToken)
}

// Report lists every known variable with its masked value and source, then
// any other variable the envdir held.
func (s *Settings) Report() []Value {
	out := make([]Value, 0, len(s.values))
	seen := map[string]bool{}
	for _, name := range Known {
		seen[name] = true
		v, ok := s.values[name]
		if !ok {
			out = append(out, Value{Name: name, Value: "", Source: "unset"})
			continue
		}
		v.Value = Mask(name, v.Value)
		out = append(out, v)
	}
	var extra []string
	for name := range s.values {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		v := s.values[name]
		v.Value = Mask(name, v.Value)
		out = append(out, v)
	}
	return out
}

// Mask hides secrets: secret values become a length note, access key ids keep
// their first four and last four characters so the engineer can tell keys apart.
func Mask(name, value string) string {
	switch {
	case value == "":
		return ""
	case IsSecret(name) || looksSecret(name):
		return fmt.Sprintf("******** (%d characters, hidden)", len(value))
	case name == AccessKeyID:
		return s3store.MaskKeyID(value)
	}
	return value
}

func looksSecret(name string) bool {
	upper := strings.ToUpper(name)
	for _, w := range []string{"SECRET", "PASSWORD", "PASSPHRASE", "TOKEN", "SAS_", "ACCESS_KEY"} {
		if strings.Contains(upper, w) && upper != AccessKeyID {
			return true
		}
	}
	return false
}
