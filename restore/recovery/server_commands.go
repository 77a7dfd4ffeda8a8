package recovery

import (
	"os"
	"strconv"
	"strings"

	"pgrescue/shellcmd"
)

// Commands describes Start as the shell commands an engineer would type:
// creating the private socket directory and the log, starting, following
// the log and connecting. It changes nothing; what cannot be worked out yet
// (no binaries installed, say) is shown by name, and Start reports it.
func (s *Server) Commands() []shellcmd.Command {
	_ = s.fillDefaults()
	var cmds []shellcmd.Command
	owner := s.ownerName()
	if s.ownSocketDir && !s.socketCreated {
		line := "mkdir -m 0700 " + shellcmd.Quote(s.SocketDir)
		if os.Geteuid() == 0 {
			line += " && chown " + shellcmd.Quote(owner) + ": " + shellcmd.Quote(s.SocketDir)
		}
		cmds = append(cmds, shellcmd.Command{Why: "a private socket directory: only " + owner + " can connect while recovery runs", Line: line})
	}
	if s.Cluster == nil {
		line := "touch " + shellcmd.Quote(s.LogFile)
		if os.Geteuid() == 0 {
			line += " && chown " + shellcmd.Quote(owner) + ": " + shellcmd.Quote(s.LogFile)
		}
		cmds = append(cmds, shellcmd.Command{Why: "the server log, writable by " + owner, Line: line})
	}
	offset := s.logOffset
	if st, err := os.Stat(s.LogFile); err == nil && !s.Running() {
		offset = st.Size()
	}
	return append(cmds,
		shellcmd.Command{Why: "start PostgreSQL without waiting (recovery may take hours); -o settings override every configuration file", Line: s.startLine()},
		shellcmd.Command{Why: "follow this start's part of the log", Line: s.followLogLine(offset)},
		shellcmd.Command{Why: "connect once it accepts connections", Line: s.ownerLine(s.psqlArgv("postgres", "SELECT pg_is_in_recovery()"))},
	)
}

// StopCommand describes Stop.
func (s *Server) StopCommand(mode string) shellcmd.Command {
	if mode == "" {
		mode = "fast"
	}
	_ = s.resolve()
	line := s.ownerLine(s.stopArgv(mode))
	if PrivateSocketDir(s.SocketDir) {
		line += " && rmdir " + shellcmd.Quote(s.SocketDir) // pgrescue's own, empty once the server is down
	}
	return shellcmd.Command{Why: "stop PostgreSQL (" + mode + " shutdown) and wait for it", Line: line}
}

func (s *Server) startLine() string { return s.ownerLine(s.startArgv()) }

func (s *Server) followLogLine(offset int64) string {
	return "tail -c +" + strconv.FormatInt(offset+1, 10) + " -F " + shellcmd.Quote(s.LogFile)
}

func (s *Server) ownerName() string {
	if s.Owner.Name == "" {
		return "postgres"
	}
	return s.Owner.Name
}

// ownerLine renders argv the way a person runs it: as the owner (sudo when
// root) with LC_ALL=C. ExtraEnv is shown by name only, taken from the
// caller's shell, since it may hold secrets.
func (s *Server) ownerLine(argv []string) string {
	var prefix []string
	if os.Geteuid() == 0 {
		prefix = append(prefix, "sudo", "-u", shellcmd.Quote(s.ownerName()))
	}
	prefix = append(prefix, "env", "LC_ALL=C")
	for _, kv := range s.ExtraEnv {
		name, _, _ := strings.Cut(kv, "=")
		prefix = append(prefix, name+`="$`+name+`"`)
	}
	return strings.Join(prefix, " ") + " " + shellLine(argv)
}
