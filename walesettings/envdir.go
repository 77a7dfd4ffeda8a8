package walesettings

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"pgrescue/problem"
)

// ReadEnvdir reads a daemontools envdir: each regular file names a variable,
// its first line is the value with trailing white space removed and NUL bytes
// turned into newlines. An empty file unsets the variable, so it is left out.
// Files whose names start with a dot are ignored, as envdir does with "." ones
// it cannot use as variable names.
func ReadEnvdir(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, envdirError(dir, err)
	}
	vars := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.Contains(name, "=") {
			continue
		}
		path := filepath.Join(dir, name)
		st, err := os.Stat(path)
		if err != nil {
			return nil, envdirError(path, err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		value, empty, err := readFirstLine(path)
		if err != nil {
			return nil, envdirError(path, err)
		}
		if empty {
			continue
		}
		vars[name] = value
	}
	return vars, nil
}

func readFirstLine(path string) (value string, empty bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	if line == "" {
		return "", true, nil
	}
	line = strings.TrimRight(line, " \t\r\n")
	return strings.ReplaceAll(line, "\x00", "\n"), false, nil
}

func envdirError(path string, err error) error {
	next := "check the path given to --envdir, or run as the user that owns it (WAL-E's envdir is usually readable by postgres only: sudo -u postgres pgrescue ...)"
	if errors.Is(err, fs.ErrNotExist) {
		next = "give the directory that holds WALE_S3_PREFIX and the AWS keys with --envdir DIR (GOV.UK machines: /etc/wal-e/env.d), or set the variables in the environment"
	}
	return problem.Wrap(err, problem.Config, path, "cannot read the WAL-E envdir", next)
}
