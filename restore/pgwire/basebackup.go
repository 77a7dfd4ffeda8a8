// Package pgwire takes a base backup over PostgreSQL's replication
// protocol (BASE_BACKUP, as pg_basebackup and WAL-G do), so that backing
// up a running server needs no pg_basebackup of its version or newer: the
// protocol has been the same from 9.x to 14, and from 15 with the archive
// framed in CopyData messages.
package pgwire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options name the server and the role.
type Options struct {
	Host string // a socket directory (starting with /) or a host name
	Port int
	User string
}

// Point is a WAL position a backup starts or ends at.
type Point struct {
	LSN      string // as PostgreSQL prints it: 0/2000028
	Timeline string
}

// Backup is what BASE_BACKUP reported besides the archive.
type Backup struct {
	ServerVersion string // the server_version parameter: "16.14"
	Start, End    Point
}

// conn is one replication connection.
type conn struct {
	c      net.Conn
	r      *bufio.Reader
	params map[string]string
}

// BaseBackup connects for physical replication, runs BASE_BACKUP (fast
// checkpoint, waiting for the WAL to be archived, no manifest, no WAL in
// the archive) and writes the data directory's tar archive to out. A
// cluster with tablespaces is refused: one archive is all out can take.
// started is called with the start point before any of the archive.
func BaseBackup(ctx context.Context, o Options, out io.Writer, started func(Backup)) (*Backup, error) {
	c, err := connect(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.c.Close()
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()) })
	defer stop()
	major := majorOf(c.params["server_version"])
	query := "BASE_BACKUP LABEL 'pgrescue' FAST"
	switch {
	case major >= 15:
		query = "BASE_BACKUP (LABEL 'pgrescue', CHECKPOINT 'fast', MANIFEST 'no')"
	case major >= 13:
		query += " MANIFEST 'no'"
	}
	if err := c.send('Q', []byte(query+"\x00")); err != nil {
		return nil, err
	}
	b := &Backup{ServerVersion: c.params["server_version"]}
	err = c.readBackup(b, major >= 15, out, started)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

// majorOf reads the major version of a server_version ("16.14", "9.6.24",
// "18beta1"): 16, 9, 18. The server reports server_version, not
// server_version_num, at login.
func majorOf(version string) int {
	end := 0
	for end < len(version) && version[end] >= '0' && version[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(version[:end])
	return n
}

func connect(ctx context.Context, o Options) (*conn, error) {
	network, address := "tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	if strings.HasPrefix(o.Host, "/") {
		network, address = "unix", filepath.Join(o.Host, ".s.PGSQL."+strconv.Itoa(o.Port))
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", address, err)
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 1<<20), params: map[string]string{}}
	var startup []byte
	startup = binary.BigEndian.AppendUint32(startup, 196608) // protocol 3.0
	for _, kv := range [][2]string{{"user", o.User}, {"replication", "true"}, {"application_name", "pgrescue"}} {
		startup = append(append(append(append(startup, kv[0]...), 0), kv[1]...), 0)
	}
	startup = append(startup, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(startup)+4))
	if _, err := nc.Write(append(msg, startup...)); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.login(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// login reads the server's answer to the startup message up to
// ReadyForQuery. Only authentication the server settles without a
// password (peer, trust) is accepted: backup-push runs as the cluster's
// owner over its socket.
func (c *conn) login() error {
	for {
		typ, body, err := c.receive()
		if err != nil {
			return err
		}
		switch typ {
		case 'R':
			if len(body) < 4 {
				return errors.New("a short authentication message")
			}
			if code := binary.BigEndian.Uint32(body); code != 0 {
				return fmt.Errorf("the server asks for a password (authentication method %d): run backup-push as the cluster's owner on its socket, where pg_hba.conf's peer or trust lets it in", code)
			}
		case 'S':
			k, v, _ := strings.Cut(string(body), "\x00")
			c.params[k] = strings.TrimSuffix(v, "\x00")
		case 'E':
			return serverError(body)
		case 'Z':
			return nil
		}
	}
}

// readBackup follows BASE_BACKUP's answer: the start point, the list of
// tablespaces, the archive (one CopyOut stream; framed from 15), the end
// point.
func (c *conn) readBackup(b *Backup, framed bool, out io.Writer, started func(Backup)) error {
	var rows [][]string
	results := 0
	for {
		typ, body, err := c.receive()
		if err != nil {
			return err
		}
		switch typ {
		case 'T':
			rows = nil
		case 'D':
			rows = append(rows, dataRow(body))
		case 'C':
			results++
			if err := b.result(results, rows, started); err != nil {
				return err
			}
		case 'd':
			if err := copyData(body, framed, out); err != nil {
				return err
			}
		case 'E':
			return serverError(body)
		case 'Z':
			if results < 3 {
				return fmt.Errorf("the server ended the backup after %d of its 3 results", results)
			}
			return nil
		}
	}
}

// result takes one result set: 1 is the start point, 2 the tablespaces,
// 3 the end point.
func (b *Backup) result(n int, rows [][]string, started func(Backup)) error {
	point := func() (Point, error) {
		if len(rows) != 1 || len(rows[0]) < 2 {
			return Point{}, fmt.Errorf("an unexpected WAL position result: %v", rows)
		}
		return Point{LSN: rows[0][0], Timeline: rows[0][1]}, nil
	}
	var err error
	switch n {
	case 1:
		if b.Start, err = point(); err == nil && started != nil {
			started(*b)
		}
	case 2:
		if len(rows) > 1 {
			return errors.New("the cluster has tablespaces, which backup-push does not store: back it up with WAL-E's tools or stop it and copy each tablespace")
		}
	case 3:
		b.End, err = point()
	}
	return err
}

// copyData writes the archive's bytes. From 15 each CopyData starts with
// its kind: n (a new archive: only base.tar is expected), d (data), p
// (progress), m (the manifest, which was not asked for).
func copyData(body []byte, framed bool, out io.Writer) error {
	if !framed {
		_, err := out.Write(body)
		return err
	}
	if len(body) == 0 {
		return nil
	}
	switch body[0] {
	case 'n':
		name, _, _ := strings.Cut(string(body[1:]), "\x00")
		if name != "base.tar" {
			return fmt.Errorf("the server sent archive %q: the cluster has tablespaces, which backup-push does not store", name)
		}
	case 'd':
		_, err := out.Write(body[1:])
		return err
	}
	return nil
}

func dataRow(body []byte) []string {
	if len(body) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	row := make([]string, 0, n)
	for range n {
		if len(body) < 4 {
			break
		}
		size := int32(binary.BigEndian.Uint32(body))
		body = body[4:]
		if size < 0 || int(size) > len(body) {
			row = append(row, "")
			continue
		}
		row = append(row, string(body[:size]))
		body = body[size:]
	}
	return row
}

// serverError reads an ErrorResponse's severity, code and message.
func serverError(body []byte) error {
	fields := map[byte]string{}
	for len(body) > 1 {
		kind := body[0]
		value, rest, _ := strings.Cut(string(body[1:]), "\x00")
		fields[kind] = value
		body = []byte(rest)
	}
	msg := fields['M']
	if d := fields['D']; d != "" {
		msg += " (" + d + ")"
	}
	return fmt.Errorf("the server said: %s %s: %s", fields['S'], fields['C'], msg)
}

func (c *conn) send(typ byte, body []byte) error {
	msg := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))...)
	_, err := c.c.Write(append(msg, body...))
	return err
}

// receive reads one message.
func (c *conn) receive() (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return 0, nil, fmt.Errorf("the server closed the connection: %w", err)
	}
	size := int(binary.BigEndian.Uint32(head[1:])) - 4
	if size < 0 || size > 1<<30 {
		return 0, nil, fmt.Errorf("a message of %d bytes: this is not a PostgreSQL server", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, fmt.Errorf("the server closed the connection: %w", err)
	}
	return head[0], body, nil
}
